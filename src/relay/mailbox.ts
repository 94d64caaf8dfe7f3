/**
 * Per-user mailboxes on disk: what the relay delivers locally and what POP3 and the HTTP view read.
 *
 * Layout (`dir` is the relay's data directory):
 *
 *   <dir>/mailboxes/<encoded address>/msg/<id>     one file per message, the bytes exactly as delivered
 *   <dir>/mailboxes/<encoded address>/tmp/         temporary files, renamed into msg/ once fsynced
 *   <dir>/mailboxes/<encoded address>/lock         the POP3 maildrop lock (O_EXCL, holds "pid token")
 *
 * Delivery is atomic (temp file + fsync + rename + directory fsync): a reader sees a whole message or
 * none. Delivering the same id twice stores it once, which gives the spool exactly-once delivery when it
 * retries after a crash with a stable id per queue entry and recipient.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DirectorySync, fsyncPath } from './fsync.ts';

export interface StoredMessage {
  /** The file name under msg/; also the id the HTTP view and `read` use. */
  id: string;
  /** Size in octets, exactly as stored. */
  size: number;
  /** RFC 1939 §7 unique-id: 1 to 70 characters in 0x21..0x7E, the same in every session. */
  uidl: string;
  /** When the message was delivered (the file's modification time). */
  received: Date;
}

export interface MailboxLock {
  readonly address: string;
  /** Gives the maildrop back; safe to call more than once. */
  release(): Promise<void>;
}

export interface MailboxStoreOptions {
  /** The relay's data directory; mailboxes live in `<dir>/mailboxes/`. */
  dir: string;
}

export interface DeliverOptions {
  /** A stable id (e.g. queue entry + recipient): delivering the same id again is a no-op. */
  id?: string;
}

/** Ids are file names we trust: letters, digits, `.`, `_`, `-`, not starting with `.`, at most 128. */
const ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets; an address at most 254. */
const MAX_ADDRESS_LENGTH = 254;
/** A lock file that stays empty longer than this belongs to a process that died while creating it. */
const EMPTY_LOCK_GRACE_MS = 10_000;
/** A temp file this old is left over from a crash (a delivery writes and renames within seconds). */
const STALE_TEMP_FILE_MS = 60 * 60_000;

export class MailboxError extends Error {
  constructor(
    message: string,
    readonly code: 'BAD_ADDRESS' | 'BAD_ID' | 'NOT_FOUND',
  ) {
    super(message);
    this.name = 'MailboxError';
  }
}

export function isValidMessageId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Addresses are compared case-insensitively (a household relay has no case-sensitive local parts). */
export function normaliseAddress(address: string): string {
  const normalised = address.trim().toLowerCase();
  // Control characters, path separators and NUL never belong in an address we store mail for.
  // eslint-disable-next-line no-control-regex
  if (normalised.length === 0 || normalised.length > MAX_ADDRESS_LENGTH || /[\x00-\x1f\x7f/\\]/.test(normalised)) {
    throw new MailboxError(`not a valid mailbox address: ${JSON.stringify(address.slice(0, 80))}`, 'BAD_ADDRESS');
  }
  return normalised;
}

/**
 * Encodes an address as one safe directory name: `[a-z0-9@_+-]` stay, `.` stays unless first (so never
 * `.` or `..`), everything else becomes `%XX` of its UTF-8 bytes. Reversible, so `mailboxes()` can list.
 */
