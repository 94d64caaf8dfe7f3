/**
 * A file-backed PlaintextSink for large data in the CLI: decrypted plaintext goes to a temporary
 * file (mode 0600 in a 0700 directory under os.tmpdir()), encrypted at rest with a random per-sink
 * AES-256-GCM key that never leaves memory, so no plaintext lands on disk and nothing of it can be
 * read back before `commit()`. After commit, `read()` streams it back (each record authenticated);
 * the file is deleted when that stream ends or is cancelled, on `abort()`, or by `dispose()`.
 *
 * File format: a sequence of records `length (4 octets, big-endian) || GCM tag (16) || ciphertext`,
 * record i encrypted with nonce = 0x00000000 || i (64-bit big-endian) and additional data = one
 * octet, 1 for the final (empty) record written at commit and 0 otherwise; a file that ends before
 * its final record, or with records reordered or altered, fails to read.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigillError } from '../core/errors.ts';
import type { PlaintextSink } from '../core/messages/index.ts';

export interface FileSinkOptions {
  /** Where to create the temporary directory; default os.tmpdir(). */
  directory?: string;
  /** Refuse (TOO_LARGE) more than this many plaintext bytes; default unlimited. */
  limit?: number;
  /** Plaintext bytes per record; default 256 KiB. */
  recordSize?: number;
}

export interface FileSink extends PlaintextSink {
  readonly state: 'open' | 'committed' | 'aborted' | 'disposed';
  /** The temporary file (for tests and diagnostics). */
  readonly path: string;
  /** Number of plaintext bytes written. */
  readonly size: number;
  /** The committed plaintext as a stream; once only. Throws NOT_COMMITTED before commit. */
  read(): ReadableStream<Uint8Array>;
  /** Deletes the temporary file and directory, whatever the state. */
  dispose(): Promise<void>;
}

const HEADER = 20;

function nonce(counter: bigint): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(counter, 4);
  return iv;
}

export async function fileSink(options: FileSinkOptions = {}): Promise<FileSink> {
  const limit = options.limit ?? Infinity;
  const recordSize = options.recordSize ?? 256 * 1024;
  const directory = await mkdtemp(join(options.directory ?? tmpdir(), 'sigill-plaintext-'));
  const path = join(directory, 'plaintext.enc');
  let handle: FileHandle | undefined = await open(path, 'wx', 0o600);
  const key = randomBytes(32);
  let counter = 0n;
  let size = 0;
  let state: FileSink['state'] = 'open';
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let reading = false;

  const writeRecord = async (plaintext: Buffer, final: boolean): Promise<void> => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce(counter++));
    cipher.setAAD(Buffer.from([final ? 1 : 0]));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const header = Buffer.alloc(HEADER);
    header.writeUInt32BE(ciphertext.length, 0);
    cipher.getAuthTag().copy(header, 4);
    await handle!.write(Buffer.concat([header, ciphertext]));
  };

  const flush = async (): Promise<void> => {
    if (pendingLength === 0) return;
    const plaintext = Buffer.concat(pending, pendingLength);
    pending = [];
    pendingLength = 0;
    await writeRecord(plaintext, false);
  };

  const remove = async (): Promise<void> => {
    pending = [];
    pendingLength = 0;
    key.fill(0);
    await handle?.close().catch(() => undefined);
    handle = undefined;
    await rm(directory, { recursive: true, force: true });
  };

  const sink: FileSink = {
    get state() {
      return state;
    },
    path,
    get size() {
      return size;
    },
    async write(chunk) {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `write to a ${state} sink` });
      size += chunk.length;
      if (size > limit) throw new SigillError('TOO_LARGE', { detail: `more than ${limit} bytes of plaintext` });
      pending.push(Buffer.from(chunk)); // a copy: producers may reuse their buffers
      pendingLength += chunk.length;
      if (pendingLength >= recordSize) await flush();
    },
    async commit() {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `commit of a ${state} sink` });
      await flush();
      await writeRecord(Buffer.alloc(0), true);
      await handle!.sync();
      await handle!.close();
      handle = undefined;
      state = 'committed';
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      await remove();
    },
    async dispose() {
      if (state === 'open') state = 'aborted';
      else if (state === 'committed') state = 'disposed';
      await remove();
    },
    read() {
      if (state !== 'committed') throw new SigillError('NOT_COMMITTED', { detail: `sink is ${state}` });
      if (reading) throw new SigillError('INTERNAL', { detail: 'the plaintext can be read once' });
      reading = true;
      let file: FileHandle | undefined;
      let position = 0;
      let readCounter = 0n;
      const readExactly = async (length: number): Promise<Buffer> => {
        const buffer = Buffer.alloc(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await file!.read(buffer, filled, length - filled, position);
          if (bytesRead === 0) throw new SigillError('INTEGRITY_FAILURE', { detail: 'temporary plaintext file truncated' });
          filled += bytesRead;
          position += bytesRead;
        }
        return buffer;
      };
      const finish = async (): Promise<void> => {
        await file?.close().catch(() => undefined);
        file = undefined;
        state = 'disposed';
        await remove();
      };
      return new ReadableStream<Uint8Array>({
        async start() {
          file = await open(path, 'r');
        },
        async pull(controller) {
          try {
            for (;;) {
              const header = await readExactly(HEADER);
              const length = header.readUInt32BE(0);
              if (length > recordSize + 16 * 1024 * 1024) throw new SigillError('INTEGRITY_FAILURE', { detail: 'temporary plaintext file corrupted' });
              const ciphertext = await readExactly(length);
              const decipher = createDecipheriv('aes-256-gcm', key, nonce(readCounter++));
              const final = length === 0;
              decipher.setAAD(Buffer.from([final ? 1 : 0]));
              decipher.setAuthTag(header.subarray(4, HEADER));
              const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
              if (final) {
                await finish();
                controller.close();
                return;
              }
              if (plaintext.length > 0) {
                controller.enqueue(new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.length));
                return;
              }
            }
          } catch (error) {
            await finish();
            controller.error(error instanceof SigillError ? error : new SigillError('INTEGRITY_FAILURE', { detail: 'temporary plaintext file corrupted', cause: error }));
          }
        },
        async cancel() {
          await finish();
        },
      });
    },
  };
  return sink;
}
