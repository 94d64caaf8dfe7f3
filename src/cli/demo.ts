/**
 * `sigill demo` (`npm start`): builds dist/sigill.xpi, starts the relay with the demo accounts
 * alice@sigill.test and bob@sigill.test, and, when Thunderbird and a display exist, opens Thunderbird on
 * a ready profile for alice (Sigill installed, account wired to the relay). Otherwise it prints where the
 * .xpi is and how to point any mail client at the relay. Ctrl-C stops everything it started.
 *
 * The relay is the one `sigill relay` starts without --config (demo-relay.ts), run in this process.
 * State lives in .sigill-demo/ (or --dir): the passwords, the HTTP view's token, the ports, the relay's
 * mailboxes and alice's profile survive between runs, so links and the profile keep working; a port
 * taken by another program is replaced (user.js is rewritten each run, the welcome mail re-sent).
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { createLogger } from '../relay/log.ts';
import { describeMovedPorts, startDemoRelay, type DemoAccount, type DemoRelay } from './demo-relay.ts';
import { Processes, type Started } from '../testbed/processes.ts';
import { buildProfile } from '../testbed/profile.ts';
import { thunderbirdBinary, xpiPath } from '../testbed/paths.ts';
import { buildXpi } from '../testbed/xpi.ts';

const usage = `usage: sigill demo [--no-thunderbird] [--no-build] [--dir DIR]

  --no-thunderbird  only the relay, even when Thunderbird and a display exist
  --no-build        use the existing dist/sigill.xpi
  --dir DIR         where the demo keeps its state (default .sigill-demo)
`;

/** The HTTP view address the last welcome message links to, if one was sent. */
function welcomedView(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { viewUrl?: string }).viewUrl;
  } catch {
    return undefined; // none yet, or unreadable: a new welcome message replaces it
  }
}

/**
 * On the first run bob writes alice a note, so her inbox shows the relay at work; again only when the
 * HTTP view has moved (its port was taken), so the newest welcome message always links to a live view.
 * The record sits beside the relay's state: a fresh relay state gets a fresh welcome.
 */
async function sendWelcome(demo: DemoRelay, dir: string, from: DemoAccount, to: DemoAccount): Promise<boolean> {
  const record = join(dir, 'welcome.json');
  if (welcomedView(record) === demo.viewUrl) return false;
  const submission = demo.relay.info.submission ?? '';
  const transport = nodemailer.createTransport({
    host: submission.slice(0, submission.lastIndexOf(':')),
    port: Number(submission.slice(submission.lastIndexOf(':') + 1)),
    secure: false,
    ignoreTLS: true, // loopback: AUTH without STARTTLS is allowed there
    auth: { user: from.address, pass: from.password },
  });
  try {
    await transport.sendMail({
      from: `${from.fullName} <${from.address}>`,
      to: `${to.fullName} <${to.address}>`,
      subject: 'Welcome to the Sigill demo',
      // One line per paragraph: mail clients wrap plain text to the window (nodemailer soft-wraps on the wire).
      text: [
        `Hi ${to.fullName},`,
        '',
        'this message came to you through the Sigill relay running on your machine. It travelled and was stored in plain text, as most mail still does.',
        '',
        `The relay's HTTP view shows what the server stored (the link carries the demo's access token): ${demo.viewUrl}`,
        '',
        `To see Sigill encrypt: open its options (Add-ons Manager, Sigill, Options), create a key for ${to.address} and keep the backup it offers; then write a message to yourself (${to.address}) with an attachment. Sigill's button in the compose window shows that it goes encrypted and signed; the HTTP view then shows ciphertext only, and the message, opened here, is decrypted by Sigill with its status in Sigill's button above it.`,
        '',
        from.fullName,
      ].join('\n'),
    });
  } finally {
    transport.close();
  }
  writeFileSync(record, `${JSON.stringify({ viewUrl: demo.viewUrl, sent: new Date().toISOString() })}\n`, { mode: 0o600 });
  return true;
}

