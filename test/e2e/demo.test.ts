// `sigill demo` (npm start) run non-interactively: it builds, starts the relay with the printed demo
// accounts, opens Thunderbird when a display exists, and Ctrl-C (SIGINT) stops everything it started.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually } from './harness/index.ts';
import { artifactsDir, repoRoot } from './harness/paths.ts';
import { MARKER_VARIABLE, Processes, processesWithMarker } from '../../src/testbed/processes.ts';
import { startXvfb } from './harness/thunderbird.ts';

interface DemoRun {
  output: () => string;
  exited: Promise<number | null>;
  interrupt: () => void;
  /** Resolves once the demo says it is ready; rejects if it exits first. */
  ready: () => Promise<void>;
}

function startDemo(args: string[], env: NodeJS.ProcessEnv): DemoRun {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'sigill'), 'demo', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const ready = async (): Promise<void> => {
    await eventually(() => output.includes('Press Ctrl-C to stop') || exitCode !== undefined, 120_000, 'the demo to be ready');
    if (!output.includes('Press Ctrl-C to stop')) throw new Error(`the demo exited (${exitCode}) before it was ready:\n${output}`);
  };
  return { output: () => output, exited, interrupt: () => child.kill('SIGINT'), ready };
}

/** Logs in over POP3 with USER/PASS and returns the server's answer to PASS. */
function pop3Login(endpoint: string, user: string, password: string): Promise<string> {
  const [host, port] = [endpoint.slice(0, endpoint.lastIndexOf(':')), Number(endpoint.slice(endpoint.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const replies: string[] = [];
    socket.setTimeout(20_000, () => socket.destroy(new Error('POP3 timeout')));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      replies.push(chunk.toString());
      if (replies.length === 1) socket.write(`USER ${user}\r\n`);
      else if (replies.length === 2) socket.write(`PASS ${password}\r\n`);
      else {
        socket.end('QUIT\r\n');
        resolve(chunk.toString().trim());
      }
    });
  });
}

const line = (output: string, pattern: RegExp): string => pattern.exec(output)?.[1] ?? '';

/** The HTTP view a demo printed: its address with the token, and a GET that sends the token as Bearer. */
function viewOf(output: string): { url: string; get: (target: string) => Promise<Response> } {
  const url = line(output, /what it stores +(\S+)/);
  const token = new URL(url).searchParams.get('token') ?? '';
  return { url, get: (target) => fetch(new URL(target, url), { headers: { Authorization: `Bearer ${token}` } }) };
}

/** The link in the newest welcome message alice has on the relay (the text is quoted-printable). */
async function welcomeLink(view: ReturnType<typeof viewOf>): Promise<string> {
  const messages = (await (await view.get('/api/mailboxes/alice%40sigill.test/messages')).json()) as { id: string }[];
  const newest = messages.at(-1);
  if (newest === undefined) throw new Error('alice has no message');
  const raw = await (await view.get(`/api/mailboxes/alice%40sigill.test/messages/${encodeURIComponent(newest.id)}/raw`)).text();
  const text = raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text)?.[1] ?? '';
}

// The second case gives the demo a display of its own, so it needs Xvfb even when SIGILL_E2E_HEADLESS=1.
const displayTools = [
  { command: 'Xvfb', debianPackage: 'xvfb' },
  { command: 'import', debianPackage: 'imagemagick' },
];

