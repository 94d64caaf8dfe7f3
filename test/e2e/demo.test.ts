// `sigill demo` (npm start) run non-interactively: it builds, starts the relay with the printed demo
// accounts, opens Thunderbird when a display exists, and Ctrl-C (SIGINT) stops everything it started.
// Its welcome message is encrypted to alice's demo key and signed by bob's: the relay stores ciphertext
// only, and the demo's profile for alice reads it in real Thunderbird, "Signed by Bob".
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWithTools } from '../support/tools.ts';
import { Client, e2eTools, eventually, World } from './harness/index.ts';
import { artifactsDir, driverDir, driverId, repoRoot } from './harness/paths.ts';
import { openMessage, openStatus } from './harness/reading.ts';
import { MARKER_VARIABLE, Processes, processesWithMarker } from '../../src/testbed/processes.ts';
import { Thunderbird, startXvfb } from './harness/thunderbird.ts';
import { read, readCertificates, readSecretKeys, unlockKey, type ReadResult } from '../../src/core/index.ts';
import type { DemoKey } from '../../src/cli/demo-keys.ts';

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

/** The welcome message as the relay stored it, and as alice's demo key reads it (the core's read path). */
async function storedWelcome(view: ReturnType<typeof viewOf>, dir: string): Promise<{ raw: string; read: ReadResult; text: string }> {
  const messages = (await (await view.get('/api/mailboxes/alice%40sigill.test/messages')).json()) as { id: string }[];
  const newest = messages.at(-1);
  if (newest === undefined) throw new Error('alice has no message');
  const raw = await (await view.get(`/api/mailboxes/alice%40sigill.test/messages/${encodeURIComponent(newest.id)}/raw`)).text();
  const { keys } = JSON.parse(readFileSync(join(dir, 'relay', 'demo-keys.json'), 'utf8')) as { keys: DemoKey[] };
  const [alice, bob] = keys;
  const [aliceSecret] = await readSecretKeys(alice?.secretKey ?? '');
  const unlocked = await unlockKey(aliceSecret!, [alice?.passphrase ?? '']);
  const bobCertificates = await readCertificates(bob?.secretKey ?? '');
  const result = await read(raw, { decryptionKeys: async () => [unlocked], verificationKeys: async () => bobCertificates });
  return { raw, read: result, text: result.parts.map((part) => part.content).join('\n') };
}

/** The link in the newest welcome message alice has on the relay, read with her key. */
async function welcomeLink(view: ReturnType<typeof viewOf>, dir: string): Promise<string> {
  const { text } = await storedWelcome(view, dir);
  return /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text)?.[1] ?? '';
}

