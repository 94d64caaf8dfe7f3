/**
 * A file-backed PlaintextSink for large data in Node (the CLI): decrypted plaintext goes to a temporary
 * file (mode 0600 in a 0700 directory under os.tmpdir()), encrypted at rest with a random per-sink
 * AES-256-GCM key that never leaves memory, so no plaintext lands on disk and nothing of it can be
 * read back before `commit()`. After commit, `read()` streams it back (each record authenticated
 * before any of its bytes is released); the file is deleted when that stream ends or is
 * cancelled, on `abort()`, or by `dispose()`.
 *
 * File format: records of `ciphertext || GCM tag (16 octets)`, every record holding exactly
 * `recordSize` plaintext octets except the last, which holds the rest (at least one octet); record
 * i is encrypted with nonce = 0x00000000 || i (64-bit big-endian). Nothing about the layout is
 * read from the file: the plaintext length is kept in memory, so the reader knows where every
 * record ends and how long the file must be, and a file that is shorter, longer, reordered or
 * altered fails to read (INTEGRITY_FAILURE).
 *
 * Performance (bench/crypto.ts): plaintext is encrypted as it arrives (GCM is incremental within a
 * record; no copy of the producer's chunk is kept) and the file is written and read with
 * synchronous calls: this sink serves a one-shot CLI process that has nothing else to do
 * meanwhile, and the thread-pool round trips of fs/promises cost more than the writes themselves.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writevSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigillError, type PlaintextSink } from '../../core/index.ts';

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

const TAG = 16;
/** Plaintext octets gathered from small writes before they are encrypted. */
const STAGE = 64 * 1024;
/** Ciphertext octets collected before one write call. */
const WRITE_BATCH = 1024 * 1024;

function nonce(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(counter), 4);
  return iv;
}

