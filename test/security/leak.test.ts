// LEAK and the Bcc key-ID case, in the core: what the send transform emits carries neither the body's
// marker, nor any run of an attachment's bytes, nor a Bcc recipient's key ID. (Attachment names stay
// visible in the inline format — `name.ext.asc` — which is why PGP/MIME is the format that hides them.)
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { loadCertificate } from '../../keys-fixtures/index.ts';
import { dearmor, encodeUnstructured, planOutgoing, readAll, transformOutgoing, wrapPgpMime } from '../../src/core/index.ts';
import { keySource } from '../unit/core/outgoing/keys.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;

/** True when any `window`-byte run of `needle` appears in `haystack`. */
function sharesRun(haystack: Buffer, needle: Buffer, window = 16): boolean {
  for (let offset = 0; offset + window <= needle.length; offset += window) {
    if (haystack.includes(needle.subarray(offset, offset + window))) return true;
  }
  return false;
}

async function encrypted(bcc: string[] = []) {
  const keys = await keySource({
    recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] }, 'carol@sigill.test': { state: 'accepted', keys: ['carol'] }, 'dave@sigill.test': { state: 'accepted', keys: ['dave'] } },
    senders: { 'alice@sigill.test': 'alice' },
  });
  const plan = await planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], bcc, encrypt: true, sign: true, keys });
  // Text that compresses well and a repetitive binary: if anything stored them in clear, a run would show.
  const attachment = Buffer.concat([Buffer.from(`${canary} `.repeat(2000)), randomBytes(4096)]);
  const result = await transformOutgoing({ plan, body: `${canary}\n`.repeat(50), attachments: [{ name: 'report.pdf', data: () => attachment }] });
  const files = await Promise.all(result.attachments.map(async (file) => Buffer.from(await readAll(await file.open()))));
  return { result, files, attachment };
}

describe('LEAK: the send transform', () => {
  it('no marker and no attachment byte run in the body or attachments, armored or dearmored', async () => {
    const { result, files, attachment } = await encrypted();
    const outputs = [Buffer.from(result.body), ...files];
    for (const output of outputs) {
      const binary = Buffer.from(await readAll(dearmor(output)));
      for (const form of [output, binary]) {
        expect(form.includes(canary)).toBe(false);
        expect(form.includes(Buffer.from(canary).toString('base64').slice(0, 16))).toBe(false);
        expect(sharesRun(form, attachment)).toBe(false);
      }
    }
  });

  it('Bcc: no To or Cc recipient can learn the Bcc recipient\'s key ID', async () => {
    const { result, files } = await encrypted(['Dave <dave@sigill.test>']);
    const dave = await loadCertificate('dave');
    const daveIDs = [dave, ...dave.subkeys].map((key) => key.getKeyID().toHex());
    for (const armored of [result.body, ...files.map((file) => file.toString('utf8'))]) {
      const message = await openpgp.readMessage({ armoredMessage: armored });
      const ids = message.getEncryptionKeyIDs().map((id) => id.toHex());
      expect(ids.filter((id) => daveIDs.includes(id))).toEqual([]);
      expect(ids).toContain('0000000000000000');
    }
  });
});

describe('LEAK: PGP/MIME', () => {
  it('no marker from the subject, body or attachment name and no attachment byte run in what goes out', async () => {
    const keys = await keySource({ recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] } }, senders: { 'alice@sigill.test': 'alice' } });
    const plan = await planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], encrypt: true, sign: true, keys });
    const subjectMarker = `${canary}-subject ✓`;
    const nameMarker = `${canary}-name`;
    const attachment = Buffer.concat([Buffer.from(`${canary} `.repeat(2000)), randomBytes(4096)]);
    const headers = `From: alice@sigill.test\r\nTo: bob@sigill.test\r\nSubject: ${encodeUnstructured(subjectMarker)}\r\n`;
    const entity = Buffer.concat([
      Buffer.from(
        `Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n${`${canary}\r\n`.repeat(50)}--b1\r\n` +
          `Content-Type: application/octet-stream; name="${nameMarker}.bin"\r\nContent-Disposition: attachment; filename="${nameMarker}.bin"\r\n\r\n`,
      ),
      attachment, // 8-bit as it is: the worst case for a leak
      Buffer.from('\r\n--b1--\r\n'),
    ]);
    const result = await wrapPgpMime({ plan, entity: () => new Uint8Array(entity), headers });
    const outer = Buffer.concat([Buffer.from(headers.replace(/^Subject:.*\r\n(?:[ \t].*\r\n)*/m, `Subject: ${result.outerSubject}\r\n`)), Buffer.from(await readAll(result.content))]);
    const armor = outer.subarray(outer.indexOf('-----BEGIN PGP MESSAGE-----'));
    const binary = Buffer.from(await readAll(dearmor(armor)));
    for (const form of [outer, binary]) {
      for (const marker of [canary, nameMarker, Buffer.from(canary).toString('base64').slice(0, 16), encodeUnstructured(subjectMarker).slice(10, 30)]) {
        expect(form.includes(marker)).toBe(false);
      }
      expect(sharesRun(form, attachment)).toBe(false);
    }
  });
});