/** The demo adds this marker line to the welcome text (for tests, to look for in what the relay stored). */
const WELCOME_MARKER = 'SIGILL_DEMO_WELCOME_MARKER';

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

  it('without Thunderbird: prints working accounts, stores the welcome message as ciphertext only and stops cleanly on Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigill-demo-test-'));
    dirs.push(dir);
    const marker = `demo-${randomBytes(6).toString('hex')}`;
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const env: NodeJS.ProcessEnv = { ...process.env, [MARKER_VARIABLE]: marker, [WELCOME_MARKER]: secret };
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
    // What the relay stored: PGP/MIME ciphertext, neither the text nor the subject in clear.
    const welcome = await storedWelcome(view, dir);
    expect(welcome.raw).toContain('Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"');
    expect(welcome.raw).not.toContain(secret);
    expect(welcome.raw).not.toContain('Welcome to the Sigill demo');
    expect(welcome.raw).not.toContain(view.url.slice(view.url.indexOf('token=') + 6));
    // What alice's key reads: the text with the marker and the link, signed by bob.
    expect(welcome.read.encryption).toBe('encrypted');
    expect(welcome.read.protectedSubject).toBe('Welcome to the Sigill demo');
    expect(welcome.read.signers).toMatchObject([{ status: 'good', userID: 'Bob <bob@sigill.test>' }]);
    expect(welcome.text).toContain(`Test marker: ${secret}`);
    expect(await welcomeLink(view, dir)).toBe(view.url);
    expect(output).toMatch(/alice@sigill\.test +passphrase \S+ +\(Sigill asks for it/);
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
      const link = await welcomeLink(view, dir);
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
        const link = await welcomeLink(view, dir);
        expect(link).toBe(view.url);
        expect((await view.get(link)).status).toBe(200);
      });
      expect(third).toContain('a welcome message from bob@sigill.test is waiting');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("with a display: opens Thunderbird on a ready profile for alice, Sigill running with her demo key and bob's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigill-demo-test-'));
    dirs.push(dir);
    const artifacts = artifactsDir('demo');
    const display = await startXvfb(processes, join(artifacts, 'xvfb.log'));
    const marker = `demo-${randomBytes(6).toString('hex')}`;
    const demo = startDemo(['--dir', dir, '--no-build'], { ...process.env, DISPLAY: display.name, [MARKER_VARIABLE]: marker });
    await demo.ready();
    expect(demo.output()).toContain("profile-alice (alice, Sigill installed with her demo key and bob's)");
    const log = (): string => {
      try {
        return readFileSync(join(dir, 'thunderbird.log'), 'utf8');
      } catch {
        return '';
      }
    };
    await eventually(() => log().includes('sigill: background started'), 90_000, "Sigill's startup line in the demo Thunderbird");
    // The keys were put into the profile before Thunderbird started: Sigill's first keyring open has both.
    await eventually(() => /sigill: keyring open \(2 keys in/.test(log()), 90_000, "Sigill's keyring open with alice's and bob's keys");
    const inbox = (): string => {
      try {
        // Thunderbird names the account's mail folder after the server: Mail/127.0.0.1/Inbox.
        return readFileSync(join(dir, 'profile-alice', 'Mail', '127.0.0.1', 'Inbox'), 'utf8');
      } catch {
        return '';
      }
    };
    await eventually(() => inbox().includes('From: Bob <bob@sigill.test>'), 90_000, "the welcome message in alice's Inbox");
    expect(inbox()).toContain('Content-Type: multipart/encrypted');
    expect(inbox()).not.toContain('Welcome to the Sigill demo'); // the subject travels inside the encryption
    await new Promise((resolve) => setTimeout(resolve, 2000)); // let the window paint before the picture
    execFileSync('import', ['-display', display.name, '-window', 'root', join(artifacts, 'demo-thunderbird.png')]);
    demo.interrupt();
    expect(await demo.exited).toBe(0);
    expect(processesWithMarker(marker)).toEqual([]);
    await processes.stop(display.process);
    console.log(`e2e demo: artifacts in ${artifacts}`);
  });

  it('the demo profile shows the welcome message decrypted by Sigill, "Signed by Bob", after the printed passphrase', async () => {
    // The demo makes the relay state, the keys, the welcome message and alice's profile; a Thunderbird is
    // then started on that profile with the test driver dropped in beside Sigill, to operate it as a person would.
    const dir = mkdtempSync(join(tmpdir(), 'sigill-demo-test-'));
    dirs.push(dir);
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const env: NodeJS.ProcessEnv = { ...process.env, [MARKER_VARIABLE]: `demo-${randomBytes(6).toString('hex')}`, [WELCOME_MARKER]: secret };
    const demo = startDemo(['--dir', dir, '--no-build', '--no-thunderbird'], env);
    const world = await World.start('demo-welcome', { relay: false });
    try {
      await demo.ready();
      const output = demo.output();
      const passphrase = line(output, /alice@sigill\.test +passphrase (\S+)/);
      const profileDir = join(dir, 'profile-alice');
      expect(output).toContain(`--profile ${profileDir}`);
      const view = viewOf(output);
      const stored = await storedWelcome(view, dir);
      expect(stored.raw).not.toContain(secret);

      const driver = join(profileDir, 'extensions', driverId);
      cpSync(driverDir, driver, { recursive: true });
      writeFileSync(join(driver, 'config.json'), JSON.stringify({ sink: world.sink.url, profile: 'alice' }));
      const thunderbird = await Thunderbird.launch(world.processes, { profileDir, home: join(world.scratch, 'home'), logFile: join(world.artifacts, 'thunderbird-alice.log') });
      const client = new Client(world.users.alice, thunderbird, world);
      world.clients.push(client);
      await world.sink.waitForEvent((event) => event.profile === 'alice' && event.type === 'ready', 90_000, "the driver in the demo's Thunderbird");
      await eventually(() => /sigill: keyring open \(2 keys in/.test(client.console()), 90_000, "Sigill's keyring open with alice's and bob's keys");

      const messageId = /^Message-ID: (<[^>]+>)/im.exec(stored.raw)?.[1] ?? '';
      const header = await client.receive({ headerMessageId: messageId.slice(1, -1) });
      const pane = await openMessage(client, header.id, passphrase);
      expect(pane.sigill).toBe('shown');
      expect(pane.text).toContain('Hi Alice,');
      expect(pane.text).toContain(`Test marker: ${secret}`);
      expect(pane.text).toContain(view.url);
      expect(pane.text).not.toContain('-----BEGIN PGP');
      await client.screenshot('welcome-decrypted');

      const status = await openStatus(client);
      expect(await status.text('#headline')).toBe('Encrypted and signed');
      expect(await status.text('.signer')).toContain('Signed by Bob <bob@sigill.test>');
      await client.screenshot('welcome-status');
    } finally {
      demo.interrupt();
      await demo.exited;
      expect(await world.stop()).toEqual([]);
    }
  });
});
