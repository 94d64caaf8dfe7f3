/**
 * `sigill relay [--config relay.json]` runs the mail relay; `sigill relay hash-password` reads a
 * password on stdin and prints its `scrypt$...` hash for the config.
 *
 * Without --config it starts the loopback demo relay of demo-relay.ts (the one `sigill demo` runs) with
 * its state and data in ./.sigill-relay: users alice@ and bob@sigill.test, their passwords, the HTTP
 * view's token and the ports are made on the first run and kept; it prints them with the view's URL.
 *
 * stdout carries exactly one JSON `listening` line (then, for the demo only, how to connect);
 * logs go to stderr as JSON lines.
 */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { hashPassword } from '../relay/auth.ts';
import { loadConfig, RelayConfigError } from '../relay/config.ts';
import { createLogger } from '../relay/log.ts';
import { startRelay } from '../relay/server.ts';
import { DemoSetupError, describeMovedPorts, startDemoRelay, type DemoAccount, type DemoRelay } from './demo-relay.ts';

const usage = `usage: sigill relay [--config relay.json]
       sigill relay hash-password    (reads the password from stdin, prints scrypt$...)

Runs the Sigill mail relay: SMTP submission (AUTH) and inbound, spool and delivery, POP3, HTTP view.
Without --config: a loopback demo with generated users and a self-signed certificate.
`;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    // Interactive: one line is the password (piped input is read to its end instead).
    process.stderr.write('password: ');
    const lines = createInterface({ input: process.stdin, terminal: false });
    for await (const line of lines) {
      lines.close();
      return line;
    }
    return '';
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function hashPasswordCommand(): Promise<number> {
  // One trailing newline (from echo or a terminal) is not part of the password.
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password.length === 0) {
    process.stderr.write('sigill relay hash-password: empty password on stdin\n');
    return 1;
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

function howToConnect(demo: DemoRelay): string {
  const info = demo.relay.info;
  const [alice, bob] = demo.accounts as [DemoAccount, DemoAccount];
  const [subHost, subPort] = (info.submission ?? '127.0.0.1:?').split(/:(?=\d+$)/);
  const [popHost, popPort] = (info.pop3 ?? '127.0.0.1:?').split(/:(?=\d+$)/);
  const moved = describeMovedPorts(demo.movedPorts).map((line) => `  (${line})\n`).join('');
  return `
Sigill relay (demo) is running. Data: ${info.dataDir}
  users:      ${alice.address}  password ${alice.password}
              ${bob.address}  password ${bob.password}
  submission: ${info.submission ?? 'off'}   (AUTH PLAIN/LOGIN; on loopback also without TLS)
  inbound:    ${info.smtp ?? 'off'}
  pop3:       ${info.pop3 ?? 'off'}
  http view:  ${demo.viewUrl}
              (programs: Authorization: Bearer ${demo.httpToken})
${demo.tlsMissing ? '  (openssl not found: no STARTTLS)\n' : ''}${moved}
Send a message from alice to bob:
  swaks --server ${subHost} --port ${subPort} --auth PLAIN --auth-user ${alice.address} --auth-password '${alice.password}' \\
        --from ${alice.address} --to ${bob.address}${demo.tlsMissing ? '' : ' --tls'}

Read bob's mailbox with Python:
  python3 -c "import poplib; p = poplib.POP3('${popHost}', ${popPort}); p.user('${bob.address}'); p.pass_('${bob.password}'); \\
print(p.stat()); print(b'\\\\n'.join(p.retr(1)[1]).decode()); p.quit()"

Stop with Ctrl-C.
`;
}

export async function run(args: string[]): Promise<number> {
  if (args[0] === 'hash-password') return hashPasswordCommand();
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  let configFile: string | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    if (arg === '--config' && args[index + 1] !== undefined) {
      configFile = args[index + 1];
      index += 1;
    } else if (arg?.startsWith('--config=')) {
      configFile = arg.slice('--config='.length);
    } else {
      process.stderr.write(`sigill relay: unexpected argument ${JSON.stringify(arg)}\n\n${usage}`);
      return 2;
    }
  }

  const logger = createLogger();
  // Listening for Ctrl-C/SIGTERM from the start: a signal that arrives while the relay starts, or right
  // after it printed its addresses, stops it cleanly instead of killing it halfway.
  let stopSignal: NodeJS.Signals | undefined;
  const stopRequested = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      stopSignal = signal;
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  try {
    const demo = configFile === undefined ? await startDemoRelay({ dir: path.resolve('.sigill-relay'), logger }) : undefined;
    const relay = demo ? demo.relay : await startRelay({ config: await loadConfig(configFile as string), logger });
    process.stdout.write(`${JSON.stringify(relay.info)}\n`);
    if (demo) process.stdout.write(howToConnect(demo));
    const { event: _event, ...addresses } = relay.info;
    logger.info('relay.started', addresses);

    await stopRequested;
    logger.info('relay.stopping', { signal: stopSignal });
    await (demo ?? relay).close();
    logger.info('relay.stopped', {});
    return 0;
  } catch (error) {
    if (error instanceof RelayConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof DemoSetupError) {
      process.stderr.write(`sigill relay: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`sigill relay: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