export async function fileSink(options: FileSinkOptions = {}): Promise<FileSink> {
  const limit = options.limit ?? Infinity;
  const recordSize = options.recordSize ?? 256 * 1024;
  if (!(recordSize > 0)) throw new SigillError('INTERNAL', { detail: 'record size must be positive' });
  const directory = await mkdtemp(join(options.directory ?? tmpdir(), 'sigill-plaintext-'));
  const path = join(directory, 'plaintext.enc');
  let fd: number | undefined = openSync(path, 'wx', 0o600);
  const key = randomBytes(32);
  let size = 0;
  let state: FileSink['state'] = 'open';
  let reading = false;
  // The record being written: its cipher and how many plaintext octets it holds so far.
  let records = 0;
  let cipher: CipherGCM | undefined;
  let filled = 0;
  let batch: Buffer[] = [];
  let batchLength = 0;

  const flushBatch = (): void => {
    const pending = batch;
    batch = [];
    batchLength = 0;
    while (pending.length > 0) {
      let written = writevSync(fd!, pending);
      // A short write (a nearly full disk, or more buffers than one call takes): drop what went
      // out and write the rest; a full disk then throws, which aborts the decryption.
      while (pending.length > 0 && written >= pending[0]!.length) written -= pending.shift()!.length;
      if (written > 0) pending[0] = pending[0]!.subarray(written);
    }
  };
  const emit = (bytes: Buffer): void => {
    if (bytes.length === 0) return;
    batch.push(bytes);
    batchLength += bytes.length;
    if (batchLength >= WRITE_BATCH || batch.length >= 256) flushBatch();
  };
  const closeRecord = (): void => {
    if (!cipher) return;
    emit(cipher.final());
    emit(cipher.getAuthTag());
    cipher = undefined;
    filled = 0;
  };

  /** Encrypts plaintext into the current record(s); the output is queued for writing. */
  const encrypt = (bytes: Uint8Array): void => {
    for (let at = 0; at < bytes.length; ) {
      if (!cipher) cipher = createCipheriv('aes-256-gcm', key, nonce(records++));
      const take = Math.min(recordSize - filled, bytes.length - at);
      emit(cipher.update(bytes.subarray(at, at + take)));
      filled += take;
      at += take;
      if (filled === recordSize) closeRecord();
    }
  };
  const stage = Buffer.allocUnsafe(STAGE);
  let staged = 0;

  const remove = async (): Promise<void> => {
    stage.fill(0);
    staged = 0;
    batch = [];
    batchLength = 0;
    cipher = undefined;
    key.fill(0);
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already unusable: removed below */
      }
    }
    fd = undefined;
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
      // Large chunks are encrypted at once; small ones (OpenPGP.js hands over GnuPG's 8 KiB
      // partial body chunks one by one) are gathered first, as every cipher call and its output
      // allocation has a cost. Either way nothing of the producer's buffer is kept.
      if (chunk.length >= STAGE) {
        // What is staged goes first (GCM is incremental within a record, any lengths), then the
        // chunk without a copy: SEIPDv1 decryption hands over a 22-octet held-back tail before
        // every large piece, which would otherwise send every octet through the stage.
        if (staged > 0) encrypt(stage.subarray(0, staged));
        staged = 0;
        encrypt(chunk);
        return;
      }
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(STAGE - staged, chunk.length - at);
        stage.set(chunk.subarray(at, at + take), staged);
        staged += take;
        at += take;
        if (staged === STAGE) {
          encrypt(stage);
          staged = 0;
        }
      }
    },
    async commit() {
      if (state !== 'open') throw new SigillError('INTERNAL', { detail: `commit of a ${state} sink` });
      encrypt(stage.subarray(0, staged));
      staged = 0;
      stage.fill(0);
      closeRecord();
      flushBatch();
      // No fsync: the file only has to outlive this process's read-back (its key dies with the
      // process), the page cache serves that, and every record's tag catches a bad read anyway.
      closeSync(fd!);
      fd = undefined;
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
      let file: number | undefined;
      let position = 0;
      let index = 0;
      const buffer = Buffer.allocUnsafe(Math.min(recordSize, Math.max(size, 1)) + TAG);
      const finish = async (): Promise<void> => {
        if (file !== undefined) closeSync(file);
        file = undefined;
        state = 'disposed';
        await remove();
      };
      const corrupted = (detail: string): SigillError => new SigillError('INTEGRITY_FAILURE', { detail });
      return new ReadableStream<Uint8Array>(
        {
          async start() {
            try {
              file = openSync(path, 'r');
              // The layout follows from the plaintext length held in memory: the file must match it.
              const expected = size + Math.ceil(size / recordSize) * TAG;
              if (fstatSync(file).size !== expected) throw corrupted('temporary plaintext file truncated or extended');
            } catch (error) {
              await finish();
              throw error instanceof SigillError ? error : corrupted('temporary plaintext file unreadable');
            }
          },
          async pull(controller) {
            try {
              const plainLength = Math.min(recordSize, size - index * recordSize);
              if (plainLength <= 0) {
                await finish();
                controller.close();
                return;
              }
              const length = plainLength + TAG;
              for (let filledNow = 0; filledNow < length; ) {
                const bytesRead = readSync(file!, buffer, filledNow, length - filledNow, position);
                if (bytesRead === 0) throw corrupted('temporary plaintext file truncated');
                filledNow += bytesRead;
                position += bytesRead;
              }
              const decipher = createDecipheriv('aes-256-gcm', key, nonce(index++));
              decipher.setAuthTag(buffer.subarray(plainLength, length));
              const plaintext = decipher.update(buffer.subarray(0, plainLength));
              decipher.final(); // throws on a wrong tag: nothing of this record was released
              controller.enqueue(new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.length));
            } catch (error) {
              await finish();
              controller.error(error instanceof SigillError ? error : new SigillError('INTEGRITY_FAILURE', { detail: 'temporary plaintext file corrupted', cause: error }));
            }
          },
          async cancel() {
            await finish();
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
  return sink;
}
