// Durability (issue 3 item 4): `bin/sigill relay` is killed with SIGKILL in the middle of 1,000
// submissions over a few pipelining connections, then restarted on the same data directory. Every
// message that got its 250 must be delivered exactly once; messages whose 250 was lost may be
// delivered (once) or not; no delivered message is ever partial.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MailboxStore } from '../../../src/relay/mailbox.ts';
import { openSession, PASSWORDS, portOf, spoolEmpty, tempDir, waitFor, type RawSmtp } from '../helpers.ts';

const SIGILL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/sigill');
const TOTAL = 1000;
const CONNECTIONS = 4;
const KILL_AFTER = 500;

type RelayChild = ChildProcessByStdio<null, Readable, Readable>;

async function spawnRelay(configFile: string): Promise<{ child: RelayChild; info: { submission: string } }> {
  const child = spawn(process.execPath, [SIGILL, 'relay', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume(); // logs are not needed, but must not fill the pipe
  const info = await new Promise<{ submission: string }>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(buffered.slice(0, newline)) as { submission: string });
    });
    child.once('exit', (code) => reject(new Error(`relay exited early with ${code}`)));
  });
  return { child, info };
}

function exited(child: RelayChild): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('kill -9 during submissions', () => {
  const children: RelayChild[] = [];
  let dataDir = '';
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers every acknowledged message exactly once after a restart', async () => {
    dataDir = await tempDir();
    const configFile = path.join(dataDir, 'relay.json');
    await writeFile(
      configFile,
      JSON.stringify({
        hostname: 'mx.sigill.test',
        domains: ['sigill.test'],
        users: [
          { address: 'alice@sigill.test', password: PASSWORDS.alice },
          { address: 'bob@sigill.test', password: PASSWORDS.bob },
        ],
        listen: { submission: '127.0.0.1:0', smtp: null, pop3: null, http: null },
        dataDir: './data',
      }),
    );
    const first = await spawnRelay(configFile);
    children.push(first.child);
    const port = portOf(first.info.submission);

    const acknowledged = new Set<string>();
    let killed = false;
    const submitAll = async (connection: number): Promise<void> => {
      let client: RawSmtp;
      try {
        client = await openSession(port);
        if ((await client.login('alice@sigill.test', PASSWORDS.alice)).code !== 235) throw new Error('login failed');
      } catch {
        return;
      }
      try {
        for (let n = connection; n < TOTAL && !killed; n += CONNECTIONS) {
          const marker = `m${n}`;
          await client.write('MAIL FROM:<alice@sigill.test>\r\nRCPT TO:<bob@sigill.test>\r\nDATA\r\n');
          const codes = [(await client.reply()).code, (await client.reply()).code, (await client.reply()).code];
          if (codes.join() !== '250,250,354') throw new Error(`unexpected replies ${codes.join()}`);
          await client.write(`Subject: ${marker}\r\nX-Marker: ${marker}\r\n\r\n${'body line\r\n'.repeat(20)}END ${marker}\r\n.\r\n`);
          const reply = await client.reply();
          if (reply.code === 250) acknowledged.add(marker);
          if (acknowledged.size >= KILL_AFTER && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        }
      } catch {
        // The relay died under us: expected.
      } finally {
        client.close();
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, connection) => submitAll(connection)));
    expect(killed).toBe(true);
    await exited(first.child);
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER);

    const second = await spawnRelay(configFile);
    children.push(second.child);
    const relayData = path.join(dataDir, 'data');
    await waitFor(() => spoolEmpty(relayData), 'the restarted relay to empty its spool', 60_000);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);

    const store = new MailboxStore({ dir: relayData });
    const delivered = new Map<string, number>();
    for (const entry of await store.list('bob@sigill.test')) {
      const text = Buffer.from(await store.read('bob@sigill.test', entry.id)).toString('utf8');
      const marker = /X-Marker: (m\d+)/.exec(text)?.[1];
      expect(marker, 'every stored message has its marker').toBeDefined();
      expect(text.endsWith(`END ${marker}\r\n`), `message ${marker} is complete`).toBe(true);
      delivered.set(marker!, (delivered.get(marker!) ?? 0) + 1);
    }
    const duplicates = [...delivered].filter(([, count]) => count > 1);
    expect(duplicates).toEqual([]);
    const lost = [...acknowledged].filter((marker) => !delivered.has(marker));
    expect(lost).toEqual([]);
  });
});
