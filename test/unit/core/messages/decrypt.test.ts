/**
 * decrypt() on GnuPG's compressed messages: the inflated literal data reaches the sink in large pieces
 * (openpgp-internals.ts, useCoalescedInflate), the same octets and the same signature verdict as before.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePath } from '../../../../keys-fixtures/index.ts';
import { decrypt, memorySink, type PlaintextSink } from '../../../../src/core/index.ts';
import { createGpgHome, ok, type GpgHome } from '../../../support/sop.ts';
import { describeWithTools } from '../../../support/tools.ts';
import { privateKey, publicKey } from './helpers.ts';

/** Text that compresses, of about `size` octets, with a line number on every line (nothing repeats exactly). */
function compressible(size: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let line = 0; length < size; line += 1) {
    const text = `line ${line}: the quick brown fox jumps over the lazy dog, ${(line * 2654435761) >>> 0}\n`;
    lines.push(text);
    length += text.length;
  }
  return Buffer.from(lines.join(''));
}

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'decrypt: GnuPG compressed messages', () => {
  let gpg: GpgHome;

  beforeAll(async () => {
    gpg = await createGpgHome();
    ok(await gpg.importKey(fixturePath('alice', 'unprotected')));
    ok(await gpg.importKey(fixturePath('bob', 'pub')));
  });

  afterAll(async () => {
    await gpg?.dispose();
  });

  for (const [name, algorithm] of [
    ['ZIP', 'zip'],
    ['ZLIB', 'zlib'],
  ] as const) {
    it(`${name}: signed literal data of 3 MiB reaches the sink in few large pieces, verified`, async () => {
      const plaintext = compressible(3 * 1024 * 1024);
      // gpg streams its literal data packet inside the compressed one as 8 KiB partial bodies.
      const encrypted = ok(
        await gpg.gpg(['--encrypt', '--sign', '--compress-algo', algorithm, '--recipient', 'bob@sigill.test', '--local-user', 'alice@sigill.test'], { stdin: plaintext }),
      ).stdout;
      const pieces: number[] = [];
      const memory = memorySink();
      const sink: PlaintextSink = {
        write: (chunk) => {
          pieces.push(chunk.length);
          return memory.write(chunk);
        },
        commit: () => memory.commit(),
        abort: (reason) => memory.abort(reason),
      };
      const result = await decrypt({ input: new Uint8Array(encrypted), sink, decryptionKeys: [await privateKey('bob')], verificationKeys: [await publicKey('alice')] });
      expect(Buffer.compare(Buffer.from(memory.bytes()), plaintext)).toBe(0);
      expect(result.verifications).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>' })]);
      // 3 MiB in 8 KiB partials cut again by the inflater were about 900 pieces; re-framed, 256 KiB ones.
      expect(pieces.length).toBeLessThan(60);
      expect(Math.max(...pieces)).toBeGreaterThanOrEqual(128 * 1024);
    });
  }
});
