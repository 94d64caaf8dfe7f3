// A spool state file with an invalid field ("nextAttemptAt": "soon") used to be loaded as is: the
// queue armed a timer for NaN ms, which fires after 1 ms, forever. Now such an entry is moved to
// <spool>/quarantine/ with a log line and the queue has nothing to spin on.
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../../src/relay/delivery/queue.ts';
import { createLogger } from '../../../src/relay/log.ts';
import { Spool } from '../../../src/relay/spool/index.ts';
import { tempDir } from '../helpers.ts';

describe('spool quarantine', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a time that is not a number', '{"attempts":1,"nextAttemptAt":"soon"}'],
    ['a negative attempt count', '{"attempts":-1,"nextAttemptAt":1}'],
    ['not JSON', '{"attempts":'],
    ['a failure without a status', '{"done":true,"failure":{"diagnostic":"x"}}'],
  ])('quarantines an entry whose state file has %s, logs it, and leaves the queue idle', async (_what, content) => {
    const spool = new Spool({ dir });
    await spool.init();
    const [first, second] = await spool.add({ sender: 'a@b.test', recipients: ['c@d.test', 'e@f.test'] }, Buffer.from('Subject: x\r\n\r\n'));
    const healthy = await spool.add({ sender: 'a@b.test', recipients: ['g@h.test'] }, Buffer.from('Subject: y\r\n\r\n'));
    await writeFile(path.join(dir, 'queue', `${first!.entryId}.${second!.index}.json`), content);

    const lines: string[] = [];
    const restarted = new Spool({ dir });
    await restarted.init();
    const delivered: string[] = [];
    const queue = new DeliveryQueue({
      spool: restarted,
      hostname: 'mx.b.test',
      retry: { scheduleSeconds: [60], maxAgeSeconds: 3600 },
      deliver: async ({ record }) => {
        delivered.push(record.recipient);
        return { status: 'temporary', diagnostic: 'not now' };
      },
      logger: createLogger({ stream: { write: (line: string) => lines.push(line) > 0 } }),
    });
    await queue.start();
    await queue.stop();
    expect(lines.join('')).toMatch(new RegExp(`"spool.record.unreadable".*${first!.entryId}.*moved to .*quarantine`));
    expect((await readdir(path.join(dir, 'quarantine'))).sort()).toEqual([`${first!.entryId}.1.json`, `${first!.entryId}.msg`]);
    expect(await readdir(path.join(dir, 'queue'))).toEqual([`${healthy[0]!.entryId}.msg`]);
    expect(delivered).toEqual(['g@h.test']); // only the healthy entry was tried
  });
});