describeWithTools(e2eTools(displayTools), 'e2e: npm start (sigill demo)', () => {
  const dirs: string[] = [];
  const processes = new Processes(`demo-xvfb-${randomBytes(6).toString('hex')}`);
  afterAll(async () => {
    await processes.stopAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('without Thunderbird: prints working accounts and stops cleanly on Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigill-demo-test-'));
    dirs.push(dir);
    const marker = `demo-${randomBytes(6).toString('hex')}`;
    const env: NodeJS.ProcessEnv = { ...process.env, [MARKER_VARIABLE]: marker };
    delete env.DISPLAY;
    const demo = startDemo(['--dir', dir], env);
    await demo.ready();
    const output = demo.output();
    expect(output).toContain('Thunderbird not started (no display');
    expect(output).toContain(join(repoRoot, 'dist', 'sigill.xpi'));
    const pop3 = line(output, /POP3 +(\S+)/);
    const password = line(output, /alice@sigill\.test +password (\S+)/);
    expect(await pop3Login(pop3, 'alice@sigill.test', password)).toMatch(/^\+OK/);
    const view = viewOf(output);
    expect(new URL(view.url).searchParams.get('token')?.length).toBeGreaterThanOrEqual(32);
    expect((await fetch(new URL('/api/mailboxes', view.url))).status).toBe(401); // no token, no mail
    const mailboxes = await view.get('/api/mailboxes');
    expect(await mailboxes.json()).toContainEqual({ address: 'alice@sigill.test', messages: 1 }); // the welcome message
    expect(await welcomeLink(view)).toBe(view.url);
    const interruptedAt = performance.now();
    demo.interrupt();
    expect(await demo.exited).toBe(0);
    const seconds = (performance.now() - interruptedAt) / 1000;
    console.log(`e2e demo: exited ${seconds.toFixed(2)} s after Ctrl-C`);
    // A liveness bound, not a benchmark: a leaked 10 s grace timer once kept it alive after stopping.
    expect(seconds).toBeLessThan(5);
    expect(demo.output()).toContain('Stopped everything.');
    expect(processesWithMarker(marker)).toEqual([]);
  });

  it('on later runs: the same addresses, so the welcome link works; a taken port is replaced and a new link mailed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigill-demo-test-'));
    dirs.push(dir);
    const env: NodeJS.ProcessEnv = { ...process.env, [MARKER_VARIABLE]: `demo-${randomBytes(6).toString('hex')}` };
    delete env.DISPLAY;
    const run = async (check: (output: string) => Promise<void>): Promise<string> => {
      const demo = startDemo(['--dir', dir, '--no-build'], env);
      try {
        await demo.ready();
        await check(demo.output());
      } finally {
        demo.interrupt();
        await demo.exited;
      }
      return demo.output();
    };

    const first = await run(async () => {});
    const firstView = viewOf(first);
    expect(first).toContain('a welcome message from bob@sigill.test is waiting');

    const second = await run(async (output) => {
      const view = viewOf(output);
      expect(view.url).toBe(firstView.url);
      expect(line(output, /POP3 +(\S+)/)).toBe(line(first, /POP3 +(\S+)/));
      const link = await welcomeLink(view);
      expect(link).toBe(firstView.url);
      expect((await view.get(link)).status).toBe(200); // the first run's link still answers
    });
    expect(second).not.toContain('a welcome message'); // nothing new to say: no second copy

    // Another program takes the view's port before the next start.
    const httpPort = Number(new URL(firstView.url).port);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(httpPort, '127.0.0.1', resolve));
    try {
      const third = await run(async (output) => {
        const view = viewOf(output);
        expect(view.url).not.toBe(firstView.url);
        expect(output).toContain(`port ${httpPort} (http) is taken by another program`);
        const link = await welcomeLink(view);
        expect(link).toBe(view.url);
        expect((await view.get(link)).status).toBe(200);
      });
      expect(third).toContain('a welcome message from bob@sigill.test is waiting');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('with a display: opens Thunderbird on a ready profile for alice with Sigill running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigill-demo-test-'));
    dirs.push(dir);
    const artifacts = artifactsDir('demo');
    const display = await startXvfb(processes, join(artifacts, 'xvfb.log'));
    const marker = `demo-${randomBytes(6).toString('hex')}`;
    const demo = startDemo(['--dir', dir, '--no-build'], { ...process.env, DISPLAY: display.name, [MARKER_VARIABLE]: marker });
    await demo.ready();
    expect(demo.output()).toContain('profile-alice (alice, Sigill installed: create a key in its options to encrypt)');
    const log = (): string => {
      try {
        return readFileSync(join(dir, 'thunderbird.log'), 'utf8');
      } catch {
        return '';
      }
    };
    await eventually(() => log().includes('sigill: background started'), 90_000, "Sigill's startup line in the demo Thunderbird");
    const inbox = (): string => {
      try {
        // Thunderbird names the account's mail folder after the server: Mail/127.0.0.1/Inbox.
        return readFileSync(join(dir, 'profile-alice', 'Mail', '127.0.0.1', 'Inbox'), 'utf8');
      } catch {
        return '';
      }
    };
    await eventually(() => inbox().includes('Subject: Welcome to the Sigill demo'), 90_000, 'the welcome message in alice\'s Inbox');
    await new Promise((resolve) => setTimeout(resolve, 2000)); // let the window paint before the picture
    execFileSync('import', ['-display', display.name, '-window', 'root', join(artifacts, 'demo-thunderbird.png')]);
    demo.interrupt();
    expect(await demo.exited).toBe(0);
    expect(processesWithMarker(marker)).toEqual([]);
    await processes.stop(display.process);
    console.log(`e2e demo: artifacts in ${artifacts}`);
  });
});