function waitForStop(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('Ctrl-C'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

export async function run(args: string[]): Promise<number> {
  let options: { 'no-thunderbird'?: boolean; 'no-build'?: boolean; dir?: string; help?: boolean };
  try {
    options = parseArgs({
      args,
      options: { 'no-thunderbird': { type: 'boolean' }, 'no-build': { type: 'boolean' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (error) {
    process.stderr.write(`sigill demo: ${(error as Error).message}\n\n${usage}`);
    return 1;
  }
  if (options.help) {
    process.stdout.write(usage);
    return 0;
  }
  const dir = resolve(options.dir ?? '.sigill-demo');
  mkdirSync(dir, { recursive: true });
  const say = (line = ''): void => void process.stdout.write(`${line}\n`);

  if (!options['no-build']) {
    say('Building the extension (npm run build) ...');
    try {
      buildXpi();
    } catch (error) {
      process.stderr.write(`sigill demo: the build failed: ${(error as Error).message}\n`);
      return 1;
    }
  }
  if (!existsSync(xpiPath)) {
    process.stderr.write(`sigill demo: ${xpiPath} does not exist; run npm run build\n`);
    return 1;
  }

  // Everything started here carries one marker, so a test (or a person) can find what is left.
  const processes = new Processes(process.env.SIGILL_E2E_MARKER ?? `sigill-demo-${process.pid}`);
  const stopRequested = waitForStop();
  const relayLog = createWriteStream(join(dir, 'relay.log'), { flags: 'a', mode: 0o600 });
  let demo: DemoRelay | undefined;
  try {
    // The same relay set-up as `sigill relay` without --config, with its state in DIR/relay.
    const relayDir = join(dir, 'relay');
    demo = await startDemoRelay({ dir: relayDir, dataDir: join(relayDir, 'data'), logger: createLogger({ stream: relayLog }) });
    const { info } = demo.relay;
    const listening = { submission: info.submission ?? '', pop3: info.pop3 ?? '' };
    say();
    say('Sigill demo');
    say(`  extension   ${xpiPath}`);
    say(`  relay       ${info.hostname} for @sigill.test (state: ${relayDir}, log: ${join(dir, 'relay.log')})`);
    say(`    SMTP submission  ${info.submission}  (AUTH PLAIN/LOGIN, no TLS needed on loopback)`);
    say(`    POP3             ${info.pop3}  (user name = full address)`);
    say(`    inbound SMTP     ${info.smtp}`);
    say(`    what it stores   ${demo.viewUrl}`);
    say(`                     (programs: ${demo.httpUrl}/api/mailboxes with Authorization: Bearer ${demo.httpToken})`);
    for (const line of describeMovedPorts(demo.movedPorts)) say(`    note: ${line}`);
    say('  accounts');
    for (const account of demo.accounts) say(`    ${account.address.padEnd(20)} password ${account.password}`);
    const [alice, bob] = demo.accounts;
    if (alice === undefined || bob === undefined) throw new Error(`${join(relayDir, 'accounts.json')} lacks the demo accounts`);
    if (await sendWelcome(demo, relayDir, bob, alice)) say(`  mail        a welcome message from ${bob.address} is waiting for ${alice.address}`);

    let thunderbird: Started | undefined;
    const binary = thunderbirdBinary();
    const display = process.env.DISPLAY ?? '';
    if (!options['no-thunderbird'] && existsSync(binary) && display !== '') {
      const profileDir = join(dir, 'profile-alice');
      buildProfile({ dir: profileDir, account: alice, relay: listening, sigillXpi: xpiPath, checkMail: true, thunderbird: binary });
      thunderbird = processes.start('thunderbird', binary, ['--profile', profileDir, '--no-remote'], {
        env: { ...process.env, HOME: join(dir, 'home') },
        logFile: join(dir, 'thunderbird.log'),
      });
      say(`  Thunderbird ${binary} on ${display}, profile ${profileDir} (alice, Sigill installed: create a key in its options to encrypt)`);
    } else {
      const why = options['no-thunderbird'] ? '--no-thunderbird' : display === '' ? 'no display: $DISPLAY is empty' : `no Thunderbird at ${binary}`;
      say(`  Thunderbird not started (${why}). To use any mail client:`);
      say(`    incoming POP3 ${listening.pop3}, outgoing SMTP ${listening.submission}, no encryption, normal password,`);
      say('    user name = the full address; in Thunderbird install the .xpi via Add-ons Manager > Install Add-on From File.');
    }
    say();
    say('Ready. Press Ctrl-C to stop.');

    const { reason, code } = await Promise.race([
      stopRequested.then((reason) => ({ reason, code: 0 })),
      ...(thunderbird ? [thunderbird.exited.then(() => ({ reason: 'Thunderbird was closed', code: 0 }))] : []),
    ]);
    say(`\nStopping (${reason}) ...`);
    return code;
  } catch (error) {
    process.stderr.write(`sigill demo: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await processes.stopAll();
    await demo?.close();
    relayLog.end();
    const left = processes.leftovers();
    if (left.length > 0) process.stderr.write(`sigill demo: still running: ${left.join(', ')}\n`);
    else say('Stopped everything.');
  }
}
