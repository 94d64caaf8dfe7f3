import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, readAll } from '../../../src/core/index.ts';
import { fileSink, nodeCfb } from '../../../src/platform/node/index.ts';
import { privateKey, randomBytes, sameBytes } from '../../unit/core/messages/helpers.ts';

const marker = new TextEncoder().encode('PLAINTEXT-MARKER-4711 ');

function repeated(times: number): Uint8Array {
  const out = new Uint8Array(marker.length * times);
  for (let i = 0; i < times; i++) out.set(marker, i * marker.length);
  return out;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

describe('fileSink', () => {
  it('keeps plaintext encrypted in a 0600 file, unreadable before commit, deleted after reading', async () => {
    const sink = await fileSink({ recordSize: 1000 });
    const data = repeated(500);
    await sink.write(data.subarray(0, 7000));
    await sink.write(data.subarray(7000));
    expect(statSync(sink.path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(sink.path)).mode & 0o777).toBe(0o700);
    expect(() => sink.read()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }));
    await sink.commit();
    const onDisk = readFileSync(sink.path);
    expect(onDisk.length).toBeGreaterThan(data.length);
    expect(contains(onDisk, marker)).toBe(false);
    const back = await readAll(sink.read());
    expect(sameBytes(back, data)).toBe(true);
    expect(existsSync(sink.path)).toBe(false);
    expect(existsSync(dirname(sink.path))).toBe(false);
  });

  it('abort deletes the file and nothing can be read', async () => {
    const sink = await fileSink();
    await sink.write(repeated(10));
    await sink.abort(new Error('integrity'));
    expect(existsSync(sink.path)).toBe(false);
    expect(() => sink.read()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }));
  });

  it('a modified or truncated temporary file fails to read (INTEGRITY_FAILURE)', async () => {
    for (const damage of ['flip', 'truncate'] as const) {
      const sink = await fileSink({ recordSize: 100 });
      await sink.write(repeated(40));
      await sink.commit();
      const file = readFileSync(sink.path);
      writeFileSync(sink.path, damage === 'flip' ? Buffer.from(file.map((byte, i) => (i === 30 ? byte ^ 1 : byte))) : file.subarray(0, file.length - 20));
      await expect(readAll(sink.read())).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
      expect(existsSync(sink.path)).toBe(false);
    }
  });

  it('gives back exactly what was written, for any mix of small and large writes and record boundaries', async () => {
    const recordSize = 1000;
    for (const total of [0, 1, recordSize, 3 * recordSize, 3 * recordSize + 1, 70_000, 200_003]) {
      const data = randomBytes(total);
      const sink = await fileSink({ recordSize });
      // Small writes are gathered before encryption, large ones go straight through: mix both.
      const sizes = [1, 999, 1000, 1001, 65_536, 7, 100_000];
      for (let at = 0, i = 0; at < total; i++) {
        const size = Math.min(sizes[i % sizes.length] ?? 1, total - at);
        await sink.write(data.subarray(at, at + size));
        at += size;
      }
      await sink.commit();
      expect(statSync(sink.path).size).toBe(total + Math.ceil(total / recordSize) * 16);
      expect(sameBytes(await readAll(sink.read()), data)).toBe(true);
    }
  });

  it('records swapped in the temporary file fail to read (INTEGRITY_FAILURE)', async () => {
    const sink = await fileSink({ recordSize: 100 });
    await sink.write(repeated(20));
    await sink.commit();
    const file = readFileSync(sink.path);
    const record = 116;
    writeFileSync(sink.path, Buffer.concat([file.subarray(record, 2 * record), file.subarray(0, record), file.subarray(2 * record)]));
    await expect(readAll(sink.read())).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
    expect(existsSync(sink.path)).toBe(false);
  });

  it('enforces its limit', async () => {
    const sink = await fileSink({ limit: 10 });
    await expect(sink.write(new Uint8Array(11))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await sink.dispose();
    expect(existsSync(sink.path)).toBe(false);
  });

  it('decrypt into a fileSink with node:crypto CFB (SEIPDv1) and AEAD (SEIPDv2); a tampered message leaves no file', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    for (const name of ['bob', 'erin'] as const) {
      const key = await privateKey(name);
      const message = await readAll(await encrypt({ input: data, recipients: [key.toPublic()], armor: false }));
      const sink = await fileSink();
      await decrypt({ input: message, sink, decryptionKeys: [key], cfb: nodeCfb });
      expect(sameBytes(await readAll(sink.read()), data)).toBe(true);
      const tampered = message.slice();
      tampered[tampered.length - 100]! ^= 1;
      const bad = await fileSink();
      await expect(decrypt({ input: tampered, sink: bad, decryptionKeys: [key], cfb: nodeCfb })).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
      expect(bad.state).toBe('aborted');
      expect(existsSync(bad.path)).toBe(false);
    }
  });

  it('node:crypto CFB decrypts what OpenPGP.js encrypted with AES-128 and AES-192 too', async () => {
    const bob = await privateKey('bob');
    for (const algorithm of ['aes128', 'aes192'] as const) {
      const sessionKey = { data: randomBytes(algorithm === 'aes128' ? 16 : 24, 3), algorithm };
      const message = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: marker }), encryptionKeys: bob.toPublic(), sessionKey, format: 'binary' });
      for (const cfb of [nodeCfb, undefined]) {
        const sink = await fileSink();
        // By session key: OpenPGP.js refuses a PKESK for an algorithm outside the recipient's preferences.
        const result = await decrypt({ input: message as Uint8Array, sink, sessionKeys: [sessionKey], ...(cfb ? { cfb } : {}) });
        expect(result.sessionKey.algorithm).toBe(algorithm);
        expect(sameBytes(await readAll(sink.read()), marker)).toBe(true);
      }
    }
  });
});
