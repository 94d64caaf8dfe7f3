/**
 * The in-memory PlaintextSink: fine for mail-sized data in Thunderbird; the CLI uses a file-backed
 * sink for large data (src/platform/node/plaintext-sink.ts). Nothing is readable before `commit()`.
 */
import { SigillError } from '../errors.ts';
import { bytesStream, concatBytes } from './streams.ts';
import type { PlaintextSink } from './types.ts';

export interface MemorySink extends PlaintextSink {
  readonly state: 'open' | 'committed' | 'aborted';
  /** The committed bytes; throws NOT_COMMITTED before commit or after abort. */
  bytes(): Uint8Array;
  /** The committed bytes decoded as UTF-8. */
  text(): string;
  /** The committed bytes as a stream (e.g. to feed a second stage). */
  read(): ReadableStream<Uint8Array>;
}

export interface MemorySinkOptions {
  /** Refuse (TOO_LARGE) more than this many bytes; default unlimited. */
  limit?: number;
}

export function memorySink(options: MemorySinkOptions = {}): MemorySink {
  const limit = options.limit ?? Infinity;
  let chunks: Uint8Array[] = [];
  let length = 0;
  let state: 'open' | 'committed' | 'aborted' = 'open';
  let committed: Uint8Array | undefined;

  const committedBytes = (): Uint8Array => {
    if (state !== 'committed' || committed === undefined) throw new SigillError('NOT_COMMITTED', { detail: `sink is ${state}` });
    return committed;
  };

  return {
    get state() {
      return state;
    },
    async write(chunk) {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `write to a ${state} sink` });
      length += chunk.length;
      if (length > limit) throw new SigillError('TOO_LARGE', { detail: `more than ${limit} bytes of plaintext` });
      // Copy: producers may reuse their buffers.
      chunks.push(chunk.slice());
    },
    async commit() {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `commit of a ${state} sink` });
      committed = concatBytes(chunks, length);
      chunks = [];
      state = 'committed';
    },
    async abort() {
      if (state === 'committed') return;
      chunks = [];
      length = 0;
      state = 'aborted';
    },
    bytes: committedBytes,
    text() {
      return new TextDecoder().decode(committedBytes());
    },
    read() {
      return bytesStream(committedBytes());
    },
  };
}