export function encodeAddressForPath(address: string): string {
  const bytes = Buffer.from(normaliseAddress(address), 'utf8');
  let encoded = '';
  for (const [index, byte] of bytes.entries()) {
    const char = String.fromCharCode(byte);
    const plain = /[a-z0-9@_+-]/.test(char) || (char === '.' && index > 0);
    encoded += plain && byte < 0x80 ? char : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return encoded;
}

export function decodeAddressFromPath(name: string): string | undefined {
  if (!/^[a-z0-9@_+.%-]+$/.test(name) || name.startsWith('.')) return undefined;
  try {
    const decoded = decodeURIComponent(name);
    return encodeAddressForPath(decoded) === name ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 1939 §7: the id itself when it fits, else a digest of it (also printable, 64 characters). */
function uidlFor(id: string): string {
  return id.length <= 70 ? id : createHash('sha256').update(id).digest('hex');
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return isErrno(error, 'EPERM');
  }
}

/**
 * Lock-file contents held by this process. A lock file with our own pid but a token not in here was
 * left by an earlier process that had the same pid (a container's PID 1 after a restart): stale.
 */
const heldLockTokens = new Set<string>();

let idCounter = 0;

/** Sortable by delivery time within this process: base36 time, a counter, and randomness. */
function newMessageId(): string {
  idCounter = (idCounter + 1) % 1_679_616;
  return `${Date.now().toString(36).padStart(9, '0')}-${idCounter.toString(36).padStart(4, '0')}-${randomBytes(6).toString('hex')}`;
}

export class MailboxStore {
  readonly root: string;
  /** Mailbox directories known to exist (and be fsynced into their parent) in this instance. */
  private readonly created = new Set<string>();
  private readonly syncers = new Map<string, DirectorySync>();

  constructor(options: MailboxStoreOptions) {
    this.root = join(options.dir, 'mailboxes');
  }

  private mailboxDir(address: string): string {
    return join(this.root, encodeAddressForPath(address));
  }

  private syncDirectory(path: string): Promise<void> {
    let syncer = this.syncers.get(path);
    if (syncer === undefined) {
      syncer = new DirectorySync(path);
      this.syncers.set(path, syncer);
    }
    return syncer.sync();
  }

  private messagePath(address: string, id: string): string {
    if (!isValidMessageId(id)) throw new MailboxError(`not a valid message id: ${JSON.stringify(id.slice(0, 80))}`, 'BAD_ID');
    return join(this.mailboxDir(address), 'msg', id);
  }

  /** Creates the mailbox directories once, fsyncing each new entry into its parent. */
  private async ensureMailbox(address: string): Promise<string> {
    const dir = this.mailboxDir(address);
    if (this.created.has(dir)) return dir;
    // 0700 like the data directory: mail is readable by the relay's own user only. `mode` applies
    // to directories mkdir creates; ones left by an older version are tightened too.
    await mkdir(join(dir, 'msg'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o700 });
    for (const path of [this.root, dir, join(dir, 'msg'), join(dir, 'tmp')]) await chmod(path, 0o700);
    await fsyncPath(dir);
    await fsyncPath(this.root);
    await fsyncPath(dirname(this.root));
    this.created.add(dir);
    await this.sweepTemporaryFiles(join(dir, 'tmp'));
    return dir;
  }

  /** Removes temp files a crash left behind (old enough that no live delivery still writes them). */
  private async sweepTemporaryFiles(tmpDir: string): Promise<void> {
    const names = await readdir(tmpDir).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined && Date.now() - info.mtimeMs > STALE_TEMP_FILE_MS) await unlink(path).catch(() => undefined);
    }
  }

  async deliver(address: string, message: Uint8Array, options: DeliverOptions = {}): Promise<string> {
    const id = options.id ?? newMessageId();
    const finalPath = this.messagePath(address, id);
    const dir = await this.ensureMailbox(address);
    if (options.id !== undefined && (await this.exists(finalPath))) {
      // Delivered before, maybe just before a crash: make sure its directory entry is durable too.
      await this.syncDirectory(join(dir, 'msg'));
      return id;
    }

    const tempPath = join(dir, 'tmp', `${id}.${process.pid}.${randomBytes(6).toString('hex')}`);
    const handle = await open(tempPath, 'wx', 0o600);
    try {
      await handle.writeFile(message);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(tempPath).catch(() => undefined);
      throw error;
    }
    await handle.close();
    // rename() is atomic: a concurrent delivery of the same id leaves one whole copy either way.
    await rename(tempPath, finalPath);
    await this.syncDirectory(join(dir, 'msg'));
    return id;
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /** Oldest first (nanosecond modification time, then id). An unknown mailbox is empty. */
  async list(address: string): Promise<StoredMessage[]> {
    const msgDir = join(this.mailboxDir(address), 'msg');
    let names: string[];
    try {
      names = await readdir(msgDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const entries: { message: StoredMessage; order: bigint }[] = [];
    for (const name of names) {
      if (!isValidMessageId(name)) continue;
      try {
        const info = await stat(join(msgDir, name), { bigint: true });
        if (!info.isFile()) continue;
        entries.push({
          message: { id: name, size: Number(info.size), uidl: uidlFor(name), received: new Date(Number(info.mtimeMs)) },
          order: info.mtimeNs,
        });
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error; // removed meanwhile
      }
    }
    entries.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : a.message.id < b.message.id ? -1 : 1));
    return entries.map((entry) => entry.message);
  }

  /** One message's listing entry, or undefined when it does not exist. */
  async info(address: string, id: string): Promise<StoredMessage | undefined> {
    try {
      const info = await stat(this.messagePath(address, id));
      return info.isFile() ? { id, size: info.size, uidl: uidlFor(id), received: info.mtime } : undefined;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async read(address: string, id: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.messagePath(address, id)));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new MailboxError('no such message', 'NOT_FOUND');
      throw error;
    }
  }

  /** For large messages: a stream of the stored bytes (opened before it resolves, so NOT_FOUND is early). */
  async readStream(address: string, id: string): Promise<ReadStream> {
    const path = this.messagePath(address, id);
    try {
      const handle = await open(path, 'r');
      return handle.createReadStream({ autoClose: true, highWaterMark: 64 * 1024 });
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new MailboxError('no such message', 'NOT_FOUND');
      throw error;
    }
  }

  /** Removes the messages; ids already gone are ignored. */
  async remove(address: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) {
      try {
        await unlink(this.messagePath(address, id));
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
    await this.syncDirectory(join(this.mailboxDir(address), 'msg')).catch((error: unknown) => {
      if (!isErrno(error, 'ENOENT')) throw error;
    });
  }

  /** Every address that has a mailbox directory, sorted. */
  async mailboxes(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    return names
      .map((name) => decodeAddressFromPath(name))
      .filter((address): address is string => address !== undefined)
      .sort();
  }

  /**
   * The maildrop lock (RFC 1939 §4: exclusive access while in TRANSACTION): an O_EXCL lock file with
   * "pid token", so it also holds across processes. A lock whose pid is dead is stale and taken over.
   * Resolves undefined when someone else holds it.
   */
  async lock(address: string): Promise<MailboxLock | undefined> {
    const normalised = normaliseAddress(address);
    const dir = await this.ensureMailbox(normalised);
    const lockPath = join(dir, 'lock');
    const token = `${process.pid} ${randomBytes(12).toString('hex')}\n`;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const handle = await open(lockPath, 'wx', 0o600);
        try {
          await handle.writeFile(token);
        } finally {
          await handle.close();
        }
        heldLockTokens.add(token);
        return this.heldLock(normalised, lockPath, token);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      if (!(await this.breakStaleLock(lockPath))) return undefined;
    }
    return undefined;
  }

  private heldLock(address: string, lockPath: string, token: string): MailboxLock {
    let released = false;
    return {
      address,
      release: async () => {
        if (released) return;
        released = true;
        heldLockTokens.delete(token);
        // Only remove the file if it is still ours (it always should be).
        const content = await readFile(lockPath, 'utf8').catch(() => undefined);
        if (content === token) await unlink(lockPath).catch(() => undefined);
      },
    };
  }

  /** True when the lock at lockPath was stale and has been moved away (the caller retries). */
  private async breakStaleLock(lockPath: string): Promise<boolean> {
    let content: string;
    let ageMs: number;
    try {
      content = await readFile(lockPath, 'utf8');
      ageMs = Date.now() - (await stat(lockPath)).mtimeMs;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return true; // released meanwhile: try again
      throw error;
    }
    const pid = Number.parseInt(content.split(' ')[0] ?? '', 10);
    const stale = !Number.isSafeInteger(pid) || pid <= 0
      ? ageMs > EMPTY_LOCK_GRACE_MS
      : pid === process.pid
        ? !heldLockTokens.has(content)
        : !processIsAlive(pid);
    if (!stale) return false;
    // Move it aside rather than unlink, then check we moved the stale one and not a fresh lock that
    // another process created between our read and our rename; put a fresh one back.
    const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(lockPath, aside);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return true;
      throw error;
    }
    const moved = await readFile(aside, 'utf8').catch(() => '');
    if (moved !== content) {
      await rename(aside, lockPath).catch(() => undefined);
      return false;
    }
    await unlink(aside).catch(() => undefined);
    return true;
  }
}
