/**
 * `sigill demo` (`npm start`): builds dist/sigill.xpi, starts the relay with the demo accounts
 * alice@sigill.test and bob@sigill.test, makes demo keys for both (demo-keys.ts), sends alice a welcome
 * message encrypted to her key and signed by bob's, and, when Thunderbird exists, makes a ready profile
 * for alice (Sigill installed with her key and bob's accepted, account wired to the relay), which it opens
 * when there is a display. Otherwise it prints how to point any mail client at the relay. Ctrl-C stops
 * everything it started.
 *
 * The relay is the one `sigill relay` starts without --config (demo-relay.ts), run in this process.
 * State lives in .sigill-demo/ (or --dir): the passwords, the HTTP view's token, the ports, the demo
 * keys, the relay's mailboxes and alice's profile survive between runs, so links, keys and the profile
 * keep working; a port taken by another program is replaced (user.js is rewritten each run, the welcome
 * mail re-sent).
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { createLogger } from '../relay/log.ts';
import { demoKeys, encryptedMail, provisionProfileKeys, type DemoKey } from './demo-keys.ts';
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

interface WelcomeRecord {
  viewUrl?: string;
  /** The fingerprint of alice's key the welcome message was encrypted to. */
  encryptedTo?: string;
}

/** What the last welcome message was made for, if one was sent. */
function lastWelcome(file: string): WelcomeRecord {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as WelcomeRecord;
  } catch {
    return {}; // none yet, or unreadable: a new welcome message replaces it
  }
}

/** For tests: a marker line added to the welcome text, to look for in what the relay stored. */
const WELCOME_MARKER_VARIABLE = 'SIGILL_DEMO_WELCOME_MARKER';

/** The welcome text: what alice sees and what of it is real. One line per paragraph: clients wrap plain text. */
function welcomeText(demo: DemoRelay, from: DemoAccount, to: DemoAccount): string {
  const marker = process.env[WELCOME_MARKER_VARIABLE];
  return [
    `Hi ${to.fullName},`,
    '',
    `this message was encrypted to your demo key and signed with ${from.fullName}'s before it went to the Sigill relay on your machine, by the same Sigill code that runs in Thunderbird (the demo ran it while starting). The relay stored ciphertext only; its HTTP view shows what it stored (the link carries the demo's access token): ${demo.viewUrl}`,
    '',
    `What you see here is real: Sigill in this Thunderbird asked for your key's passphrase (the terminal running the demo printed it), decrypted the message on this computer and checked ${from.fullName}'s signature. Its button above the message says "Encrypted and signed"; click it for "Signed by ${from.fullName}" with the fingerprint of his key. The subject travelled inside the encryption; on the relay it reads "...". A bar from Thunderbird's own OpenPGP may say that it has no secret key for this message: that is true of Thunderbird's own OpenPGP, which has no key in this profile; Sigill's button is what Sigill says.`,
    '',
    `What the demo arranged for you: it made both keys on its first run and put them into Sigill before Thunderbird started, with ${from.fullName}'s key already accepted. They are demo keys, kept with their passphrases in the demo's directory: use them for nothing else.`,
    '',
    `To send encrypted yourself, write to ${to.address} or ${from.address}, with an attachment if you like. Sigill's button in the compose window shows that the message goes encrypted and signed; the HTTP view then shows ciphertext only.`,
    ...(marker === undefined || marker === '' ? [] : ['', `Test marker: ${marker}`]),
    '',
    from.fullName,
  ].join('\n');
}

/**
 * On the first run bob writes alice a note, encrypted to her demo key and signed with his, so her inbox
 * shows Sigill and the relay at work; again only when the HTTP view has moved (its port was taken) or
 * alice's key is new, so the newest welcome message links to a live view and is readable with her key.
 * The record sits beside the relay's state: a fresh relay state gets a fresh welcome.
 */
