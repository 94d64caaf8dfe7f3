/**
 * `sigill relay [--config relay.json]` runs the mail relay; `sigill relay hash-password` reads a
 * password on stdin and prints its `scrypt$...` hash for the config.
 *
 * Without --config it starts a loopback demo: data in ./.sigill-relay, users alice@ and bob@sigill.test
 * with random passwords (printed), and a self-signed TLS pair made with the `openssl` command line
 * (kept in <dataDir>/tls/; without openssl there is no STARTTLS and AUTH works on loopback only).
 *
 * stdout carries exactly one JSON `listening` line (then, for the demo only, how to connect);
 * logs go to stderr as JSON lines.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { hashPassword } from '../relay/auth.ts';
import { loadConfig, parseConfig, RelayConfigError, type RelayConfig } from '../relay/config.ts';
import { createLogger } from '../relay/log.ts';
import { startRelay, type ListeningInfo } from '../relay/server.ts';

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

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** A self-signed pair for the demo, generated once with the openssl CLI. */
async function demoTls(dataDir: string, hostname: string): Promise<{ cert: string; key: string } | null> {
  const dir = path.join(dataDir, 'tls');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if ((await exists(cert)) && (await exists(key))) return { cert, key };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825',
      '-subj', `/CN=${hostname}`, '-addext', `subjectAltName=DNS:${hostname},DNS:localhost,IP:127.0.0.1`,
      '-keyout', key, '-out', cert,
    ]);
    return { cert, key };
  } catch {
    return null;
  }
}

async function demoConfig(): Promise<{ config: RelayConfig; passwords: Record<string, string>; tlsMissing: boolean }> {
  const hostname = 'mx.sigill.test';
  const dataDir = path.resolve('.sigill-relay');
  const passwords: Record<string, string> = {
    'alice@sigill.test': randomBytes(9).toString('base64url'),
    'bob@sigill.test': randomBytes(9).toString('base64url'),
  };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tls = await demoTls(dataDir, hostname);
  const config = parseConfig(
    {
      hostname,
      domains: ['sigill.test'],
      users: Object.entries(passwords).map(([address, password]) => ({ address, password })),
      ...(tls ? { tls } : {}),
      // The HTTP view always needs a token now; a fresh one per start.
      http: { token: randomBytes(24).toString('base64url') },
      dataDir,
    },
    { baseDir: process.cwd() },
  );
  return { config, passwords, tlsMissing: tls === null };
}

function howToConnect(info: ListeningInfo, passwords: Record<string, string>, tlsMissing: boolean): string {
  const [alice, bob] = Object.keys(passwords) as [string, string];
  const [subHost, subPort] = (info.submission ?? '127.0.0.1:?').split(/:(?=\d+$)/);
  const [popHost, popPort] = (info.pop3 ?? '127.0.0.1:?').split(/:(?=\d+$)/);
  return `
Sigill relay (demo) is running. Data: ${info.dataDir}
  users:      ${alice}  password ${passwords[alice]}
              ${bob}  password ${passwords[bob]}
  submission: ${info.submission ?? 'off'}   (AUTH PLAIN/LOGIN; on loopback also without TLS)
  inbound:    ${info.smtp ?? 'off'}
  pop3:       ${info.pop3 ?? 'off'}
  http view:  ${info.http ? `http://${info.http}/` : 'off'}
${tlsMissing ? '  (openssl not found: no STARTTLS)\n' : ''}
Send a message from alice to bob:
  swaks --server ${subHost} --port ${subPort} --auth PLAIN --auth-user ${alice} --auth-password '${passwords[alice]}' \\
        --from ${alice} --to ${bob}${tlsMissing ? '' : ' --tls'}

Read bob's mailbox with Python:
  python3 -c "import poplib; p = poplib.POP3('${popHost}', ${popPort}); p.user('${bob}'); p.pass_('${passwords[bob]}'); \\
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
  try {
    const demo = configFile === undefined ? await demoConfig() : undefined;
    const config = demo ? demo.config : await loadConfig(configFile as string);
    const relay = await startRelay({ config, logger });
    process.stdout.write(`${JSON.stringify(relay.info)}\n`);
    if (demo) process.stdout.write(howToConnect(relay.info, demo.passwords, demo.tlsMissing));
    const { event: _event, ...addresses } = relay.info;
    logger.info('relay.started', addresses);

    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        logger.info('relay.stopping', { signal });
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await relay.close();
    logger.info('relay.stopped', {});
    return 0;
  } catch (error) {
    if (error instanceof RelayConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    process.stderr.write(`sigill relay: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
