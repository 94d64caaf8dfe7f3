/**
 * What a durable accept costs on this disk, by spool design — the figures behind bench/relay.ts's
 * ratios, to decide where the relay's accept path can go. `npx tsx bench/relay-spool-designs.ts
 * [--messages N] [--writers W] [--size BYTES]`. Every design makes a message durable (fsync) before
 * it resolves, as a 250 requires; W writers run concurrently like W SMTP sessions.
 *
 *  current   src/relay/spool's Spool.add: staging dir, message file + one record file per recipient,
 *            each fsynced, staging dir fsynced, renamed into queue/, queue/ fsynced (4 fsyncs).
 *  one-file  envelope and message in one file: write, fsync, rename into queue/, and queue/ fsyncs
 *            coalesced across concurrent writers (1 fsync + a shared directory fsync).
 *  journal   group commit: writers append to one journal; all records waiting when a commit starts
 *            share one write + fdatasync (a write-ahead log, as databases do).
 */
import { mkdir, mkdtemp, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../src/relay/spool/index.ts';

interface Options {
  messages: number;
  writers: number;
  size: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { messages: 1000, writers: 10, size: 4096 };
  for (let index = 0; index < argv.length; index += 2) {
    const key = argv[index]?.replace(/^--/, '') as keyof Options | undefined;
    const value = Number(argv[index + 1]);
    if (key === undefined || !(key in options) || !Number.isInteger(value) || value < 1) {
      throw new Error('usage: bench/relay-spool-designs.ts [--messages N] [--writers W] [--size BYTES]');
    }
    options[key] = value;
  }
  return options;
}

type Commit = (envelope: { sender: string; recipients: string[] }, message: Buffer) => Promise<void>;

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Runs `work` for every waiter queued before it starts: one operation covers a whole batch. */
function batcher(work: (batch: number) => Promise<void>): () => Promise<void> {
  let running = false;
  let waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const loop = async (): Promise<void> => {
    running = true;
    while (waiters.length > 0) {
      const batch = waiters;
      waiters = [];
      try {
        await work(batch.length);
        for (const waiter of batch) waiter.resolve();
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    running = false;
  };
  return () =>
    new Promise<void>((resolve, reject) => {
      waiters.push({ resolve, reject });
      if (!running) void loop();
    });
}

async function currentDesign(dir: string): Promise<Commit> {
  const spool = new Spool({ dir });
  await spool.init();
  return async (envelope, message) => {
    await spool.add(envelope, message);
  };
}

async function oneFileDesign(dir: string): Promise<Commit> {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await mkdir(join(dir, 'queue'), { recursive: true });
  const syncQueue = batcher(() => fsyncDirectory(join(dir, 'queue')));
  let counter = 0;
  return async (envelope, message) => {
    const name = `${Date.now().toString(36)}-${(counter += 1)}`;
    const temp = join(dir, 'tmp', name);
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(Buffer.concat([Buffer.from(`${JSON.stringify(envelope)}\n`), message]));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, 'queue', name));
    await syncQueue();
  };
}

async function journalDesign(dir: string): Promise<{ commit: Commit; close(): Promise<void>; commits(): number }> {
  await mkdir(dir, { recursive: true });
  const journal: FileHandle = await open(join(dir, 'journal'), 'a', 0o600);
  await fsyncDirectory(dir);
  let pending: Buffer[] = [];
  let commits = 0;
  const flush = batcher(async () => {
    const records = pending;
    pending = [];
    await journal.write(Buffer.concat(records));
    await journal.datasync();
    commits += 1;
  });
  return {
    commit: async (envelope, message) => {
      const header = Buffer.from(`${JSON.stringify({ ...envelope, length: message.length })}\n`);
      pending.push(header, message);
      await flush();
    },
    close: () => journal.close(),
    commits: () => commits,
  };
}

async function drive(commit: Commit, options: Options): Promise<number> {
  const message = Buffer.alloc(options.size, 0x61);
  const envelope = { sender: 'sender@example.net', recipients: ['inbox@bench.test'] };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.writers }, async () => {
      while (next < options.messages) {
        next += 1;
        await commit(envelope, message);
      }
    }),
  );
  return options.messages / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'sigill-spool-designs-'));
  try {
    console.log(
      `durable accepts: ${options.messages} messages of ${options.size} octets, ${options.writers} concurrent writers, ` +
        `libuv threadpool ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
    );
    const current = await drive(await currentDesign(join(dir, 'current')), options);
    console.log(`  current   ${current.toFixed(0).padStart(6)} msg/s`);
    const oneFile = await drive(await oneFileDesign(join(dir, 'one-file')), options);
    console.log(`  one-file  ${oneFile.toFixed(0).padStart(6)} msg/s  (${(oneFile / current).toFixed(1)}x current)`);
    const journal = await journalDesign(join(dir, 'journal'));
    const grouped = await drive(journal.commit, options);
    await journal.close();
    console.log(
      `  journal   ${grouped.toFixed(0).padStart(6)} msg/s  (${(grouped / current).toFixed(1)}x current; ` +
        `${(options.messages / journal.commits()).toFixed(1)} messages per fdatasync)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench/relay-spool-designs: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