async function sendWelcome(demo: DemoRelay, dir: string, from: DemoAccount & { key: DemoKey }, to: DemoAccount & { key: DemoKey }): Promise<boolean> {
  const record = join(dir, 'welcome.json');
  const last = lastWelcome(record);
  if (last.viewUrl === demo.viewUrl && last.encryptedTo === to.key.fingerprint) return false;
  const raw = await encryptedMail({ from, fromKey: from.key, to, toKey: to.key, subject: 'Welcome to the Sigill demo', text: welcomeText(demo, from, to) });
  const submission = demo.relay.info.submission ?? '';
  const transport = nodemailer.createTransport({
    host: submission.slice(0, submission.lastIndexOf(':')),
    port: Number(submission.slice(submission.lastIndexOf(':') + 1)),
    secure: false,
    ignoreTLS: true, // loopback: AUTH without STARTTLS is allowed there
    auth: { user: from.address, pass: from.password },
  });
  try {
    await transport.sendMail({ envelope: { from: from.address, to: [to.address] }, raw });
  } finally {
    transport.close();
  }
  const saved: WelcomeRecord & { sent: string } = { viewUrl: demo.viewUrl, encryptedTo: to.key.fingerprint, sent: new Date().toISOString() };
  writeFileSync(record, `${JSON.stringify(saved)}\n`, { mode: 0o600 });
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
    const [aliceAccount, bobAccount] = demo.accounts;
    if (aliceAccount === undefined || bobAccount === undefined) throw new Error(`${join(relayDir, 'accounts.json')} lacks the demo accounts`);
    const [aliceKey, bobKey] = await demoKeys(relayDir, [aliceAccount, bobAccount]);
    if (aliceKey === undefined || bobKey === undefined) throw new Error('the demo keys are missing');
    const alice = { ...aliceAccount, key: aliceKey };
    const bob = { ...bobAccount, key: bobKey };
    say(`  demo keys   made by the demo for the demo only (${join(relayDir, 'demo-keys.json')})`);
    say(`    ${alice.address.padEnd(20)} passphrase ${alice.key.passphrase}  (Sigill asks for it to read alice's mail)`);
    say(`    ${bob.address.padEnd(20)} signs the welcome message; alice's Sigill has his public key, accepted`);
    if (await sendWelcome(demo, relayDir, bob, alice)) {
      say(`  mail        a welcome message from ${bob.address} is waiting for ${alice.address}, encrypted to her key (its subject reads "...": the real one is inside the encryption)`);
    }

    let thunderbird: Started | undefined;
    const binary = thunderbirdBinary();
    const display = process.env.DISPLAY ?? '';
    const profileDir = join(dir, 'profile-alice');
    const startThunderbird = !options['no-thunderbird'] && existsSync(binary) && display !== '';
    let profileReady = false;
    if (existsSync(binary)) {
      try {
        buildProfile({ dir: profileDir, account: alice, relay: listening, sigillXpi: xpiPath, checkMail: true, thunderbird: binary });
        const keys = await provisionProfileKeys({ dir, profileDir, own: alice.key, correspondents: [bob.key] });
        if (keys === 'stale') say(`    note: ${profileDir} was made before these demo keys; delete it to get a profile whose Sigill has them`);
        profileReady = true;
      } catch (error) {
        // Only needed to start Thunderbird; without it the relay alone is still worth running.
        if (startThunderbird) throw error;
        say(`    note: no profile for alice (${(error as Error).message.split('\n')[0] ?? ''})`);
      }
    }
    if (startThunderbird) {
      thunderbird = processes.start('thunderbird', binary, ['--profile', profileDir, '--no-remote'], {
        env: { ...process.env, HOME: join(dir, 'home') },
        logFile: join(dir, 'thunderbird.log'),
      });
      say(`  Thunderbird ${binary} on ${display}, profile ${profileDir} (alice, Sigill installed with her demo key and bob's)`);
    } else {
      const why = options['no-thunderbird'] ? '--no-thunderbird' : display === '' ? 'no display: $DISPLAY is empty' : `no Thunderbird at ${binary}`;
      say(`  Thunderbird not started (${why}).`);
      if (profileReady) say(`    A ready profile for alice (Sigill with her demo key and bob's), to open while the demo runs: ${binary} --profile ${profileDir} --no-remote`);
      say('    To use any mail client:');
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
