/**
 * The demo relay behind `sigill relay` (no --config) and `sigill demo`: a real relay on loopback whose
 * accounts, HTTP token and ports survive a restart, so links printed or mailed on an earlier run still
 * work; a port taken meanwhile is replaced and reported; one state directory serves one relay at a time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoSetupError, describeMovedPorts, startDemoRelay, type DemoRelay } from '../../src/cli/demo-relay.ts';
import { silentLogger } from '../../src/relay/log.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sigill-demo-relay-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const ports = (demo: DemoRelay): (string | null)[] => [demo.relay.info.submission, demo.relay.info.smtp, demo.relay.info.pop3, demo.relay.info.http];

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('startDemoRelay', () => {
  it('keeps accounts, HTTP token and ports across runs; the view needs the token', async () => {
    const dir = await stateDir();
    const first = await startDemoRelay({ dir, logger: silentLogger() });
    const firstPorts = ports(first);
    const { accounts, httpToken, viewUrl } = first;
    expect(httpToken.length).toBeGreaterThanOrEqual(32);
    expect(viewUrl).toBe(`http://${first.relay.info.http}/?token=${httpToken}`);
    expect((await fetch(`${first.httpUrl}/api/mailboxes`)).status).toBe(401);
    await first.close();

    const second = await startDemoRelay({ dir, logger: silentLogger() });
    cleanups.push(() => second.close());
    expect(ports(second)).toEqual(firstPorts);
    expect(second.accounts).toEqual(accounts);
    expect(second.viewUrl).toBe(viewUrl);
    expect(second.movedPorts).toEqual([]);
    const mailboxes = await fetch(`${second.httpUrl}/api/mailboxes`, { headers: { Authorization: `Bearer ${httpToken}` } });
    expect(mailboxes.status).toBe(200);
    expect((await readFile(path.join(dir, 'http-token'), 'utf8')).trim()).toBe(httpToken);
  });

  it('replaces a port another program took, says so, and keeps the new one', async () => {
    const dir = await stateDir();
    const first = await startDemoRelay({ dir, logger: silentLogger() });
    const httpPort = Number(first.relay.info.http?.split(':')[1]);
    await first.close();
    const squatter = await occupy(httpPort);
    cleanups.push(() => new Promise((resolve) => squatter.close(resolve)));

    const second = await startDemoRelay({ dir, logger: silentLogger() });
    cleanups.push(() => second.close());
    const newPort = Number(second.relay.info.http?.split(':')[1]);
    expect(newPort).not.toBe(httpPort);
    expect(second.movedPorts).toEqual([{ listener: 'http', was: httpPort, now: newPort }]);
    expect(describeMovedPorts(second.movedPorts)[0]).toContain(`port ${httpPort} (http) is taken`);
    const response = await fetch(`${second.httpUrl}/api/mailboxes`, { headers: { Authorization: `Bearer ${second.httpToken}` } });
    expect(response.status).toBe(200);
    expect(JSON.parse(await readFile(path.join(dir, 'ports.json'), 'utf8'))).toMatchObject({ http: newPort });
  });

  it('refuses a state directory another running relay holds, and takes over a stale lock', async () => {
    const dir = await stateDir();
    const running = await startDemoRelay({ dir, logger: silentLogger() });
    await expect(startDemoRelay({ dir, logger: silentLogger() })).rejects.toThrow(DemoSetupError);
    await expect(startDemoRelay({ dir, logger: silentLogger() })).rejects.toThrow(`in use by another demo relay (pid ${process.pid})`);
    await running.close();

    // A lock whose process has exited (a demo killed with SIGKILL) does not block the next start.
    const gone = spawnSync('true').pid;
    await writeFile(path.join(dir, 'demo.lock'), `${gone}\n`);
    const next = await startDemoRelay({ dir, logger: silentLogger() });
    cleanups.push(() => next.close());
    expect(next.relay.info.http).not.toBeNull();
  });

  it('names a damaged state file instead of starting with made-up accounts', async () => {
    const dir = await stateDir();
    await writeFile(path.join(dir, 'accounts.json'), '{"not": "accounts"');
    await expect(startDemoRelay({ dir, logger: silentLogger() })).rejects.toThrow(`${path.join(dir, 'accounts.json')} is not valid JSON`);
    // The lock is released after a failed start.
    await writeFile(path.join(dir, 'accounts.json'), '[]');
    await expect(startDemoRelay({ dir, logger: silentLogger() })).rejects.toThrow('does not list the demo accounts');
  });
});
