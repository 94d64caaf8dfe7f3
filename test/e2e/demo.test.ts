// `sigill demo` (npm start) run non-interactively: it builds, starts the relay with the printed demo
// accounts, opens Thunderbird when a display exists, and Ctrl-C (SIGINT) stops everything it started.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
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
    const mailboxes = await fetch(line(output, /what it stores +(\S+)/));
    expect(await mailboxes.json()).toContainEqual({ address: 'alice@sigill.test', messages: 1 }); // the welcome message
    demo.interrupt();
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('Stopped everything.');
    expect(processesWithMarker(marker)).toEqual([]);
  });

  it('with a display: opens Thunderbird on a ready profile for alice with Sigill running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigill-demo-test-'));
    dirs.push(dir);
    const artifacts = artifactsDir('demo');
    const display = await startXvfb(processes, join(artifacts, 'xvfb.log'));
    const marker = `demo-${randomBytes(6).toString('hex')}`;
    const demo = startDemo(['--dir', dir, '--no-build'], { ...process.env, DISPLAY: display.name, [MARKER_VARIABLE]: marker });
    await demo.ready();
    expect(demo.output()).toContain('profile-alice (alice, Sigill installed)');
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
