/**
 * The garbage-collection seam (src/core/platform.ts): the installed collector runs once per `everyBytes` of
 * data the core streams, never in between, and nothing runs without one.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { noteStreamedBytes, read, useGarbageCollector } from '../../../src/core/index.ts';
import { CRLF, attachmentPart, bytesOf, certificate, encryptArmored, entity, envelope, keyring, multipart, pgpMime, secretKey, text } from './incoming/mail.ts';

const MiB = 1 << 20;

afterEach(() => useGarbageCollector(undefined));

describe('useGarbageCollector / noteStreamedBytes', () => {
  it('collects once per everyBytes of streamed data, and never in between', () => {
    let collections = 0;
    useGarbageCollector(() => collections++, { everyBytes: 16 * MiB });
    const seen: number[] = [];
    // 64 KiB chunks, as a read reports them: 48 MiB in all.
    for (let chunk = 1; chunk <= 768; chunk++) {
      noteStreamedBytes(64 * 1024);
      seen.push(collections);
    }
    expect(collections).toBe(3);
    // The collections fell exactly on the 16th, 32nd and 48th MiB.
    expect(seen.findIndex((count) => count === 1)).toBe(255);
    expect(seen.findIndex((count) => count === 2)).toBe(511);
    expect(seen.findIndex((count) => count === 3)).toBe(767);
    // Short of the next 16 MiB: nothing.
    noteStreamedBytes(16 * MiB - 1);
    expect(collections).toBe(3);
    noteStreamedBytes(1);
    expect(collections).toBe(4);
  });

  it('one collection for a chunk larger than everyBytes, the rest counted on', () => {
    let collections = 0;
    useGarbageCollector(() => collections++, { everyBytes: MiB });
    noteStreamedBytes(3.5 * MiB);
    expect(collections).toBe(1);
    noteStreamedBytes(0.5 * MiB);
    expect(collections).toBe(2);
  });

  it('without a collector nothing runs; a failing collector never reaches the caller', () => {
    let collections = 0;
    useGarbageCollector(() => collections++, { everyBytes: 1024 });
    useGarbageCollector(undefined);
    noteStreamedBytes(64 * MiB);
    expect(collections).toBe(0);
    useGarbageCollector(
      () => {
        collections++;
        throw new Error('no collection here');
      },
      { everyBytes: 1024 },
    );
    expect(() => noteStreamedBytes(4096)).not.toThrow();
    expect(collections).toBe(1);
  });

  it('a large PGP/MIME read from a Blob reports its ciphertext windows and its plaintext: one collection per everyBytes of them', async () => {
    const [alice, bob, alicePublic, bobPublic] = await Promise.all([secretKey('alice'), secretKey('bob'), certificate('alice'), certificate('bob')]);
    const file = new Uint8Array(randomBytes(2 * MiB));
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="inner"' }, multipart('inner', [text(`Body${CRLF}`), attachmentPart('data.bin', file)]));
    const armored = await encryptArmored(inner, { to: [bobPublic], signer: alice, format: 'binary' });
    const mail = pgpMime(envelope('Alice <alice@sigill.test>', 'Large'), armored);
    let collections = 0;
    // Every 1 MiB: no chunk the read reports is larger (the mail's 1 MiB windows, the plaintext's pieces), so each MiB counts.
    useGarbageCollector(() => collections++, { everyBytes: MiB });
    const view = await read(new Blob([bytesOf(mail) as Uint8Array<ArrayBuffer>]), { ...keyring({ secret: [bob], public: [alicePublic, bobPublic] }), streaming: { inMemoryBelow: 64 * 1024, windowSize: 4096 } });
    expect(view.errors).toEqual([]);
    expect(view.attachments[0]?.size).toBe(file.length);
    // At least the whole payload read once to decrypt and the decrypted MIME written once; at most both twice.
    // The payload, the decrypted MIME and the attachment decoded from it each stream through at least once
    // (the payload's head is read again to inspect it, the attachment's base64 is read back from the plaintext): no more than twice.
    const once = armored.length + inner.length + file.length;
    expect(collections).toBeGreaterThanOrEqual(Math.floor(once / MiB));
    expect(collections).toBeLessThanOrEqual(Math.floor((2 * once) / MiB));
  });
});
