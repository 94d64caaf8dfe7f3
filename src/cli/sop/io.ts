/**
 * I/O plumbing of `sigill sop`: stdin/stdout as web streams with backpressure (never reading a large
 * input whole), and the draft's indirect inputs and outputs (draft-dkg-openpgp-stateless-cli,
 * section "Special Designators for Indirect Inputs and Outputs"): a file name, `@ENV:NAME` (input
 * only) or `@FD:N`.
 */
import { once } from 'node:events';
import { createReadStream, existsSync, fstatSync, readSync, write as writeFd, writeSync, writevSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { SigillError } from '../../core/index.ts';

const writeToFd = promisify(writeFd);

/** A Node readable as a pull-based web stream: one chunk is read only when the consumer asks for it. */
export function webStreamFromNode(readable: Readable): ReadableStream<Uint8Array> {
  const chunks = readable[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) {
          controller.close();
          return;
        }
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        // A plain Uint8Array view (no copy): some stream helpers treat Buffer differently.
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      },
      async cancel() {
        await chunks.return?.();
      },
    },
    { highWaterMark: 1 },
  );
}

let stdinReadable: Readable | undefined;

/**
 * Bytes per read when stdin is a regular file. process.stdin reads 64 KiB at a time; every chunk
 * then pays the per-chunk costs of several web-stream stages in OpenPGP.js and the core, so
 * larger reads cut that overhead (profiled with bench/crypto.ts: 1 MiB reads were ~15% faster
 * than 64 KiB but raised peak RSS by ~15 MiB; 512 KiB is in between). Pipes and terminals keep
 * process.stdin (a pipe delivers at most its buffer size per read anyway).
 */
const STDIN_FILE_CHUNK = 512 * 1024;

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

export function stdinStream(): ReadableStream<Uint8Array> {
  if (isRegularFile(0)) return regularFileStream(0);
  stdinReadable = process.stdin;
  return webStreamFromNode(stdinReadable);
}

let stdinReleased = false;

/**
 * A regular file read with synchronous calls, one STDIN_FILE_CHUNK per pull (so back-pressure is
 * exact). A one-shot command has nothing else to do while it waits, and the thread-pool round trip
 * of every asynchronous read left the process idle for about a tenth of `sop encrypt`'s time
 * (profiled with bench/crypto.ts). A readable byte stream: a default reader gets a fresh buffer per
 * chunk (consumers may keep views of it); a BYOB reader (the core's SEIPDv1 writer, with
 * reuseInputBuffer) has the file read into its own buffer, so no buffer is allocated per chunk.
 */
function regularFileStream(fd: number): ReadableStream<Uint8Array> {
  return new ReadableStream(
    {
      type: 'bytes',
      autoAllocateChunkSize: STDIN_FILE_CHUNK,
      pull(controller) {
        // Always set: a BYOB read's buffer, or one of autoAllocateChunkSize for a default read.
        const request = controller.byobRequest as ReadableStreamBYOBRequest;
        const view = request.view as Uint8Array;
        const bytesRead = stdinReleased ? 0 : readSync(fd, view, 0, view.byteLength, null);
        if (bytesRead === 0) controller.close();
        request.respond(bytesRead);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Whether stdin is a regular file (`< file`), read by regularFileStream as a byte stream. */
export function stdinIsFile(): boolean {
  return isRegularFile(0);
}

/** Stops reading stdin, so a command that failed half-way exits without waiting for its writer. */
export function releaseStdin(): void {
  stdinReleased = true;
  stdinReadable?.destroy();
}

/** Writes everything from `stream` to a Node writable, waiting for 'drain' (bounded memory). */
export async function pipeToNode(stream: ReadableStream<Uint8Array>, destination: Writable): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (!destination.write(value)) await once(destination, 'drain');
    }
  } finally {
    reader.releaseLock();
  }
}

export async function writeStdout(data: ReadableStream<Uint8Array> | Uint8Array | string): Promise<void> {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    if (!process.stdout.write(data)) await once(process.stdout, 'drain');
    return;
  }
  if (isRegularFile(1)) await writeStreamToFile(data, 1);
  else await pipeToNode(data, process.stdout);
}

/**
 * Pieces smaller than this are gathered into one vectored write (writev) with what follows: the
 * SEIPDv1 writer hands out one-octet partial length headers between its ciphertext pieces. Writes
 * stay at about this size: on ext4 here, writes of several MiB cost several times more per octet
 * (bench/crypto.ts; see also unnamed-file-sink.ts).
 */
