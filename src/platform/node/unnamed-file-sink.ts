/**
 * A PlaintextSink for the one case where the plaintext is going to a regular file anyway: the CLI's
 * stdout redirected to a file (`sigill sop decrypt KEY < msg.pgp > msg.txt`). The uncommitted
 * plaintext waits in a temporary file created next to that output (same directory, so the same
 * file system and the same exposure at rest as the output itself), mode 0600, and unlinked right
 * after it is created: no other process can open it by name, and it disappears with the process
 * whatever happens. Nothing can be read from it before `commit()`.
 *
 * Unlike fileSink (plaintext-sink.ts) it is not encrypted at rest: that file protects plaintext that
 * would otherwise reach a disk it was never meant for (a pipe's reader decides where it goes), here
 * the plaintext ends on this file system on success. Skipping the AES-GCM round trip saves about a
 * quarter of `sop decrypt`'s time at 100 MiB (bench/crypto.ts).
 *
 * Writes and reads are synchronous, as in fileSink: a one-shot CLI process has nothing else to do
 * meanwhile, and the thread-pool round trips cost more than the calls.
 */
import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SigillError, type PlaintextSink } from '../../core/index.ts';

export interface UnnamedFileSinkOptions {
  /** Where to create the file: the directory of the output the plaintext is for. */
  directory: string;
  /** Refuse (TOO_LARGE) more than this many plaintext bytes; default unlimited. */
  limit?: number;
  /**
   * Octets per chunk of `read()`; default 256 KiB: with 1 MiB chunks, writing them on to a file on
   * ext4 took ten times longer per octet (strace -T, bench/crypto.ts), with 64 KiB more calls.
   */
  readChunk?: number;
}

export interface UnnamedFileSink extends PlaintextSink {
  readonly state: 'open' | 'committed' | 'aborted' | 'disposed';
  /** Number of plaintext bytes written. */
  readonly size: number;
  /** The committed plaintext as a stream; once only. Throws NOT_COMMITTED before commit. */
  read(): ReadableStream<Uint8Array>;
  /**
   * Instead of `read()`: writes the committed plaintext to the file descriptor `fd` through one
   * reused buffer (no allocation per chunk), synchronously, then empties and closes the file.
   */
  copyTo(fd: number): void;
  /** Empties and closes the file, whatever the state. */
  dispose(): Promise<void>;
}

/** Creates the file (throws the file system's error if the directory is not writable). */
/**
 * Writes smaller than a quarter of this are gathered (copied) into one write of this size: GnuPG's
 * 8 KiB partial body chunks would otherwise cost a system call each (13,600 per 100 MiB, profiled
 * with bench/crypto.ts).
 */
const STAGE = 256 * 1024;

export function unnamedFileSink(options: UnnamedFileSinkOptions): UnnamedFileSink {
  const limit = options.limit ?? Infinity;
  const readChunk = options.readChunk ?? 256 * 1024;
  const path = join(options.directory, `.sigill-plaintext-${randomBytes(9).toString('base64url')}.tmp`);
  // O_EXCL: never an existing file (or a planted symlink); 0600 for the instant it has a name.
  let fd: number | undefined = openSync(path, 'wx+', 0o600);
  try {
    unlinkSync(path);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let size = 0;
  let state: UnnamedFileSink['state'] = 'open';
  let reading = false;
  let stage: Buffer | undefined;
  let staged = 0;
  /** File octets written so far (size minus what is staged). */
  let written = 0;

  const writeOut = (bytes: Uint8Array): void => {
    // A full disk throws, which aborts the decryption.
    for (let at = 0; at < bytes.length; ) at += writeSync(fd!, bytes, at, bytes.length - at, written + at);
    written += bytes.length;
  };
  const flushStage = (): void => {
    if (stage === undefined || staged === 0) return;
    writeOut(stage.subarray(0, staged));
    staged = 0;
  };

  const release = (): void => {
    stage?.fill(0);
    stage = undefined;
    staged = 0;
    if (fd === undefined) return;
    try {
      ftruncateSync(fd, 0); // gives the blocks back at once; the file has no name already
    } catch {
      /* closing below frees it anyway */
    }
    closeSync(fd);
    fd = undefined;
  };

  return {
    get state() {
      return state;
    },
    get size() {
      return size;
    },
    async write(chunk) {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `write to a ${state} sink` });
      if (size + chunk.length > limit) throw new SigillError('TOO_LARGE', { detail: `more than ${limit} bytes of plaintext` });
      size += chunk.length;
      // Nothing of the producer's buffer is kept (it may reuse it): written or copied now.
      if (chunk.length >= STAGE / 4) {
        flushStage();
        writeOut(chunk);
        return;
      }
      stage ??= Buffer.allocUnsafe(STAGE);
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(STAGE - staged, chunk.length - at);
        stage.set(chunk.subarray(at, at + take), staged);
        staged += take;
        at += take;
        if (staged === STAGE) flushStage();
      }
    },
    async commit() {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `commit of a ${state} sink` });
      flushStage();
      stage?.fill(0);
      stage = undefined;
      state = 'committed';
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      release();
    },
    async dispose() {
      if (state === 'open') state = 'aborted';
      else if (state === 'committed') state = 'disposed';
      release();
    },
    copyTo(target) {
      if (state !== 'committed') throw new SigillError('NOT_COMMITTED', { detail: `sink is ${state}` });
      if (reading) throw new SigillError('INTERNAL', { detail: 'the plaintext can be read once' });
      reading = true;
      try {
        const buffer = Buffer.allocUnsafe(Math.min(readChunk, Math.max(size, 1)));
        for (let position = 0; position < size; ) {
          const bytesRead = readSync(fd!, buffer, 0, Math.min(buffer.length, size - position), position);
          if (bytesRead === 0) throw new SigillError('INTEGRITY_FAILURE', { detail: 'temporary plaintext file truncated' });
          for (let at = 0; at < bytesRead; ) at += writeSync(target, buffer, at, bytesRead - at);
          position += bytesRead;
        }
        buffer.fill(0);
      } finally {
        state = 'disposed';
        release();
      }
    },
    read() {
      if (state !== 'committed') throw new SigillError('NOT_COMMITTED', { detail: `sink is ${state}` });
      if (reading) throw new SigillError('INTERNAL', { detail: 'the plaintext can be read once' });
      reading = true;
      let position = 0;
      const finish = (): void => {
        state = 'disposed';
        release();
      };
      return new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            try {
              if (position >= size) {
                finish();
                controller.close();
                return;
              }
              // A fresh buffer per chunk: the consumer may keep it.
              const buffer = Buffer.allocUnsafe(Math.min(readChunk, size - position));
              for (let filled = 0; filled < buffer.length; ) {
                const bytesRead = readSync(fd!, buffer, filled, buffer.length - filled, position + filled);
                if (bytesRead === 0) throw new SigillError('INTEGRITY_FAILURE', { detail: 'temporary plaintext file truncated' });
                filled += bytesRead;
              }
              position += buffer.length;
              controller.enqueue(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length));
            } catch (error) {
              finish();
              controller.error(error);
            }
          },
          cancel() {
            finish();
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}
