/**
 * `sigill demo` (`npm start`): builds dist/sigill.xpi, starts the relay with the demo accounts
 * alice@sigill.test and bob@sigill.test, and, when Thunderbird and a display exist, opens Thunderbird on
 * a ready profile for alice (Sigill installed, account wired to the relay). Otherwise it prints where the
 * .xpi is and how to point any mail client at the relay. Ctrl-C stops everything it started.
 *
 * State lives in .sigill-demo/ (or --dir): the passwords, the relay's mailboxes and alice's profile
 * survive between runs; the ports are new each run (user.js is rewritten each time).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { Processes, type Started } from '../testbed/processes.ts';
import { buildProfile } from '../testbed/profile.ts';
import { Relay } from '../testbed/relay.ts';
import { thunderbirdBinary, xpiPath } from '../testbed/paths.ts';
import { buildXpi } from '../testbed/xpi.ts';

const usage = `usage: sigill demo [--no-thunderbird] [--no-build] [--dir DIR]

  --no-thunderbird  only the relay, even when Thunderbird and a display exist
  --no-build        use the existing dist/sigill.xpi
  --dir DIR         where the demo keeps its state (default .sigill-demo)
`;

interface DemoAccount {
  address: string;
  password: string;
  fullName: string;
}

/** The demo accounts, with passwords made on the first run and kept in DIR/accounts.json. */
function demoAccounts(dir: string): DemoAccount[] {
  const file = join(dir, 'accounts.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoAccount[];
  const accounts = [
    { address: 'alice@sigill.test', fullName: 'Alice', password: randomBytes(9).toString('base64url') },
    { address: 'bob@sigill.test', fullName: 'Bob', password: randomBytes(9).toString('base64url') },
  ];
  writeFileSync(file, JSON.stringify(accounts, null, 2), { mode: 0o600 });
  return accounts;
}

/** On the first run, bob writes alice a note, so her inbox shows the relay at work. */
async function sendWelcome(relay: Relay, from: DemoAccount, to: DemoAccount): Promise<boolean> {
  if ((await relay.messages(to.address)).length > 0) return false;
  const submission = relay.listening.submission;
  const transport = nodemailer.createTransport({
    host: submission.slice(0, submission.lastIndexOf(':')),
    port: Number(submission.slice(submission.lastIndexOf(':') + 1)),
    secure: false,
    ignoreTLS: true,
    auth: { user: from.address, pass: from.password },
  });
  try {
    await transport.sendMail({
      from: `${from.fullName} <${from.address}>`,
      to: `${to.fullName} <${to.address}>`,
      subject: 'Welcome to the Sigill demo',
      text: [
        `Hi ${to.fullName},`,
        '',
        'this message went through the Sigill relay running on your machine, in plain text, as most mail',
        `still does. Its HTTP view shows what the server stored: ${relay.httpUrl}/api/mailboxes`,
        '',
        `Write back to ${from.address}: with Sigill, what the relay stores is ciphertext.`,
        '',
        from.fullName,
      ].join('\n'),
    });
    return true;
  } finally {
    transport.close();
  }
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
  try {
    const accounts = demoAccounts(dir);
    const relay = await Relay.start(processes, { dir: join(dir, 'relay'), users: accounts, logFile: join(dir, 'relay.log') });
    const { listening } = relay;
    say();
    say('Sigill demo');
    say(`  extension   ${xpiPath}`);
    say(`  relay       ${listening.hostname} for @sigill.test (log: ${join(dir, 'relay.log')})`);
    say(`    SMTP submission  ${listening.submission}  (AUTH PLAIN/LOGIN, no TLS needed on loopback)`);
    say(`    POP3             ${listening.pop3}  (user name = full address)`);
    say(`    inbound SMTP     ${listening.smtp}`);
    say(`    what it stores   ${relay.httpUrl}/api/mailboxes  (one message: ${relay.httpUrl}/messages/<address>/<id>)`);
    say('  accounts');
    for (const account of accounts) say(`    ${account.address.padEnd(20)} password ${account.password}`);
    const [alice, bob] = accounts;
    if (alice === undefined || bob === undefined) throw new Error(`${join(dir, 'accounts.json')} lacks the demo accounts`);
    if (await sendWelcome(relay, bob, alice)) say(`  mail        a welcome message from ${bob.address} is waiting for ${alice.address}`);

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
      say(`  Thunderbird ${binary} on ${display}, profile ${profileDir} (alice, Sigill installed)`);
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
      relay.process.exited.then((exit) => ({ reason: `the relay exited (${exit}), see ${join(dir, 'relay.log')}`, code: 1 })),
      ...(thunderbird ? [thunderbird.exited.then(() => ({ reason: 'Thunderbird was closed', code: 0 }))] : []),
    ]);
    say(`\nStopping (${reason}) ...`);
    return code;
  } catch (error) {
    process.stderr.write(`sigill demo: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await processes.stopAll();
    const left = processes.leftovers();
    if (left.length > 0) process.stderr.write(`sigill demo: still running: ${left.join(', ')}\n`);
    else say('Stopped everything.');
  }
}
