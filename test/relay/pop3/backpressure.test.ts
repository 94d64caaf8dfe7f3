// A POP3 client that pipelines listing commands and never reads must not make the relay buffer the
// replies: every reply waits for the socket to drain (as RETR/TOP always did). Before, pipelined
// UIDL/LIST/CAPA on a large mailbox grew the relay from 170 MB to 1.9 GB. Checked on a real relay
// process (bin/sigill relay) by its peak resident memory (VmHWM), not by timing.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.ts';
import { encodeAddressForPath } from '../../../src/relay/mailbox.ts';
import { portOf, waitFor } from '../helpers.ts';

const SIGILL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/sigill');
const BOB = { address: 'bob@sigill.test', password: 'bob-pop3-password' };
/** 3,000 messages with 50-character ids: one UIDL listing is about 170 KB. */
const MESSAGES = 3_000;
/** 2,000 pipelined UIDLs would be about 340 MB of replies held in memory without backpressure. */
const PIPELINED = 2_000;
/** What the relay may grow by while the client does not read (a few socket buffers' worth). */
const MAX_GROWTH = 64 * 1024 * 1024;

/** A process's peak resident set size so far (Linux /proc: VmHWM, in kB). */
async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!match?.[1]) throw new Error('no VmHWM in /proc status');
  return Number(match[1]) * 1024;
}

describe('POP3 backpressure on every reply', () => {
  let dir: string;
  let child: ChildProcessByStdio<null, Readable, Readable>;
  let stderr = '';
  let pop3Port = 0;

  beforeAll(async () => {
    dir = await tempDir('sigill-pop3-pressure-');
    const dataDir = path.join(dir, 'data');
    // A large mailbox, written straight to the store's layout (delivering 3,000 fsynced messages would be slow).
    const msgDir = path.join(dataDir, 'mailboxes', encodeAddressForPath(BOB.address), 'msg');
    await mkdir(msgDir, { recursive: true });
    for (let index = 0; index < MESSAGES; index += 1) {
      await writeFile(path.join(msgDir, `m${String(index).padStart(6, '0')}-${'u'.repeat(43)}`), `Subject: ${index}\r\n\r\nbody\r\n`);
    }
    await writeFile(
      path.join(dir, 'relay.json'),
      JSON.stringify({
        hostname: 'mx.sigill.test',
        domains: ['sigill.test'],
        users: [BOB],
        listen: { submission: null, smtp: null, pop3: '127.0.0.1:0', http: null },
        dataDir: 'data',
      }),
    );
    child = spawn(process.execPath, [SIGILL, 'relay', '--config', 'relay.json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const line = await waitFor(() => (stdout.includes('\n') ? stdout.split('\n')[0] : undefined), 'the listening line', 60_000);
    const pop3 = (JSON.parse(line ?? '{}') as { pop3: string }).pop3;
    pop3Port = portOf(pop3);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** Reads until the server closes, counting how often `marker` occurs, without keeping the bytes. */
  const countUntilClosed = (socket: Socket, marker: string): Promise<number> =>
    new Promise((resolve) => {
      let count = 0;
      let tail = '';
      socket.on('data', (chunk: Buffer) => {
        const text = tail + chunk.toString('latin1');
        for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + marker.length)) count += 1;
        tail = text.slice(-(marker.length - 1));
      });
      socket.once('close', () => resolve(count));
      socket.resume();
    });

  it('holds at most a few socket buffers when a client pipelines UIDL on a big mailbox and does not read', async () => {
    const socket = connect(pop3Port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    let greeting = '';
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        greeting += chunk.toString('latin1');
        if (/\+OK maildrop locked[^\n]*\n/.test(greeting)) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
      socket.write(`USER ${BOB.address}\r\nPASS ${BOB.password}\r\n`);
    });
    socket.pause(); // from here on the client reads nothing
    const before = await peakRssBytes(child.pid!);
    socket.write(`${'UIDL\r\n'.repeat(PIPELINED)}QUIT\r\n`);

    // Either the relay says it is waiting for this client (fixed), or it has answered everything,
    // QUIT included, without the client reading a byte (the attack succeeded).
    await waitFor(() => stderr.includes('"pop3.backpressure"') || stderr.includes('"pop3.update"'), 'the relay to stall or finish', 60_000);
    expect(stderr).not.toContain('"pop3.update"');
    const stalled = await peakRssBytes(child.pid!);
    expect(stalled - before).toBeLessThan(MAX_GROWTH);

    // Now read: every listing arrives, and the peak stays bounded to the end.
    expect(await countUntilClosed(socket, '+OK unique-id listing follows')).toBe(PIPELINED);
    expect(stderr).toContain('"pop3.update"');
    const after = await peakRssBytes(child.pid!);
    expect(after - before).toBeLessThan(MAX_GROWTH);
  });
});
