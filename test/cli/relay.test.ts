/**
 * `bin/sigill relay` without --config, as a person starts it: it prints the HTTP view's address with a
 * random token that the view requires, the same address on the next run in the same directory, a clear
 * error while another relay holds that directory, and it exits at once on Ctrl-C (SIGINT).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SIGILL = path.resolve('bin/sigill');
type Child = ChildProcessByStdio<null, Readable, Readable>;

interface Run {
  child: Child;
  output: () => string;
  exited: Promise<number | null>;
}

function start(cwd: string): Run {
  const child = spawn(process.execPath, [SIGILL, 'relay'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves once the relay printed its instructions; rejects if it exits first. */
async function ready(run: Run): Promise<string> {
  const printed = new Promise<void>((resolve) => {
    const check = (): void => {
      if (run.output().includes('Stop with Ctrl-C.')) resolve();
    };
    run.child.stdout.on('data', check);
    check();
  });
  const exited = run.exited.then((code) => {
    throw new Error(`sigill relay exited (${code}) before it was ready:\n${run.output()}`);
  });
  await Promise.race([printed, exited]);
  return run.output();
}

const viewUrl = (output: string): URL => new URL(/http view: +(\S+)/.exec(output)?.[1] ?? 'http://invalid/');

describe('sigill relay without --config', () => {
  let dir: string;
  const runs: Run[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sigill-relay-cli-'));
  });
  afterAll(async () => {
    for (const run of runs) if (run.child.exitCode === null) run.child.kill('SIGKILL');
    await Promise.all(runs.map((run) => run.exited));
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the view address with a token the view requires, keeps it, and stops at once on SIGINT', async () => {
    const first = start(dir);
    runs.push(first);
    const url = viewUrl(await ready(first));
    const token = url.searchParams.get('token') ?? '';
    expect(url.pathname).toBe('/');
    expect(token).toMatch(/^[\w-]{32,}$/);
    expect(first.output()).toContain(`Authorization: Bearer ${token}`);
    expect((await fetch(new URL('/api/mailboxes', url))).status).toBe(401);
    expect((await fetch(new URL('/api/mailboxes', url), { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);

    // A second relay on the same directory while the first runs: refused, naming the holder.
    const second = start(dir);
    runs.push(second);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`is in use by another demo relay (pid ${first.child.pid})`);

    const interruptedAt = performance.now();
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    console.log(`sigill relay: exited ${((performance.now() - interruptedAt) / 1000).toFixed(2)} s after SIGINT`);

    const again = start(dir);
    runs.push(again);
    expect(viewUrl(await ready(again)).href).toBe(url.href);
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });
});
