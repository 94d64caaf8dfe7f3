/**
 * I/O plumbing of `sigill sop`: stdin/stdout as web streams with backpressure (never reading a large
 * input whole), and the draft's indirect inputs and outputs (draft-dkg-openpgp-stateless-cli,
 * section "Special Designators for Indirect Inputs and Outputs"): a file name, `@ENV:NAME` (input
 * only) or `@FD:N`.
 */
import { once } from 'node:events';
import { createReadStream, existsSync, fstatSync, readSync, write as writeFd } from 'node:fs';
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
 * (profiled with bench/crypto.ts). Each chunk is a fresh buffer: consumers may keep views of it.
 */
function regularFileStream(fd: number): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (stdinReleased) {
          controller.close();
          return;
        }
        const chunk = Buffer.allocUnsafe(STDIN_FILE_CHUNK);
        const bytesRead = readSync(fd, chunk, 0, chunk.length, null);
        if (bytesRead === 0) controller.close();
        else controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, bytesRead));
      },
    },
    { highWaterMark: 0 },
  );
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
  await pipeToNode(data, process.stdout);
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