const WRITE_GATHER = 256 * 1024;

/**
 * A stream to a regular file, synchronously (process.stdout writes to a file synchronously too,
 * through a Writable per chunk): a one-shot command has nothing else to do while it writes. The
 * pieces gathered are the stream's own chunks, which a producer does not reuse once handed out.
 */
async function writeStreamToFile(stream: ReadableStream<Uint8Array>, fd: number): Promise<void> {
  const reader = stream.getReader();
  let gathered: Uint8Array[] = [];
  let size = 0;
  const flush = (): void => {
    if (gathered.length === 1) writeAllSync(fd, gathered[0] as Uint8Array);
    else if (gathered.length > 1) {
      const written = writevSync(fd, gathered);
      // A short writev (a full disk, a signal): the rest one piece at a time, which throws if it cannot.
      if (written < size) {
        let skip = written;
        for (const piece of gathered) {
          if (skip >= piece.length) skip -= piece.length;
          else {
            writeAllSync(fd, piece.subarray(skip));
            skip = 0;
          }
        }
      }
    }
    gathered = [];
    size = 0;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      gathered.push(value);
      size += value.length;
      if (size >= WRITE_GATHER || gathered.length >= 64) flush();
    }
    flush();
  } finally {
    reader.releaseLock();
  }
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** Reads a whole (small) stream: keys, certificates, signatures. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return concatBytes(parts);
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const all = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return all;
}

async function readAllFromNode(readable: Readable): Promise<Uint8Array> {
  return collect(webStreamFromNode(readable));
}

type Designator = { kind: 'file'; path: string } | { kind: 'env'; name: string } | { kind: 'fd'; fd: number };

function parseDesignator(value: string, direction: 'input' | 'output'): Designator {
  if (!value.startsWith('@')) return { kind: 'file', path: value };
  // A file named like a designator would be silently shadowed: the draft calls this ambiguous.
  if (direction === 'input' && existsSync(value)) throw new SigillError('AMBIGUOUS_INPUT', { detail: value });
  const env = /^@ENV:(.+)$/.exec(value);
  if (env && direction === 'input') return { kind: 'env', name: env[1] as string };
  const fd = /^@FD:(\d+)$/.exec(value);
  if (fd) return { kind: 'fd', fd: Number(fd[1]) };
  throw new SigillError('UNSUPPORTED_SPECIAL_PREFIX', { detail: value });
}

/** The whole content of an indirect input (a key, a certificate, a signature, a password). */
export async function readIndirectInput(value: string): Promise<Uint8Array> {
  const designator = parseDesignator(value, 'input');
  switch (designator.kind) {
    case 'env': {
      const content = process.env[designator.name];
      if (content === undefined) throw new SigillError('INPUT_NOT_FOUND', { detail: `environment variable ${designator.name} is not set` });
      return new TextEncoder().encode(content);
    }
    case 'fd':
      return readAllFromNode(createReadStream('', { fd: designator.fd, autoClose: true }));
    case 'file': {
      if (!existsSync(designator.path)) throw new SigillError('INPUT_NOT_FOUND', { detail: designator.path });
      return readAllFromNode(createReadStream(designator.path));
    }
  }
}

/**
 * Fails early (before any work) when an indirect output cannot be written: an existing file is
 * OUTPUT_EXISTS (59), an `@ENV:` output UNSUPPORTED_SPECIAL_PREFIX (71).
 */
export function assertOutputWritable(value: string): void {
  const designator = parseDesignator(value, 'output');
  if (designator.kind === 'file' && existsSync(designator.path)) throw new SigillError('OUTPUT_EXISTS', { detail: designator.path });
}

export async function writeIndirectOutput(value: string, data: Uint8Array | string): Promise<void> {
  const designator = parseDesignator(value, 'output');
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  if (designator.kind === 'fd') {
    let offset = 0;
    while (offset < bytes.byteLength) {
      const { bytesWritten } = await writeToFd(designator.fd, bytes, offset, bytes.byteLength - offset);
      offset += bytesWritten;
    }
    return;
  }
  if (designator.kind !== 'file') throw new SigillError('UNSUPPORTED_SPECIAL_PREFIX', { detail: value });
  try {
    await writeFile(designator.path, bytes, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new SigillError('OUTPUT_EXISTS', { detail: designator.path, cause: error });
    throw error;
  }
}

