// The spool's commit protocol: nothing is visible in queue/ before commit, what a crash left in
// tmp/ is dropped at start, records are updated atomically, the last completed recipient removes
// the entry.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    const writer = await spool.createWriter();
    await writer.write(Buffer.from('Subject: x\r\n\r\n'));
    await writer.write(Buffer.from('body\r\n'));
    expect(await spool.list()).toEqual([]);
    const records = await writer.commit({ sender: 'a@b.test', recipients: ['c@d.test', 'e@f.test'] });
    expect(records.map((record) => [record.index, record.recipient, record.attempts])).toEqual([[0, 'c@d.test', 0], [1, 'e@f.test', 0]]);
    expect((await spool.list()).map((record) => record.recipient).sort()).toEqual(['c@d.test', 'e@f.test']);
    expect((await spool.readMessage(writer.entryId)).toString()).toBe('Subject: x\r\n\r\nbody\r\n');
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('an aborted writer leaves nothing behind', async () => {
    const writer = await spool.createWriter();
    await writer.write(Buffer.from('partial'));
    await writer.abort();
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
    expect(await spool.list()).toEqual([]);
  });

  it('drops a staged entry a crash left in tmp/, and an entry whose recipients were all done', async () => {
    await mkdir(path.join(dir, 'tmp', 'crashed'), { recursive: true });
    await writeFile(path.join(dir, 'tmp', 'crashed', 'message.eml'), 'half a mess');
    await mkdir(path.join(dir, 'queue', 'finished'), { recursive: true });
    await writeFile(path.join(dir, 'queue', 'finished', 'message.eml'), 'done');
    const restarted = new Spool({ dir });
    await restarted.init();
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
    expect(await restarted.list()).toEqual([]);
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
});
