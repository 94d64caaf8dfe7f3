/**
 * The durable queue. Every accepted message is one file, and a recipient's state is a second file
 * only once it differs from the start (a retry was scheduled, or it is done while others are not):
 *
 *   <dir>/queue/<entryId>.msg       one JSON line (sender, recipients, createdAt), then the message
 *                                   as accepted (with our Received: header)
 *   <dir>/queue/<entryId>.<n>.json  recipient n's state: attempts, nextAttemptAt, lastError, or done
 *   <dir>/tmp/                      files being written; emptied at start (never acknowledged)
 *
 * Accepting is: write the file in tmp/, fsync it, rename it into queue/, fsync queue/. The rename is
 * the single commit point, so a crash leaves either nothing or a complete entry with its envelope —
 * never a half-written message and never a message without its recipients. The SMTP server answers
 * 250 only after the queue/ fsync returned, so the file's data and its directory entry are both on
 * disk. queue/'s fsyncs are shared by every rename, state change and removal in flight (group
 * commit), which is what makes concurrent sessions cheap: one file fsync per message plus a share of
 * one directory fsync, where Postfix pays one fsync per message too.
 *
 * Node's libuv thread pool stays at its default 4 threads: with UV_THREADPOOL_SIZE=16 more fsyncs ran at
 * once but each took longer and accepts got no faster on this disk (and src/cli/relay.ts could not set
 * it anyway: Node's module loader has started the pool before any of our code runs).
 *
 * A recipient that is done is recorded durably before it is forgotten; the last one removes the
 * message file (the entry's end) and then its state files. What a crash can leave behind (an entry
 * all of whose recipients are done, state files without a message) is cleaned up by list().
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DirectorySync } from '../fsync.ts';

export interface RecipientRecord {
  entryId: string;
  /** Position of the recipient in the envelope; names its state file. */
  index: number;
  recipient: string;
  /** Envelope sender; '' for the null sender (bounces). */
  sender: string;
  /** When the message was accepted (ms since epoch). */
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
}

export interface Envelope {
  sender: string;
  recipients: string[];
}

export interface SpoolWriter {
  readonly entryId: string;
  /** Appends message bytes (in order); the chunk is kept, not copied, until it is written. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the entry durable and visible; returns its recipient records. */
  commit(): Promise<RecipientRecord[]>;
  /** Drops everything written so far. Safe to call more than once or after a failed commit. */
  abort(): Promise<void>;
}

/** What the HTTP view may do with the queue: look, never change (the Spool is one). */
export interface SpoolReader {
  /** Entries with recipients left, oldest first, read from disk without changing anything. */
  entries(): Promise<SpoolEntry[]>;
}

/** One queued message as the HTTP view shows it. */
export interface SpoolEntry {
  entryId: string;
  /** Octets of the message (without the envelope line). */
  size: number;
  sender: string;
  createdAt: number;
  /** Recipients still to deliver, by index. */
  records: RecipientRecord[];
}

interface EnvelopeLine extends Envelope {
  createdAt: number;
}

/** Why a recipient could not be delivered (kept until the entry's one DSN is sent). */
export interface RecipientFailure {
  /** RFC 3463 status, e.g. `5.1.1`, `4.4.7` (expired). */
  statusCode: string;
  diagnostic: string;
  remoteMta?: string;
}

export interface FailedRecipient extends RecipientFailure {
  recipient: string;
}

/**
 * An entry whose recipients are all done, some of them failed: the queue sends one DSN for all of
 * them (RFC 3464: one report per message), then calls `finish()`. Until then the entry stays on disk,
 * so a crash before the DSN was spooled sends it after the restart.
 */
export interface FinishedEntry {
  entryId: string;
  sender: string;
  createdAt: number;
  failures: FailedRecipient[];
}

/** What a state file holds. */
type RecipientState =
  | { done: true; failure?: RecipientFailure }
  | { done?: false; attempts: number; nextAttemptAt: number; lastError?: string };

const MESSAGE_FILE = /^([A-Za-z0-9-]{1,64})\.msg$/;
const STATE_FILE = /^([A-Za-z0-9-]{1,64})\.(\d{1,6})\.json$/;
/** Message octets gathered in memory before they are written to the staging file. */
const WRITE_BUFFER = 64 * 1024;
/** Recently accepted messages kept in memory for their first delivery, at most this many octets. */
const RECENT_MESSAGES_BYTES = 16 * 1024 * 1024;
/** The envelope line of an entry is at most this long (many long recipients fit; a corrupt file stops here). */
const MAX_ENVELOPE_LINE = 4 * 1024 * 1024;

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function ignoreMissing(error: unknown): void {
  if (!isErrno(error, 'ENOENT')) throw error; // already removed (a repeated completion): fine
}

