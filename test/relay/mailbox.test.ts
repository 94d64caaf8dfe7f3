import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.ts';
import { decodeAddressFromPath, encodeAddressForPath, MailboxStore } from '../../src/relay/mailbox.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

describe('MailboxStore', () => {
  let dir: string;
  let store: MailboxStore;

  beforeEach(async () => {
    dir = await tempDir('sigill-mailbox-');
    store = new MailboxStore({ dir });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates mailbox directories readable by the relay\'s user only (0700)', async () => {
    await store.deliver('alice@example.org', bytes('x'));
    for (const path of ['mailboxes', 'mailboxes/alice@example.org', 'mailboxes/alice@example.org/msg', 'mailboxes/alice@example.org/tmp']) {
      expect((await stat(join(dir, path))).mode & 0o777, path).toBe(0o700);
    }
  });

  it('delivers atomically into <dir>/mailboxes/<address>/msg and leaves no temp file', async () => {
    const id = await store.deliver('Alice@Example.org', bytes('Subject: hi\r\n\r\nbody\r\n'));
    expect(await readdir(join(dir, 'mailboxes', 'alice@example.org', 'msg'))).toEqual([id]);
    expect(await readdir(join(dir, 'mailboxes', 'alice@example.org', 'tmp'))).toEqual([]);
    expect(text(await store.read('alice@example.org', id))).toBe('Subject: hi\r\n\r\nbody\r\n');
    expect(await store.mailboxes()).toEqual(['alice@example.org']);
  });

  it('never shows what a crash left half-written, and sweeps old temp files', async () => {
    await store.deliver('a@x.test', bytes('whole'));
    const box = join(dir, 'mailboxes', 'a@x.test');
    await writeFile(join(box, 'tmp', 'crashed.123.abc'), 'half a mess');
    await writeFile(join(box, 'tmp', 'in-flight.456.def'), 'being written');
    await writeFile(join(box, 'msg', '.not-an-id'), 'junk');
    expect((await store.list('a@x.test')).map((m) => m.size)).toEqual([5]);
    const hoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(box, 'tmp', 'crashed.123.abc'), hoursAgo, hoursAgo);
    await new MailboxStore({ dir }).deliver('a@x.test', bytes('next'));
    expect(await readdir(join(box, 'tmp'))).toEqual(['in-flight.456.def']);
  });

  it('lists oldest first with size, received and a stable RFC 1939 uidl', async () => {
    const first = await store.deliver('a@x.test', bytes('one\r\n'));
    const second = await store.deliver('a@x.test', bytes('second\r\n'));
    const third = await store.deliver('a@x.test', bytes('x'), { id: `q-${'9'.repeat(100)}` });
    const listed = await store.list('a@x.test');
    expect(listed.map((m) => m.id)).toEqual([first, second, third]);
    expect(listed.map((m) => m.size)).toEqual([5, 8, 1]);
    for (const message of listed) {
      expect(message.uidl).toMatch(/^[\x21-\x7e]{1,70}$/);
      expect(message.received).toBeInstanceOf(Date);
    }
    const again = await new MailboxStore({ dir }).list('a@x.test');
    expect(again.map((m) => m.uidl)).toEqual(listed.map((m) => m.uidl));
  });

  it('is idempotent for a given id (exactly-once for the spool)', async () => {
    await store.deliver('a@x.test', bytes('first copy'), { id: 'queue1-rcpt0' });
    const id = await store.deliver('a@x.test', bytes('first copy'), { id: 'queue1-rcpt0' });
    expect(id).toBe('queue1-rcpt0');
    expect((await store.list('a@x.test')).length).toBe(1);
  });

  it('removes messages and reads streams', async () => {
    const a = await store.deliver('a@x.test', bytes('A'));
    const b = await store.deliver('a@x.test', bytes('B'.repeat(200_000)));
    const chunks: Buffer[] = [];
    for await (const chunk of await store.readStream('a@x.test', b)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).length).toBe(200_000);
    await store.remove('a@x.test', [a, 'not-there']);
    expect((await store.list('a@x.test')).map((m) => m.id)).toEqual([b]);
    await expect(store.read('a@x.test', a)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses ids and addresses that could escape the directory', async () => {
    await expect(store.deliver('a@x.test', bytes('x'), { id: '../evil' })).rejects.toMatchObject({ code: 'BAD_ID' });
    await expect(store.read('a@x.test', '..')).rejects.toMatchObject({ code: 'BAD_ID' });
    await expect(store.deliver('../../etc/passwd', bytes('x'))).rejects.toMatchObject({ code: 'BAD_ADDRESS' });
    for (const address of ['..', '.', '..@x', 'ümlaut@x.test', 'a%2f@x', 'sp ace@x']) {
      const encoded = encodeAddressForPath(address);
      expect(encoded).not.toMatch(/^\.|\//);
      expect(decodeAddressFromPath(encoded)).toBe(address);
    }
    await store.deliver('..', bytes('x'));
    expect(await readdir(join(dir, 'mailboxes'))).toEqual(['%2e.']);
    expect(await store.mailboxes()).toEqual(['..']);
  });

  it('locks a mailbox across two store instances until released', async () => {
    const other = new MailboxStore({ dir });
    const lock = await store.lock('a@x.test');
    expect(lock).toBeDefined();
    expect(await other.lock('A@x.test')).toBeUndefined();
    await lock?.release();
    const second = await other.lock('a@x.test');
    expect(second).toBeDefined();
    await second?.release();
  });

  it('takes over a stale lock whose process is dead', async () => {
    // A pid that surely is dead: a child that has exited.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(child.stdout);
    await store.deliver('a@x.test', bytes('x'));
    const lockPath = join(dir, 'mailboxes', 'a@x.test', 'lock');
    await writeFile(lockPath, `${deadPid} deadbeef\n`);
    const lock = await store.lock('a@x.test');
    expect(lock).toBeDefined();
    expect(await readFile(lockPath, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await lock?.release();
    // ... but never one held by a live process (our parent is alive).
    await writeFile(lockPath, `${process.ppid} someone-else\n`);
    expect(await store.lock('a@x.test')).toBeUndefined();
  });

  it('takes over a lock with our own pid that this process does not hold (a restarted PID 1)', async () => {
    await store.deliver('a@x.test', bytes('x'));
    const lockPath = join(dir, 'mailboxes', 'a@x.test', 'lock');
    await writeFile(lockPath, `${process.pid} from-an-earlier-life\n`);
    const lock = await store.lock('a@x.test');
    expect(lock).toBeDefined();
    expect(await new MailboxStore({ dir }).lock('a@x.test')).toBeUndefined();
    await lock?.release();
  });
});
