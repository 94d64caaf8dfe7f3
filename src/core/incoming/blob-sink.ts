/**
 * A PlaintextSink for reading mail of any size: small plaintext stays one Uint8Array (what the view and
 * the MIME parser use today), large plaintext is gathered into a Blob a few MiB at a time, so the
 * decrypted bytes exist once, outside the JavaScript heap (Gecko keeps a Blob's bytes in its own
 * buffers), and no single huge array or string is ever made. The sink contract (platform.ts) holds: what
 * was written is out of reach until `commit()`, and `abort()` drops it.
 */
import { SigillError } from '../errors.ts';
import type { PlaintextSink } from '../platform.ts';

export interface SpillingSinkOptions {
  /** Refuse (TOO_LARGE) more plaintext than this many bytes. */
  limit: number;
  /** Plaintext of at most this many bytes is kept as one Uint8Array (default 4 MiB); more becomes a Blob. */
  inMemoryBelow?: number;
}

export interface SpillingSink extends PlaintextSink {
  /** The committed plaintext: bytes when small, a Blob when large. Throws NOT_COMMITTED before commit. */
  result(): Uint8Array | Blob;
}

/** Chunks are folded into a Blob part once this many bytes wait (a bounded extra copy). */
const FOLD = 4 << 20;

export function spillingSink(options: SpillingSinkOptions): SpillingSink {
  const inMemoryBelow = options.inMemoryBelow ?? 4 << 20;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let parts: Blob[] = [];
  let length = 0;
  let state: 'open' | 'committed' | 'aborted' = 'open';
  let committed: Uint8Array | Blob | undefined;

  const fold = (): void => {
    if (pending.length === 0) return;
    parts.push(new Blob(pending as Array<Uint8Array<ArrayBuffer>>));
    pending = [];
    pendingBytes = 0;
  };

  return {
    async write(chunk) {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `write to a ${state} sink` });
      length += chunk.length;
      if (length > options.limit) throw new SigillError('TOO_LARGE', { detail: `more than ${options.limit} bytes of plaintext` });
      // Copy: producers may reuse their buffers.
      pending.push(chunk.slice());
      pendingBytes += chunk.length;
      if (length > inMemoryBelow && pendingBytes >= FOLD) fold();
    },
    async commit() {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `commit of a ${state} sink` });
      if (length > inMemoryBelow) {
        fold();
        committed = new Blob(parts);
      } else {
        const bytes = new Uint8Array(length);
        let offset = 0;
        for (const chunk of pending) {
          bytes.set(chunk, offset);
          offset += chunk.length;
        }
        committed = bytes;
      }
      pending = [];
      parts = [];
      state = 'committed';
    },
    async abort() {
      if (state === 'committed') return;
      pending = [];
      parts = [];
      length = 0;
      state = 'aborted';
    },
    result() {
      if (state !== 'committed' || committed === undefined) throw new SigillError('NOT_COMMITTED', { detail: `sink is ${state}` });
      return committed;
    },
  };
}

/** A stream collected into a Blob (large) or bytes (small), through the same sink; TOO_LARGE past `limit`. */
export async function collect(stream: ReadableStream<Uint8Array>, options: SpillingSinkOptions): Promise<Uint8Array | Blob> {
  const sink = spillingSink(options);
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await sink.write(value);
    }
  } catch (error) {
    await reader.cancel(error).catch(() => undefined);
    await sink.abort(error);
    throw error;
  }
  await sink.commit();
  return sink.result();
}

/** Bytes of a plaintext, for what is small by nature (text to show, keys, signatures). */
export async function bytesOf(data: Uint8Array | Blob): Promise<Uint8Array> {
  return data instanceof Uint8Array ? data : new Uint8Array(await data.arrayBuffer());
}

export function sizeOf(data: Uint8Array | Blob): number {
  return data instanceof Uint8Array ? data.length : data.size;
}