/** A spool file whose content is not what this code writes (hand-edited, another version, disk fault). */
export class SpoolCorruptError extends Error {
  override name = 'SpoolCorruptError';
}

const isText = (value: unknown): value is string => typeof value === 'string';

/** Checks a parsed state file field by field: a bad one would mis-schedule (NaN timers) or crash the queue. */
function validState(value: unknown): value is RecipientState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as Record<string, unknown>;
  if (state.done === true) {
    const failure = state.failure as Record<string, unknown> | undefined;
    return (
      failure === undefined ||
      (typeof failure === 'object' && failure !== null && isText(failure.statusCode) && isText(failure.diagnostic) && (failure.remoteMta === undefined || isText(failure.remoteMta)))
    );
  }
  return (
    (state.done === undefined || state.done === false) &&
    Number.isSafeInteger(state.attempts) &&
    (state.attempts as number) >= 0 &&
    Number.isFinite(state.nextAttemptAt) &&
    (state.lastError === undefined || isText(state.lastError))
  );
}

function newEntryId(): string {
  // Time first so that a directory listing is roughly arrival order.
  return `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
}

/** Reads an entry file's envelope line; `length` counts the line with its LF. */
async function readEnvelopeLine(file: string): Promise<{ envelope: EnvelopeLine; length: number; size: number }> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const chunks: Buffer[] = [];
    let read = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, MAX_ENVELOPE_LINE - read));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, read);
      const newline = chunk.subarray(0, bytesRead).indexOf(0x0a);
      if (newline >= 0) {
        chunks.push(chunk.subarray(0, newline));
        const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as EnvelopeLine;
        if (
          typeof envelope.sender !== 'string' ||
          !Array.isArray(envelope.recipients) ||
          !envelope.recipients.every((recipient) => typeof recipient === 'string') ||
          !Number.isFinite(envelope.createdAt)
        ) {
          throw new SpoolCorruptError(`${file}: not a spool entry`);
        }
        return { envelope, length: read + newline + 1, size };
      }
      if (bytesRead === 0 || read + bytesRead >= MAX_ENVELOPE_LINE) throw new SpoolCorruptError(`${file}: no envelope line`);
      chunks.push(chunk.subarray(0, bytesRead));
      read += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

interface LoadedEntry {
  entry: SpoolEntry;
  failures: FailedRecipient[];
  /** Indexes that have a state file. */
  stateFiles: Set<number>;
}

/** What the queue tracks of an entry while it is in memory: who is left and which state files exist. */
interface LiveEntry {
  pending: Set<number>;
  stateFiles: Set<number>;
  /** Whether a recipient of it failed (then its end needs a DSN). */
  failed: boolean;
}

export class Spool implements SpoolReader {
  readonly dir: string;
  private readonly tmpDir: string;
  private readonly queueDir: string;
  private readonly queueDirSync: DirectorySync;
  private readonly live = new Map<string, LiveEntry>();
  private unbounced: FinishedEntry[] = [];
  /** Recently committed small messages, oldest first (see remember()). */
  private readonly recent = new Map<string, Buffer>();
  private recentBytes = 0;
  /** Changes to one entry run one after another (a completion never races a state write). */
  private readonly entryLocks = new Map<string, Promise<void>>();

  constructor(options: { dir: string }) {
    this.dir = options.dir;
    this.tmpDir = path.join(options.dir, 'tmp');
    this.queueDir = path.join(options.dir, 'queue');
    this.queueDirSync = new DirectorySync(this.queueDir);
  }

  /** Creates the folders and removes what a crash left in tmp/ (never acknowledged to a client). */
  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    await mkdir(this.queueDir, { recursive: true, mode: 0o700 });
  }

  /**
   * Starts an entry; the envelope is known before DATA, so it goes first in the file. Writes are
   * gathered in memory up to WRITE_BUFFER octets, so that a typical message costs one open and one
   * write at commit rather than a thread-pool round trip per chunk (those queue behind fsyncs).
   */
  async createWriter({ sender, recipients }: Envelope): Promise<SpoolWriter> {
    const entryId = newEntryId();
    const staging = path.join(this.tmpDir, `${entryId}.msg`);
    const createdAt = Date.now();
    const line: EnvelopeLine = { sender, recipients, createdAt };
    const head = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
    let buffered: Uint8Array[] = [head];
    let bufferedBytes = head.length;
    let handle: FileHandle | undefined;
    let done = false;
    let whole: Buffer | undefined; // the entry file's bytes when one write held all of them
    const flush = async (): Promise<FileHandle> => {
      const data = Buffer.concat(buffered, bufferedBytes);
      whole = handle === undefined ? data : undefined;
      handle ??= await open(staging, 'w', 0o600);
      buffered = [];
      bufferedBytes = 0;
      for (let offset = 0; offset < data.length; ) {
        offset += (await handle.write(data, offset, data.length - offset)).bytesWritten;
      }
      return handle;
    };
    const closeHandle = async (): Promise<void> => {
      const current = handle;
      handle = undefined;
      await current?.close();
    };
    const abort = async (): Promise<void> => {
      done = true;
      buffered = [];
      await closeHandle().catch(() => {});
      await rm(staging, { force: true });
    };
    return {
      entryId,
      write: async (chunk) => {
        if (done) throw new Error('spool writer is closed');
        buffered.push(chunk);
        bufferedBytes += chunk.length;
        if (bufferedBytes >= WRITE_BUFFER) await flush();
      },
      commit: async () => {
        if (done) throw new Error('spool writer is closed');
        done = true;
        try {
          await (await flush()).sync();
          await closeHandle();
          await rename(staging, this.messageFile(entryId));
          this.live.set(entryId, { pending: new Set(recipients.keys()), stateFiles: new Set(), failed: false });
          await this.queueDirSync.sync();
          if (whole) this.remember(entryId, whole.subarray(head.length));
        } catch (error) {
          this.live.delete(entryId);
          await abort();
          // If the rename happened but its fsync failed, the entry must not linger unacknowledged
          // and then be delivered: the client is told to try again, so remove it.
          await unlink(this.messageFile(entryId)).catch(() => {});
          throw error;
        }
        return recipients.map((recipient, index): RecipientRecord => ({
          entryId, index, recipient, sender, createdAt, attempts: 0, nextAttemptAt: createdAt,
        }));
      },
      abort,
    };
  }

  /** Spools a whole message at once (bounces). */
  async add(envelope: Envelope, message: Uint8Array): Promise<RecipientRecord[]> {
    const writer = await this.createWriter(envelope);
    try {
      await writer.write(message);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer.commit();
  }

  /**
   * Every pending recipient record. Unreadable entries are reported, not fatal. Also finishes what a
   * crash interrupted: entries whose recipients are all done and state files without a message; an
   * entry that ended with failures before its DSN was sent is kept for `finishedWithFailures()`.
   */
  async list(onBadRecord?: (file: string, error: Error) => void): Promise<RecipientRecord[]> {
    const records: RecipientRecord[] = [];
    const { entries, orphans } = await this.scan(onBadRecord, { quarantine: true });
    this.unbounced = [];
    for (const { entry, stateFiles, failures } of entries) {
      if (entry.records.length === 0) {
        if (failures.length > 0) {
          this.live.set(entry.entryId, { pending: new Set(), stateFiles, failed: true });
          this.unbounced.push({ entryId: entry.entryId, sender: entry.sender, createdAt: entry.createdAt, failures });
        } else {
          await this.removeEntry(entry.entryId, stateFiles);
        }
        continue;
      }
      this.live.set(entry.entryId, { pending: new Set(entry.records.map((record) => record.index)), stateFiles, failed: failures.length > 0 });
      records.push(...entry.records);
    }
    for (const file of orphans) await unlink(path.join(this.queueDir, file)).catch(ignoreMissing);
    if (orphans.length > 0) await this.queueDirSync.sync();
    return records;
  }

  /** Entries found by the last `list()` that ended with failures and still need their DSN. */
  finishedWithFailures(): FinishedEntry[] {
    return this.unbounced.splice(0);
  }

  /** The queue as it is on disk, read-only (for the HTTP view): entries with recipients left, oldest first. */
  async entries(): Promise<SpoolEntry[]> {
    const { entries } = await this.scan();
    return entries.map(({ entry }) => entry).filter((entry) => entry.records.length > 0);
  }

  /** The message as accepted. The buffer may be shared with other callers: never change it. */
  async readMessage(entryId: string): Promise<Buffer> {
    const cached = this.recent.get(entryId);
    if (cached) return cached;
    const bytes = await readFile(this.messageFile(entryId));
    const newline = bytes.indexOf(0x0a);
    if (newline < 0) throw new Error(`${entryId}: no envelope line`);
    return bytes.subarray(newline + 1);
  }

  /** Persists a changed record (attempts, next attempt, last error) atomically. */
  async update(record: RecipientRecord): Promise<void> {
    const state: RecipientState = {
      attempts: record.attempts,
      nextAttemptAt: record.nextAttemptAt,
      ...(record.lastError === undefined ? {} : { lastError: record.lastError }),
    };
    await this.withEntry(record.entryId, () => this.writeState(record.entryId, record.index, state));
  }

  /**
   * The recipient is done: delivered, or failed for good (`failure`). The last one removes the entry,
   * unless some recipient failed: then the entry is returned for its one DSN and stays until
   * `finish()` (a failure is written durably first, so a crash cannot lose the bounce).
   */
  async complete(record: RecipientRecord, failure?: RecipientFailure): Promise<FinishedEntry | undefined> {
    let finished: FinishedEntry | undefined;
    await this.withEntry(record.entryId, async () => {
      const live = this.live.get(record.entryId) ?? (await this.loadLive(record.entryId));
      live?.pending.delete(record.index);
      if (failure !== undefined && live) live.failed = true;
      if ((live && live.pending.size > 0) || (live?.failed ?? false)) {
        await this.writeState(record.entryId, record.index, failure === undefined ? { done: true } : { done: true, failure });
      }
      if (live && live.pending.size > 0) return;
      if (live?.failed) {
        const loaded = await this.loadEntry(record.entryId, live.stateFiles);
        finished = { entryId: record.entryId, sender: loaded.entry.sender, createdAt: loaded.entry.createdAt, failures: loaded.failures };
        return;
      }
      this.live.delete(record.entryId);
      await this.removeEntry(record.entryId, live?.stateFiles ?? new Set());
    });
    return finished;
  }

  /** Removes an entry returned by `complete()` or `finishedWithFailures()` once its DSN is spooled. */
  async finish(entryId: string): Promise<void> {
    await this.withEntry(entryId, async () => {
      const live = this.live.get(entryId);
      this.live.delete(entryId);
      await this.removeEntry(entryId, live?.stateFiles ?? (await this.stateFilesOf(entryId)));
    });
  }

  /**
   * Keeps a just-committed small message in memory, so that its deliveries need not read back what
   * was written a moment ago (four thread-pool round trips that queue behind fsyncs). Bounded: the
   * oldest go first; whatever is not here is read from the file (always, after a restart).
   */
  private remember(entryId: string, message: Buffer): void {
    this.recent.set(entryId, message);
    this.recentBytes += message.length;
    for (const [oldest, bytes] of this.recent) {
      if (this.recentBytes <= RECENT_MESSAGES_BYTES) break;
      this.forget(oldest, bytes);
    }
  }

  private forget(entryId: string, bytes = this.recent.get(entryId)): void {
    if (bytes === undefined || !this.recent.delete(entryId)) return;
    this.recentBytes -= bytes.length;
  }

  private messageFile(entryId: string): string {
    return path.join(this.queueDir, `${entryId}.msg`);
  }

  private stateFile(entryId: string, index: number): string {
    return path.join(this.queueDir, `${entryId}.${index}.json`);
  }

  private async withEntry(entryId: string, change: () => Promise<void>): Promise<void> {
    const previous = this.entryLocks.get(entryId) ?? Promise.resolve();
    const current = previous.then(change, change);
    const settled = current.catch(() => {});
    this.entryLocks.set(entryId, settled);
    try {
      await current;
    } finally {
      if (this.entryLocks.get(entryId) === settled) this.entryLocks.delete(entryId);
    }
  }

  /** State file: written in tmp/, fsynced, renamed over the old one, queue/ fsynced (shared). */
  private async writeState(entryId: string, index: number, state: RecipientState): Promise<void> {
    const temp = path.join(this.tmpDir, `${entryId}.${index}.${randomBytes(4).toString('hex')}.json`);
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.stateFile(entryId, index));
    this.live.get(entryId)?.stateFiles.add(index);
    await this.queueDirSync.sync();
  }

  /** The message file goes first: once it is gone the entry is finished whatever else a crash leaves. */
  private async removeEntry(entryId: string, stateFiles: Set<number>): Promise<void> {
    this.forget(entryId);
    await unlink(this.messageFile(entryId)).catch(ignoreMissing);
    await Promise.all([...stateFiles].map((index) => unlink(this.stateFile(entryId, index)).catch(ignoreMissing)));
    await this.queueDirSync.sync();
  }

  private async loadLive(entryId: string): Promise<LiveEntry | undefined> {
    const loaded = await this.loadEntry(entryId, await this.stateFilesOf(entryId)).catch((error: unknown) => {
      ignoreMissing(error);
      return undefined;
    });
    if (!loaded) return undefined;
    return { pending: new Set(loaded.entry.records.map((record) => record.index)), stateFiles: loaded.stateFiles, failed: loaded.failures.length > 0 };
  }

  private async stateFilesOf(entryId: string): Promise<Set<number>> {
    const indexes = new Set<number>();
    for (const file of await readdir(this.queueDir)) {
      const match = STATE_FILE.exec(file);
      if (match?.[1] === entryId) indexes.add(Number(match[2]));
    }
    return indexes;
  }

  private async loadEntry(entryId: string, stateFiles: Set<number>): Promise<LoadedEntry> {
    const file = this.messageFile(entryId);
    const { envelope, length, size } = await readEnvelopeLine(file);
    const states = new Map<number, RecipientState>();
    for (const index of stateFiles) {
      let text: string;
      try {
        text = await readFile(this.stateFile(entryId, index), 'utf8');
      } catch (error) {
        ignoreMissing(error); // completed meanwhile (the view reads while the queue works)
        continue;
      }
      let state: unknown;
      try {
        state = JSON.parse(text);
      } catch {
        throw new SpoolCorruptError(`${this.stateFile(entryId, index)}: not JSON`);
      }
      if (!validState(state) || index >= envelope.recipients.length) throw new SpoolCorruptError(`${this.stateFile(entryId, index)}: invalid recipient state`);
      states.set(index, state);
    }
    const records: RecipientRecord[] = [];
    const failures: FailedRecipient[] = [];
    envelope.recipients.forEach((recipient, index) => {
      const state = states.get(index);
      if (state?.done === true) {
        if (state.failure !== undefined) failures.push({ recipient, ...state.failure });
        return;
      }
      records.push({
        entryId,
        index,
        recipient,
        sender: envelope.sender,
        createdAt: envelope.createdAt,
        attempts: state?.attempts ?? 0,
        nextAttemptAt: state?.nextAttemptAt ?? envelope.createdAt,
        ...(state?.lastError === undefined ? {} : { lastError: state.lastError }),
      });
    });
    return { entry: { entryId, size: size - length, sender: envelope.sender, createdAt: envelope.createdAt, records }, stateFiles, failures };
  }

  /**
   * Moves an entry that cannot be trusted (message file and state files) to `<dir>/quarantine/`, out
   * of the queue's way but kept for an operator; returns where it went.
   */
  private async quarantine(entryId: string, stateFiles: Set<number>): Promise<string> {
    const target = path.join(this.dir, 'quarantine');
    await mkdir(target, { recursive: true, mode: 0o700 });
    const files = [`${entryId}.msg`, ...[...stateFiles].map((index) => `${entryId}.${index}.json`)];
    for (const file of files) await rename(path.join(this.queueDir, file), path.join(target, file)).catch(ignoreMissing);
    await this.queueDirSync.sync();
    return target;
  }

  private async scan(onBadRecord?: (file: string, error: Error) => void, options: { quarantine: boolean } = { quarantine: false }): Promise<{ entries: LoadedEntry[]; orphans: string[] }> {
    let files: string[];
    try {
      files = await readdir(this.queueDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { entries: [], orphans: [] };
      throw error;
    }
    const messages: string[] = [];
    const stateFiles = new Map<string, { file: string; index: number }[]>();
    for (const file of files) {
      const message = MESSAGE_FILE.exec(file);
      const state = STATE_FILE.exec(file);
      if (message?.[1] !== undefined) messages.push(message[1]);
      else if (state?.[1] !== undefined) stateFiles.set(state[1], [...(stateFiles.get(state[1]) ?? []), { file, index: Number(state[2]) }]);
      // Not ours (e.g. an entry directory of the earlier one-directory-per-message layout): said, left alone.
      else onBadRecord?.(path.join(this.queueDir, file), new Error('not a spool file of this layout; left in place'));
    }
    const entries: LoadedEntry[] = [];
    for (const entryId of messages.sort()) {
      const indexes = new Set((stateFiles.get(entryId) ?? []).map((state) => state.index));
      stateFiles.delete(entryId);
      try {
        entries.push(await this.loadEntry(entryId, indexes));
      } catch (error) {
        // Removed meanwhile (the view reads while the queue works) is not an error.
        if (isErrno(error, 'ENOENT')) continue;
        if (options.quarantine && (error instanceof SpoolCorruptError || error instanceof SyntaxError)) {
          const where = await this.quarantine(entryId, indexes);
          onBadRecord?.(this.messageFile(entryId), new Error(`${(error as Error).message}; moved to ${where}`));
        } else {
          onBadRecord?.(this.messageFile(entryId), error as Error);
        }
      }
    }
    const orphans = [...stateFiles.values()].flat().map((state) => state.file);
    return { entries, orphans };
  }
}

