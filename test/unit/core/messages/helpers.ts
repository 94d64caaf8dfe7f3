/** Test helpers for the messages tests: the fixture keys (through keys-fixtures/index.ts) and data generators. */
import type { PrivateKey, PublicKey } from 'openpgp';
import { memorySink, readAll } from '../../../../src/core/index.ts';
import { loadCertificate, loadSecretKey, type FixtureName } from '../../../../keys-fixtures/index.ts';

export function publicKey(name: FixtureName): Promise<PublicKey> {
  return loadCertificate(name);
}

/** A persona's (or mallory's) secret key, unlocked with its documented passphrase. */
export function privateKey(name: FixtureName): Promise<PrivateKey> {
  return loadSecretKey(name, { unlocked: true });
}

export async function bytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return readAll(stream);
}

export async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await readAll(stream));
}

export { memorySink };

/** A stream of `size` pseudo-random bytes in `chunk`-sized pieces, generated on the fly. */
export function generatedStream(size: number, chunk = 1 << 16, seed = 1): ReadableStream<Uint8Array> {
  let produced = 0;
  let state = seed >>> 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced >= size) {
        controller.close();
        return;
      }
      const length = Math.min(chunk, size - produced);
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        out[i] = state >>> 24;
      }
      produced += length;
      controller.enqueue(out);
    },
  });
}

export function randomBytes(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Compares byte arrays fast (vitest's deep equality walks them element by element). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
