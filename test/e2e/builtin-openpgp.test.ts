// Scenario: Thunderbird's own OpenPGP on both ends. carol sends dave an encrypted, signed message with a
// protected subject; the relay stores only ciphertext (no canary from subject or body); dave's
// Thunderbird decrypts it and his driver reads the plaintext through messages.getFull.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually, type Client, type SendResult, World } from './harness/index.ts';

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]), "e2e: Thunderbird's built-in OpenPGP as a peer", () => {
  let world: World;
  let carol: Client;
  let dave: Client;
  let sent: SendResult;
  const subjectCanary = `subject-canary-${randomBytes(6).toString('hex')}`;
  const bodyCanary = `body-canary-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    world = await World.start('builtin-openpgp');
    const keys = world.openPgpKeys(['carol', 'dave']);
    const [carolKey, daveKey] = [keys.carol, keys.dave];
    if (!carolKey || !daveKey) throw new Error('gpg made no keys');
    // Thunderbird's own OpenPGP alone on both ends: this proves the peer set-up that later scenarios pair with Sigill.
    [carol, dave] = await Promise.all([
      world.launch('carol', { sigill: false, openpgp: { own: carolKey, correspondents: [daveKey] } }),
      world.launch('dave', { sigill: false, openpgp: { own: daveKey, correspondents: [carolKey] } }),
    ]);
  });

  afterAll(async () => {
    await world?.stop();
  });

  it("carol's Thunderbird sends an encrypted, signed message with a protected subject", async () => {
    sent = await carol.send({
      to: [dave.user.address],
      subject: `Secret plans ${subjectCanary}`,
      body: `Meet at noon. ${bodyCanary}`,
      openpgp: { encrypt: true, encryptSubject: true, sign: true },
    });
    expect(sent.headerMessageId).toMatch(/@/);
    await carol.screenshot('sent');
  });

  it('the relay stores only ciphertext', async () => {
    const address = dave.user.address;
    await eventually(async () => (await world.relay.messages(address)).length > 0, 60_000, `a message in ${address}'s mailbox`);
    const [stored] = await world.relay.messages(address);
    if (!stored) throw new Error('no stored message');
    const raw = (await world.relay.raw(address, stored.id)).toString('latin1');
    expect(raw).toMatch(/^Content-Type: multipart\/encrypted;/im);
    expect(raw).toContain('-----BEGIN PGP MESSAGE-----');
    expect(raw).not.toContain(subjectCanary);
    expect(raw).not.toContain(bodyCanary);
  });

  it("dave's Thunderbird decrypts it and shows the protected subject", async () => {
    const header = await dave.receive({ headerMessageId: sent.headerMessageId });
    await dave.open(header.id);
    const full = await dave.getFull(header.id);
    expect(full.text).toContain(bodyCanary);
    expect(full.decryptionStatus).toBe('success');
    await eventually(async () => (await dave.getFull(header.id)).subject.includes(subjectCanary), 30_000, 'the protected subject');
    await dave.screenshot('decrypted');
  });

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
