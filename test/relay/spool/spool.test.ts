// The spool's commit protocol: nothing is visible in queue/ before commit, what a crash left in
// tmp/ is dropped at start, records are updated atomically, the last completed recipient removes
// the entry.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySync } from '../../../src/relay/fsync.ts';
import { Spool } from '../../../src/relay/spool/index.ts';
import { tempDir } from '../helpers.ts';

describe('Spool', () => {
  let dir: string;
  let spool: Spool;
  beforeEach(async () => {
    dir = await tempDir();
    spool = new Spool({ dir });
    await spool.init();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shows an entry only once committed, with one record per recipient', async () => {
    const writer = await spool.createWriter({ sender: 'a@b.test', recipients: ['c@d.test', 'e@f.test'] });
    await writer.write(Buffer.from('Subject: x\r\n\r\n'));
    await writer.write(Buffer.from('body\r\n'));
    expect(await spool.list()).toEqual([]);
    const records = await writer.commit();
    expect(records.map((record) => [record.index, record.recipient, record.attempts])).toEqual([[0, 'c@d.test', 0], [1, 'e@f.test', 0]]);
    expect((await spool.list()).map((record) => record.recipient).sort()).toEqual(['c@d.test', 'e@f.test']);
    expect((await spool.readMessage(writer.entryId)).toString()).toBe('Subject: x\r\n\r\nbody\r\n');
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('an aborted writer leaves nothing behind', async () => {
    const writer = await spool.createWriter({ sender: 'a@b.test', recipients: ['c@d.test'] });
    await writer.write(Buffer.alloc(100 * 1024, 0x61)); // past the write buffer: a staging file exists
    expect(await readdir(path.join(dir, 'tmp'))).toHaveLength(1);
    await writer.abort();
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
    expect(await spool.list()).toEqual([]);
  });

  it('keeps a message larger than its write buffer whole and in order', async () => {
    const chunks = Array.from({ length: 40 }, (_, index) => Buffer.alloc(5000, 0x41 + (index % 26)));
    const writer = await spool.createWriter({ sender: 'a@b.test', recipients: ['c@d.test'] });
    for (const chunk of chunks) await writer.write(chunk);
    await writer.commit();
    expect((await spool.readMessage(writer.entryId)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('drops a staged entry a crash left in tmp/, an entry whose recipients were all done, and stray state files', async () => {
    await writeFile(path.join(dir, 'tmp', 'crashed.msg'), '{"sender":"a@b.test","recipients":["c@d.test"],"createdAt":1}\nhalf a mess');
    // A crash after the last recipient's "done" but before the clean-up.
    const [first, second] = await spool.add({ sender: 'a@b.test', recipients: ['c@d.test', 'e@f.test'] }, Buffer.from('m'));
    await spool.complete(first!);
    await writeFile(path.join(dir, 'queue', `${second!.entryId}.1.json`), '{"done":true}');
    // A crash after the message file of a finished entry was removed but before its state files.
    await writeFile(path.join(dir, 'queue', '0000000ab-000000000000.0.json'), '{"done":true}');
    const restarted = new Spool({ dir });
    await restarted.init();
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
    expect(await restarted.list()).toEqual([]);
    expect(await readdir(path.join(dir, 'queue'))).toEqual([]);
  });

  it('reports what is not a spool file of its layout and leaves it alone', async () => {
    await mkdir(path.join(dir, 'queue', 'mxyz123-abcdef'));
    const reported: string[] = [];
    expect(await spool.list((file) => reported.push(path.basename(file)))).toEqual([]);
    expect(reported).toEqual(['mxyz123-abcdef']);
    expect(await readdir(path.join(dir, 'queue'))).toEqual(['mxyz123-abcdef']);
  });

  it('keeps an entry until every recipient is done, across a restart', async () => {
    const [first, second] = await spool.add({ sender: 'a@b.test', recipients: ['c@d.test', 'e@f.test'] }, Buffer.from('m'));
    await spool.complete(second!);
    const restarted = new Spool({ dir });
    await restarted.init();
    expect(await restarted.list()).toEqual([first]);
    expect((await restarted.readMessage(first!.entryId)).toString()).toBe('m');
    await restarted.complete(first!);
    expect(await readdir(path.join(dir, 'queue'))).toEqual([]);
  });

  it('updates a record in place and removes the entry with its last recipient', async () => {
    const [first, second] = await spool.add({ sender: '', recipients: ['c@d.test', 'e@f.test'] }, Buffer.from('m'));
    await spool.update({ ...first!, attempts: 2, nextAttemptAt: 42, lastError: 'try later' });
    const listed = await spool.list();
    expect(listed.find((record) => record.index === 0)).toMatchObject({ attempts: 2, nextAttemptAt: 42, lastError: 'try later' });
    await spool.complete(first!);
    expect(await spool.list()).toHaveLength(1);
    await spool.complete(second!);
    expect(await readdir(path.join(dir, 'queue'))).toEqual([]);
    await spool.complete(second!); // completing twice (a retry after a crash) is harmless
  });

  it('keeps the failures of an entry until its one DSN is sent, across a restart', async () => {
    const [first, second] = await spool.add({ sender: 'a@b.test', recipients: ['c@d.test', 'e@f.test'] }, Buffer.from('m'));
    const failure = { statusCode: '5.1.1', diagnostic: '550 no such user', remoteMta: 'mx.d.test:25' };
    expect(await spool.complete(first!, failure)).toBeUndefined(); // one recipient still pending
    const finished = await spool.complete(second!);
    expect(finished).toEqual({ entryId: first!.entryId, sender: 'a@b.test', createdAt: first!.createdAt, failures: [{ recipient: 'c@d.test', ...failure }] });
    // A crash before the DSN was spooled: the restarted spool still has it to send.
    const restarted = new Spool({ dir });
    await restarted.init();
    expect(await restarted.list()).toEqual([]);
    expect(restarted.finishedWithFailures()).toEqual([finished]);
    await restarted.finish(first!.entryId);
    expect(await readdir(path.join(dir, 'queue'))).toEqual([]);
  });

  it('answers every directory sync, also one asked for while the previous burst closes its handle', async () => {
    const sync = new DirectorySync(dir);
    // Each request comes right after the previous one was answered, i.e. while the handle closes.
    for (let round = 0; round < 20; round += 1) await sync.sync();
    await Promise.all(Array.from({ length: 20 }, () => sync.sync()));
    await expect(new DirectorySync(path.join(dir, 'missing')).sync()).rejects.toMatchObject({ code: 'ENOENT' });
  }, 10_000);
});
