/**
 * The durable queue. Every accepted message is one directory:
 *
 *   <dir>/queue/<entryId>/message.eml    the message as accepted (with our Received: header)
 *   <dir>/queue/<entryId>/rcpt-<n>.json  one record per recipient still to deliver
 *
 * The directory is built under <dir>/tmp/, every file and the directory itself fsynced, and then
 * renamed into queue/ (and queue/ fsynced) before the SMTP server answers 250: that rename is the
 * single commit point, so a crash leaves either nothing (tmp/ is emptied at start) or a complete
 * entry — never a half-written message and never a message without its recipients. A delivered
 * recipient's record is unlinked; the last one takes the message and the directory with it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface RecipientRecord {
  entryId: string;
  /** Position of the recipient in the envelope; names its record file. */
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

export interface SpoolWriter {
  readonly entryId: string;
  /** Appends message bytes (in order). */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the entry durable and visible; returns its recipient records. */
  commit(envelope: { sender: string; recipients: string[] }): Promise<RecipientRecord[]>;
  /** Drops everything written so far. Safe to call more than once or after a failed commit. */
  abort(): Promise<void>;
}

const MESSAGE_FILE = 'message.eml';
const RECORD_FILE = /^rcpt-(\d+)\.json$/;

async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * fsync of one directory, shared by concurrent callers: a caller waits for a sync that *started*
 * after its call, so it covers the caller's rename or unlink; callers that arrive while one is
 * running share the next one (group commit), which keeps parallel sessions from queueing fsyncs.
 */
class DirectorySync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  sync(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) return this.start();
    this.next = this.running.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<void> {
    const run = fsyncPath(this.dir).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error; // a concurrent complete() removed the entry: fine
}

function newEntryId(): string {
  // Time first so that a directory listing is roughly arrival order.
  return `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
}

export class Spool {
  readonly dir: string;
  private readonly tmpDir: string;
  private readonly queueDir: string;
  private readonly queueDirSync: DirectorySync;

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

  async createWriter(): Promise<SpoolWriter> {
    const entryId = newEntryId();
    const staging = path.join(this.tmpDir, entryId);
    await mkdir(staging, { mode: 0o700 });
    let handle: FileHandle | undefined = await open(path.join(staging, MESSAGE_FILE), 'w', 0o600);
    let done = false;
    const closeHandle = async (): Promise<void> => {
      const current = handle;
      handle = undefined;
      await current?.close();
    };
    const abort = async (): Promise<void> => {
      done = true;
      await closeHandle().catch(() => {});
      await rm(staging, { recursive: true, force: true });
    };
    return {
      entryId,
      write: async (chunk) => {
        if (!handle) throw new Error('spool writer is closed');
        await handle.write(chunk);
      },
      commit: async ({ sender, recipients }) => {
        if (done || !handle) throw new Error('spool writer is closed');
        done = true;
        try {
          const message = handle;
          const createdAt = Date.now();
          const records = recipients.map((recipient, index): RecipientRecord => ({
            entryId, index, recipient, sender, createdAt, attempts: 0, nextAttemptAt: createdAt,
          }));
          // The message and its records are fsynced in parallel (the kernel can fold them into one
          // journal commit), then the staging directory, then the rename is made durable.
          await Promise.all([
            message.sync().then(closeHandle),
            ...records.map((record) => writeFileSynced(path.join(staging, `rcpt-${record.index}.json`), JSON.stringify(record))),
          ]);
          await fsyncPath(staging);
          await rename(staging, path.join(this.queueDir, entryId));
          await this.queueDirSync.sync();
          return records;
        } catch (error) {
          await abort();
          throw error;
        }
      },
      abort,
    };
  }

  /** Spools a whole message at once (bounces). */
  async add(envelope: { sender: string; recipients: string[] }, message: Uint8Array): Promise<RecipientRecord[]> {
    const writer = await this.createWriter();
    try {
      await writer.write(message);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer.commit(envelope);
  }

  /** Every pending recipient record. Unreadable records are reported, not fatal. */
  async list(onBadRecord?: (file: string, error: Error) => void): Promise<RecipientRecord[]> {
    const records: RecipientRecord[] = [];
    for (const entryId of (await readdir(this.queueDir)).sort()) {
      const entryDir = path.join(this.queueDir, entryId);
      let files: string[];
      try {
        files = await readdir(entryDir);
      } catch (error) {
        onBadRecord?.(entryDir, error as Error);
        continue;
      }
      for (const file of files) {
        if (!RECORD_FILE.test(file)) continue;
        try {
          records.push(JSON.parse(await readFile(path.join(entryDir, file), 'utf8')) as RecipientRecord);
        } catch (error) {
          onBadRecord?.(path.join(entryDir, file), error as Error);
        }
      }
      if (!files.some((file) => RECORD_FILE.test(file))) {
        // Its last recipient was completed but the crash came before the clean-up.
        await rm(entryDir, { recursive: true, force: true });
      }
    }
    return records;
  }

  readMessage(entryId: string): Promise<Buffer> {
    return readFile(path.join(this.queueDir, entryId, MESSAGE_FILE));
  }

  messagePath(entryId: string): string {
    return path.join(this.queueDir, entryId, MESSAGE_FILE);
  }

  /** Persists a changed record (attempts, next attempt) atomically: temp file + rename. */
  async update(record: RecipientRecord): Promise<void> {
    const entryDir = path.join(this.queueDir, record.entryId);
    const temp = path.join(entryDir, `rcpt-${record.index}.json.tmp`);
    await writeFileSynced(temp, JSON.stringify(record));
    await rename(temp, path.join(entryDir, `rcpt-${record.index}.json`));
    await fsyncPath(entryDir);
  }

  /** The recipient is done (delivered or bounced); the last one removes the message. */
  async complete(record: RecipientRecord): Promise<void> {
    const entryDir = path.join(this.queueDir, record.entryId);
    await unlink(path.join(entryDir, `rcpt-${record.index}.json`)).catch(ignoreMissing);
    const remaining = await readdir(entryDir).catch(() => [] as string[]);
    if (remaining.some((file) => RECORD_FILE.test(file))) {
      // Another recipient removes the directory later; this unlink must be durable on its own.
      await fsyncPath(entryDir).catch(ignoreMissing);
      return;
    }
    await rm(entryDir, { recursive: true, force: true });
    await this.queueDirSync.sync();
  }
}
