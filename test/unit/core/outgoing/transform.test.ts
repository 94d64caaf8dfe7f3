import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';
import { decrypt, memorySink, planOutgoing, readAll, transformOutgoing, verifyDetached, verifyInline, type OutgoingPlan } from '../../../../src/core/index.ts';
import { keySource } from './keys.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;
const attachmentBytes = new Uint8Array(randomBytes(300_000));
const notes = `Notes with ${canary}\nÅäö ✓\n`;

let bob: openpgp.PrivateKey;
let carol: openpgp.PrivateKey;
let alice: openpgp.PrivateKey;

async function readyPlan(options: { encrypt: boolean; sign: boolean; bcc?: string[] }): Promise<OutgoingPlan> {
  const keys = await keySource({
    recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] }, 'carol@sigill.test': { state: 'verified', keys: ['carol'] } },
    senders: { 'alice@sigill.test': 'alice' },
  });
  const plan = await planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], bcc: options.bcc ?? [], keys, ...options });
  expect(plan.ready).toBe(true);
  return plan;
}

const attachments = [
  { name: 'photo.bin', data: () => attachmentBytes },
  { name: 'notes.txt', data: () => new TextEncoder().encode(notes) },
];

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([loadSecretKey('alice', { unlocked: true }), loadSecretKey('bob', { unlocked: true }), loadSecretKey('carol', { unlocked: true })]);
});

describe('transformOutgoing, encrypt and sign', () => {
  it('makes one armored message of the body, readable by the recipient and the sender, signed by the sender', async () => {
    const result = await transformOutgoing({ plan: await readyPlan({ encrypt: true, sign: true }), body: `Hello Bob, ${canary}\n`, attachments });
    expect(result.body).toMatch(/^-----BEGIN PGP MESSAGE-----\r?\n/);
    expect(result.body).not.toContain(canary);
    for (const reader of [bob, alice]) {
      const sink = memorySink();
      const decrypted = await decrypt({ input: result.body, sink, decryptionKeys: [reader], verificationKeys: [alice.toPublic()] });
      expect(sink.text().replace(/\r\n/g, '\n')).toBe(`Hello Bob, ${canary}\n`);
      expect(decrypted.verifications).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>' })]);
    }
    const sink = memorySink();
    await expect(decrypt({ input: result.body, sink, decryptionKeys: [carol] })).rejects.toMatchObject({ code: 'NOT_ENCRYPTED_FOR_US' });
  });

  it('replaces every attachment by an armored name.ext.asc that restores name and bytes', async () => {
    const result = await transformOutgoing({ plan: await readyPlan({ encrypt: true, sign: true }), body: 'x', attachments });
    expect(result.attachments.map(({ name, source, replacesSource }) => ({ name, source, replacesSource }))).toEqual([
      { name: 'photo.bin.asc', source: 0, replacesSource: true },
      { name: 'notes.txt.asc', source: 1, replacesSource: true },
    ]);
    const expected = [attachmentBytes, new TextEncoder().encode(notes)];
    for (const [index, attachment] of result.attachments.entries()) {
      const armored = new TextDecoder().decode(await readAll(await attachment.open()));
      expect(armored).toMatch(/^-----BEGIN PGP MESSAGE-----/);
      expect(armored).not.toContain(canary);
      const sink = memorySink();
      const decrypted = await decrypt({ input: armored, sink, decryptionKeys: [bob], verificationKeys: [alice.toPublic()] });
      expect(Buffer.from(sink.bytes()).equals(Buffer.from(expected[index] ?? new Uint8Array()))).toBe(true);
      expect(decrypted.filename).toBe(attachments[index]?.name);
      expect(decrypted.verifications[0]?.status).toBe('good');
    }
  });

  it('writes Bcc recipients anonymously: no key ID of theirs in the message, and they can read it', async () => {
    const result = await transformOutgoing({ plan: await readyPlan({ encrypt: true, sign: false, bcc: ['carol@sigill.test'] }), body: `Hi ${canary}` });
    const message = await openpgp.readMessage({ armoredMessage: result.body });
    const recipientIDs = message.getEncryptionKeyIDs().map((id) => id.toHex());
    const carolIDs = [carol, ...carol.subkeys].map((key) => key.getKeyID().toHex());
    expect(recipientIDs).toContain('0000000000000000');
    expect(recipientIDs.filter((id) => carolIDs.includes(id))).toEqual([]);
    expect(recipientIDs).toContain(bob.subkeys[0]?.getKeyID().toHex());
    for (const reader of [carol, bob, alice]) {
      const sink = memorySink();
      await decrypt({ input: result.body, sink, decryptionKeys: [reader] });
      expect(sink.text()).toBe(`Hi ${canary}`);
    }
  });
});

describe('transformOutgoing, sign only', () => {
  it('clearsigns the body and adds a detached name.ext.sig next to every attachment', async () => {
    const body = `Signed, not secret.\n- a dash line\nFrom here on\n`;
    const result = await transformOutgoing({ plan: await readyPlan({ encrypt: false, sign: true }), body, attachments });
    expect(result.body).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
    const sink = memorySink();
    const verified = await verifyInline({ input: result.body, sink, verificationKeys: [alice.toPublic()] });
    expect(verified).toEqual([expect.objectContaining({ status: 'good' })]);
    expect(sink.text().replace(/\r\n/g, '\n')).toBe(body);
    expect(result.attachments.map((attachment) => [attachment.name, attachment.replacesSource])).toEqual([
      ['photo.bin.sig', false],
      ['notes.txt.sig', false],
    ]);
    const signature = new TextDecoder().decode(await readAll(await result.attachments[0]!.open()));
    expect(signature).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    const good = await verifyDetached({ input: attachmentBytes, signature, verificationKeys: [await loadCertificate('alice')] });
    expect(good[0]?.status).toBe('good');
    const tampered = attachmentBytes.slice();
    tampered[5] = (tampered[5] ?? 0) ^ 1;
    const bad = await verifyDetached({ input: tampered, signature, verificationKeys: [await loadCertificate('alice')] });
    expect(bad[0]?.status).toBe('bad');
  });

  it('leaves the message alone when neither encrypting nor signing', async () => {
    const keys = await keySource({ recipients: {} });
    const plan = await planOutgoing({ from: 'alice@sigill.test', to: ['x@sigill.test'], encrypt: false, sign: false, keys });
    expect(await transformOutgoing({ plan, body: 'plain', attachments })).toEqual({ body: 'plain', attachments: [] });
  });
});
