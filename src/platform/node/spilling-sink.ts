/**
 * A PlaintextSink for the CLI that keeps the plaintext in this process's memory while it is small
 * and moves it to the encrypted temporary file of plaintext-sink.ts (fileSink, or another file
 * given as `spill`) once it grows past
 * `memoryLimit`: mail-sized messages never touch the disk nor pay the file's AES-GCM round trip,
 * and memory stays bounded by the limit whatever the size. The contract is the same as fileSink's:
 * nothing can be read before `commit()`, the plaintext can be read once, and `abort()` / `dispose()`
 * drop it (memory is zeroed, the file deleted).
 */
import { SigillError, type PlaintextSink } from '../../core/index.ts';
import { fileSink, type FileSink, type FileSinkOptions } from './plaintext-sink.ts';

export interface SpillingSinkOptions extends FileSinkOptions {
  /** Plaintext octets held in memory before spilling to the file; default 16 MiB. */
  memoryLimit?: number;
  /**
   * Makes the file to spill to; default the encrypted fileSink with these options. The CLI passes
   * an unnamed file next to its output when that is a regular file (unnamed-file-sink.ts).
   */
  spill?: () => Promise<SpillFile>;
}

/** What the sink spills to: a PlaintextSink that can be read back once and disposed of. */
export interface SpillFile extends PlaintextSink {
  read(): ReadableStream<Uint8Array>;
  /** If it has one: writes the committed plaintext to a file descriptor instead of `read()`. */
  copyTo?(fd: number): void;
  dispose(): Promise<void>;
}

export interface SpillingSink extends PlaintextSink {
  readonly state: 'open' | 'committed' | 'aborted' | 'disposed';
  /** Number of plaintext bytes written. */
  readonly size: number;
  /** Whether the plaintext went to the temporary file (for tests and diagnostics). */
  readonly spilled: boolean;
  /** The committed plaintext as a stream; once only. Throws NOT_COMMITTED before commit. */
  read(): ReadableStream<Uint8Array>;
  /**
   * Instead of `read()`, when the plaintext went to a file that can copy itself (unnamedFileSink):
   * writes it to the file descriptor `fd` and returns true; otherwise does nothing and returns false.
   */
  copyTo(fd: number): boolean;
  /** Drops the plaintext (memory and file), whatever the state. */
  dispose(): Promise<void>;
}

export function spillingSink(options: SpillingSinkOptions = {}): SpillingSink {
  const memoryLimit = options.memoryLimit ?? 16 * 1024 * 1024;
  const limit = options.limit ?? Infinity;
  let held: Uint8Array[] = [];
  let size = 0;
  const spill = options.spill ?? ((): Promise<FileSink> => fileSink(options));
  let file: SpillFile | undefined;
  let state: SpillingSink['state'] = 'open';
  let reading = false;

  const forget = (): void => {
    for (const chunk of held) chunk.fill(0);
    held = [];
  };

  return {
    get state() {
      return state;
    },
    get size() {
      return size;
    },
    get spilled() {
      return file !== undefined;
    },
    async write(chunk) {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `write to a ${state} sink` });
      if (size + chunk.length > limit) throw new SigillError('TOO_LARGE', { detail: `more than ${limit} bytes of plaintext` });
      size += chunk.length;
      if (file === undefined && size <= memoryLimit) {
        held.push(chunk.slice()); // a copy: the producer may reuse its buffer
        return;
      }
      if (file === undefined) {
        file = await spill();
        for (const earlier of held) await file.write(earlier);
        forget();
      }
      await file.write(chunk);
    },
    async commit() {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `commit of a ${state} sink` });
      await file?.commit();
      state = 'committed';
    },
    async abort(reason) {
      if (state !== 'open') return;
      state = 'aborted';
      forget();
      await file?.abort(reason);
    },
    async dispose() {
      if (state === 'open') state = 'aborted';
      else if (state === 'committed') state = 'disposed';
      forget();
      await file?.dispose();
    },
    copyTo(fd) {
      if (state !== 'committed') throw new SigillError('NOT_COMMITTED', { detail: `sink is ${state}` });
      if (reading) throw new SigillError('INTERNAL', { detail: 'the plaintext can be read once' });
      if (file?.copyTo === undefined) return false;
      reading = true;
      state = 'disposed';
      file.copyTo(fd);
      return true;
    },
    read() {
      if (state !== 'committed') throw new SigillError('NOT_COMMITTED', { detail: `sink is ${state}` });
      if (reading) throw new SigillError('INTERNAL', { detail: 'the plaintext can be read once' });
      reading = true;
      if (file !== undefined) return file.read();
      // Handed out as they are: the consumer may still hold a chunk (an asynchronous write), so
      // what was handed out is not zeroed; what was not is, on cancel.
      const chunks = held;
      held = [];
      return new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            const next = chunks.shift();
            if (next === undefined) {
              state = 'disposed';
              controller.close();
            } else controller.enqueue(next);
          },
          cancel() {
            for (const chunk of chunks) chunk.fill(0);
            chunks.length = 0;
            state = 'disposed';
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}
