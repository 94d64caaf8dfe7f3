/**
 * A PlaintextSink for reading mail of any size: small plaintext stays one Uint8Array (what the view and
 * the MIME parser use), large plaintext becomes a Blob gathered from the chunks as they come (BlobSpill),
 * so no single huge array or string is ever made and the JavaScript heap holds a few MiB at most. The sink contract (platform.ts) holds: what
 * was written is out of reach until `commit()`, and `abort()` drops it.
 */
import { SigillError } from '../errors.ts';
import { noteStreamedBytes, type PlaintextSink } from '../platform.ts';

export interface BlobSinkOptions {
  /** Refuse (TOO_LARGE) more plaintext than this many bytes. */
  limit: number;
  /** Plaintext of at most this many bytes is kept as one Uint8Array (default 4 MiB); more becomes a Blob. */
  inMemoryBelow?: number;
  /**
   * The writer hands every chunk over: a new array each time, never changed after the write (the
   * base64 decoder's output). The sink then keeps it as it is; otherwise it copies each chunk, since a
   * producer may reuse its buffer while the chunk still waits in the Blob's queue.
   */
  handsOver?: boolean;
}

export interface BlobSink extends PlaintextSink {
  /** The committed plaintext: bytes when small, a Blob when large. Throws NOT_COMMITTED before commit. */
  result(): Uint8Array | Blob;
}

/**
 * Where a large plaintext goes: a stream that `Response.blob()` reads to its end. In Gecko that Blob is
 * gathered by MutableBlobStorage, which moves data past 1 MiB (`dom.blob.memoryToTemporaryFile`) into a
 * temporary file (`mozilla-temp-*` in Thunderbird's temporary directory, seen open during a 50 MiB read;
 * Gecko deletes it when the Blob is released), so a large plaintext does not stay in the extension
 * process's memory; elsewhere (Node) it is gathered in memory. Nobody can
 * read the Blob before the stream is closed (commit); an aborted stream rejects it.
 */
class BlobSpill {
  readonly blob: Promise<Blob>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private wake: (() => void) | undefined;

  constructor(highWaterMark: number) {
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          this.wake?.();
          this.wake = undefined;
        },
      },
      { highWaterMark, size: (chunk) => chunk.byteLength },
    );
    this.blob = new Response(stream as ReadableStream<Uint8Array<ArrayBuffer>>).blob();
    // Until commit or abort nobody awaits it: a rejection (abort) must not go unhandled.
    this.blob.catch(() => undefined);
  }

  /** Queues the chunk; waits while the reader is a full queue behind (memory stays bounded). */
  async write(chunk: Uint8Array): Promise<void> {
    this.controller.enqueue(chunk);
    while ((this.controller.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  async close(): Promise<Blob> {
    this.controller.close();
    return this.blob;
  }

  abort(reason: unknown): void {
    this.controller.error(reason);
    this.wake?.();
  }
}

/** How much may wait for the Blob's reader before a write waits. */
const QUEUE = 4 << 20;

export function blobSink(options: BlobSinkOptions): BlobSink {
  const inMemoryBelow = options.inMemoryBelow ?? 4 << 20;
  let pending: Uint8Array[] = [];
  let length = 0;
  let spill: BlobSpill | undefined;
  let state: 'open' | 'committed' | 'aborted' = 'open';
  let committed: Uint8Array | Blob | undefined;

  return {
    async write(chunk) {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `write to a ${state} sink` });
      length += chunk.length;
      if (length > options.limit) throw new SigillError('TOO_LARGE', { detail: `more than ${options.limit} bytes of plaintext` });
      noteStreamedBytes(chunk.length);
      // Copy unless handed over: producers may reuse their buffers.
      const copy = options.handsOver === true ? chunk : chunk.slice();
      if (spill !== undefined) return spill.write(copy);
      pending.push(copy);
      if (length > inMemoryBelow) {
        spill = new BlobSpill(QUEUE);
        const held = pending;
        pending = [];
        for (const part of held) await spill.write(part);
      }
    },
    async commit() {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `commit of a ${state} sink` });
      if (spill !== undefined) {
        committed = await spill.close();
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
      state = 'committed';
    },
    async abort(reason) {
      if (state === 'committed') return;
      spill?.abort(reason ?? new SigillError('CANCELLED'));
      spill = undefined;
      pending = [];
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
export async function collect(stream: ReadableStream<Uint8Array>, options: BlobSinkOptions): Promise<Uint8Array | Blob> {
  const sink = blobSink(options);
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
