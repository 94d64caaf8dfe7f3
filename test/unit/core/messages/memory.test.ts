/**
 * Bounded memory: a child process encrypts a generated stream and pipes the ciphertext straight
 * into decrypt (SEIPDv1 through our streaming CFB+MDC path, SEIPDv2 through OpenPGP.js AEAD). Its
 * peak RSS (from the kernel) must not grow with the size: holding the plaintext of 256 MiB would
 * add at least 192 MiB over the 64 MiB run. No timing is asserted.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../../node_modules/.bin/tsx', import.meta.url));

function run(sizeMiB: number, version: 'v1' | 'v2', sink: 'count' | 'file'): { maxRssKiB: number; bytes: number } {
  const out = execFileSync(tsx, [child, String(sizeMiB), version, sink, 'node'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { maxRssKiB: number; bytes: number };
}

describe('decryption memory does not grow with the message size', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`SEIPD${version}: 64 MiB vs 256 MiB peak RSS`, () => {
      const small = run(64, version, 'count');
      const large = run(256, version, 'file');
      expect(small.bytes).toBe(64 * 1024 * 1024);
      expect(large.bytes).toBe(256 * 1024 * 1024);
      const growthMiB = (large.maxRssKiB - small.maxRssKiB) / 1024;
      console.log(`SEIPD${version}: peak RSS 64 MiB -> ${(small.maxRssKiB / 1024).toFixed(0)} MiB, 256 MiB -> ${(large.maxRssKiB / 1024).toFixed(0)} MiB`);
      expect(growthMiB).toBeLessThan(96);
      expect(large.maxRssKiB / 1024).toBeLessThan(400);
    }, 300_000);
  }
});
