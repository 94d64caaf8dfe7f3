// `bin/sigill relay` as a process: exactly one JSON listening line on stdout, JSON log lines on
// stderr without passwords or bodies, SIGTERM/SIGINT exit 0; the demo mode without --config.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, portOf, waitFor } from './helpers.ts';

const SIGILL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/sigill');
type Child = ChildProcessByStdio<null, Readable, Readable>;

function start(args: string[], cwd: string): { child: Child; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [SIGILL, 'relay', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return { child, stdout: () => stdout, stderr: () => stderr };
}

function exitCode(child: Child): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('sigill relay (process)', () => {
  let dir: string;
  const children: Child[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sigill-cli-'));
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exitCode));
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one listening line, logs JSON without secrets, and stops cleanly on SIGTERM', async () => {
    const password = 'very-secret-password-123';
    await writeFile(
      path.join(dir, 'relay.json'),
      JSON.stringify({
        hostname: 'mx.sigill.test',
        domains: ['sigill.test'],
        users: [{ address: 'alice@sigill.test', password }, { address: 'bob@sigill.test', password: 'other-pw-456' }],
        listen: { submission: '127.0.0.1:0', smtp: '127.0.0.1:0', pop3: '127.0.0.1:0', http: null },
        dataDir: 'data',
      }),
    );
    const relay = start(['--config', 'relay.json'], dir);
    children.push(relay.child);
    const line = await waitFor(() => (relay.stdout().includes('\n') ? relay.stdout().split('\n')[0] : undefined), 'the listening line');
    const info = JSON.parse(line!) as Record<string, unknown>;
    expect(Object.keys(info)).toEqual(['event', 'hostname', 'submission', 'smtp', 'pop3', 'http', 'dataDir']);
    expect(info).toMatchObject({ event: 'listening', hostname: 'mx.sigill.test', http: null, dataDir: path.join(dir, 'data') });
    expect(info.submission).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(info.pop3).toMatch(/^127\.0\.0\.1:\d+$/);

    const client = await openSession(portOf(info.submission as string));
    // A user name built to forge a log line: it must stay inside one JSON string.
    expect((await client.login('x"},{"event":"forged', 'guess')).code).toBe(535);
    expect((await client.login('alice@sigill.test', password)).code).toBe(235);
    await client.command('MAIL FROM:<alice@sigill.test>');
    await client.command('RCPT TO:<bob@sigill.test>');
    await client.command('DATA');
    expect((await client.command('Subject: secret subject\r\n\r\nBODY-MARKER-789\r\n.')).code).toBe(250);
    await client.login('bob@sigill.test', 'wrong-guess-000').catch(() => undefined);
    client.close();
    await waitFor(() => relay.stderr().includes('"delivery.ok"'), 'delivery log line');

    relay.child.kill('SIGTERM');
    expect(await exitCode(relay.child)).toBe(0);
    expect(relay.stdout().trimEnd().split('\n')).toHaveLength(1); // nothing but the listening line
    const logLines = relay.stderr().trimEnd().split('\n');
    for (const logLine of logLines) {
      const entry = JSON.parse(logLine) as Record<string, unknown>;
      expect(Object.keys(entry).slice(0, 3)).toEqual(['time', 'level', 'event']);
    }
    const logs = relay.stderr();
    for (const secret of [password, 'other-pw-456', 'wrong-guess-000', 'BODY-MARKER-789', 'secret subject', Buffer.from(`\0alice@sigill.test\0${password}`).toString('base64')]) {
      expect(logs).not.toContain(secret);
    }
    expect(logLines.map((logLine) => (JSON.parse(logLine) as { event: string }).event)).not.toContain('forged');
    expect(logs).toContain('"relay.stopped"');
  });

  it('without --config starts a loopback demo and explains how to connect; SIGINT stops it', async () => {
    const demoDir = path.join(dir, 'demo');
    await import('node:fs/promises').then((fs) => fs.mkdir(demoDir));
    const relay = start([], demoDir);
    children.push(relay.child);
    await waitFor(() => relay.stdout().includes('Stop with Ctrl-C.'), 'the demo instructions');
    const [line, ...rest] = relay.stdout().split('\n');
    const info = JSON.parse(line!) as Record<string, string>;
    expect(info.dataDir).toBe(path.join(demoDir, '.sigill-relay'));
    const text = rest.join('\n');
    expect(text).toMatch(/alice@sigill\.test {2}password \S+/);
    expect(text).toContain(`swaks --server 127.0.0.1 --port ${portOf(info.submission!)}`);
    expect(text).toContain('import poplib');
    relay.child.kill('SIGINT');
    expect(await exitCode(relay.child)).toBe(0);
  });
});
