/**
 * What a durable accept costs on this disk, by spool design — the figures behind bench/relay.ts's
 * ratios, to decide where the relay's accept path can go. `npx tsx bench/relay-spool-designs.ts
 * [--messages N] [--writers W] [--size BYTES] [--rounds R]`. The designs take turns, R rounds (the
 * order rotating, so that neither a cold start nor a change in machine load favours one); medians. Every design makes a message durable (fsync) before
 * it resolves, as a 250 requires; W writers run concurrently like W SMTP sessions.
 *
 *  current   src/relay/spool's Spool.add: envelope and message in one file written in tmp/, fsynced,
 *            renamed into queue/, and queue/'s fsyncs shared by the commits in flight (1 fsync + a
 *            share of a directory fsync per message).
 *  previous  the spool before that: a staging directory with the message file and one record file per
 *            recipient, each fsynced, the staging directory fsynced, renamed into queue/, queue/ fsynced
 *            (4 fsyncs per message).
 *  journal   group commit: writers append to one journal; all records waiting when a commit starts
 *            share one write + fdatasync (a write-ahead log, as databases do).
 */
import { mkdir, mkdtemp, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncPath } from '../src/relay/fsync.ts';
import { Spool } from '../src/relay/spool/index.ts';

interface Options {
  messages: number;
  writers: number;
  size: number;
  rounds: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { messages: 1000, writers: 10, size: 4096, rounds: 3 };
  for (let index = 0; index < argv.length; index += 2) {
    const key = argv[index]?.replace(/^--/, '') as keyof Options | undefined;
    const value = Number(argv[index + 1]);
    if (key === undefined || !(key in options) || !Number.isInteger(value) || value < 1) {
      throw new Error('usage: bench/relay-spool-designs.ts [--messages N] [--writers W] [--size BYTES] [--rounds R]');
    }
    options[key] = value;
  }
  return options;
}

type Commit = (envelope: { sender: string; recipients: string[] }, message: Buffer) => Promise<void>;

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

async function writeSynced(file: string, data: string | Buffer): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function previousDesign(dir: string): Promise<Commit> {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await mkdir(join(dir, 'queue'), { recursive: true });
  const syncQueue = batcher(() => fsyncPath(join(dir, 'queue')));
  let counter = 0;
  return async (envelope, message) => {
    const name = `${Date.now().toString(36)}-${(counter += 1)}`;
    const staging = join(dir, 'tmp', name);
    await mkdir(staging);
    await Promise.all([
      writeSynced(join(staging, 'message.eml'), message),
      ...envelope.recipients.map((recipient, index) => writeSynced(join(staging, `rcpt-${index}.json`), JSON.stringify({ recipient, sender: envelope.sender }))),
    ]);
    await fsyncPath(staging);
    await rename(staging, join(dir, 'queue', name));
    await syncQueue();
  };
}

async function journalDesign(dir: string): Promise<{ commit: Commit; close(): Promise<void>; commits(): number }> {
  await mkdir(dir, { recursive: true });
  const journal: FileHandle = await open(join(dir, 'journal'), 'a', 0o600);
  await fsyncPath(dir);
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
    const designs: { name: string; start(dir: string): Promise<{ commit: Commit; close(): Promise<number | undefined> }> }[] = [
      { name: 'current', start: async (path) => ({ commit: await currentDesign(path), close: async () => undefined }) },
      { name: 'previous', start: async (path) => ({ commit: await previousDesign(path), close: async () => undefined }) },
      {
        name: 'journal',
        start: async (path) => {
          const journal = await journalDesign(path);
          return { commit: journal.commit, close: async () => (await journal.close(), journal.commits()) };
        },
      },
    ];
    const rates = new Map<string, number[]>(designs.map((design) => [design.name, []]));
    let fsyncsPerJournal: number | undefined;
    for (let round = 0; round < options.rounds; round += 1) {
      for (let turn = 0; turn < designs.length; turn += 1) {
        const design = designs[(round + turn) % designs.length]!;
        const running = await design.start(join(dir, `${design.name}-${round}`));
        rates.get(design.name)?.push(await drive(running.commit, options));
        fsyncsPerJournal = (await running.close()) ?? fsyncsPerJournal;
      }
    }
    const median = (name: string): number => {
      const sorted = [...(rates.get(name) ?? [])].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    };
    const current = median('current');
    for (const { name } of designs) {
      const all = (rates.get(name) ?? []).map((rate) => rate.toFixed(0)).join(', ');
      const note = name === 'current' ? '' : `  ${(median(name) / current).toFixed(1)}x current`;
      const batch = name === 'journal' && fsyncsPerJournal ? `; ${(options.messages / fsyncsPerJournal).toFixed(1)} messages per fdatasync` : '';
      console.log(`  ${name.padEnd(9)} ${median(name).toFixed(0).padStart(6)} msg/s median (runs: ${all})${note}${batch}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench/relay-spool-designs: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
