/**
 * The fsync helpers the spool and the mailboxes share: a file or directory made durable by path,
 * and directory fsyncs coalesced across concurrent callers (group commit).
 */
import { open, type FileHandle } from 'node:fs/promises';

/** fsync of a file or directory by path (a directory fsync makes its new or removed entries durable). */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Directory fsyncs coalesced: every request made before a sync starts is covered by that sync, so N
 * concurrent renames or unlinks in one directory cost one or two directory fsyncs instead of N, and
 * no caller is answered by a sync that started before its own change.
 */
export class DirectorySync {
  private running = false;
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(readonly path: string) {}

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    // One handle for a burst of syncs (an fsync covers the directory as it is when the fsync runs,
    // whenever the handle was opened); closed as soon as nobody waits, so no descriptor is held idle.
    let handle: FileHandle | undefined;
    do {
      while (this.waiters.length > 0) {
        const batch = this.waiters.splice(0);
        try {
          handle ??= await open(this.path, 'r');
          await handle.sync();
          for (const waiter of batch) waiter.resolve();
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
          await handle?.close().catch(() => {});
          handle = undefined; // the next batch starts afresh
        }
      }
      await handle?.close().catch(() => {});
      handle = undefined;
      // Callers that came while the handle was closing are still waiting: serve them before stopping.
    } while (this.waiters.length > 0);
    this.running = false;
  }
}
