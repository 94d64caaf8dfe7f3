/**
 * The one loopback demo relay behind `sigill relay` (started without --config) and `sigill demo`.
 *
 * Everything it needs is kept in one state directory, so a later run looks like the first one to a
 * mail client or a browser:
 *
 *   accounts.json   alice@ and bob@sigill.test with passwords made on the first run (0600)
 *   http-token      the HTTP view's access token, made on the first run (0600)
 *   ports.json      the ports the listeners had; reused, and replaced only when one is taken
 *   tls/            a self-signed pair made with the `openssl` command line (none without openssl)
 *   demo.lock       the pid of the process running the relay on this directory
 *   demo-keys.json  (sigill demo) the demo accounts' OpenPGP key pairs, passphrase-protected, with the passphrases (0600)
 *   welcome.json    (sigill demo) which view address and key the last welcome mail was for
 *
 * The relay's data (mailboxes, spool) goes to `dataDir`, by default the state directory itself.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../relay/config.ts';
import type { Logger } from '../relay/log.ts';
import { startRelay, type RunningRelay } from '../relay/server.ts';

export interface DemoAccount {
  address: string;
  fullName: string;
  password: string;
}

export type DemoListener = 'submission' | 'smtp' | 'pop3' | 'http';
const LISTENERS: readonly DemoListener[] = ['submission', 'smtp', 'pop3', 'http'];

export interface MovedPort {
  listener: DemoListener;
  /** The port of the earlier runs, taken now by another program. */
  was: number;
  now: number;
}

export interface DemoRelayOptions {
  /** The state directory (created 0700). */
  dir: string;
  /** The relay's data directory; default `dir`. */
  dataDir?: string;
  logger: Logger;
}

export interface DemoRelay {
  relay: RunningRelay;
  accounts: DemoAccount[];
  /** The HTTP view's bearer token (≥ 32 characters). */
  httpToken: string;
  /** The HTTP view's address without the token, e.g. http://127.0.0.1:8025 */
  httpUrl: string;
  /** The HTTP view's front page with the token, to open in a browser (it then keeps a cookie). */
  viewUrl: string;
  /** No openssl: no STARTTLS, and AUTH works on loopback only. */
  tlsMissing: boolean;
  /** Listeners whose earlier port was taken this run. */
  movedPorts: MovedPort[];
  /** Stops the relay and releases the state directory. */
  close(): Promise<void>;
}

/** The state directory cannot be used as it is (damaged file, in use); the message says what to do. */
export class DemoSetupError extends Error {
  override name = 'DemoSetupError';
}

export const DEMO_DOMAIN = 'sigill.test';
const HOSTNAME = `mx.${DEMO_DOMAIN}`;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Writes a state file whole or not at all (a crash mid-write leaves the old one). */
export async function writeState(file: string, text: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, file);
}

/** Reads a JSON state file, or undefined when it does not exist; a damaged one is a clear error. */
export async function readState(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DemoSetupError(`${file} is not valid JSON; delete it and a new one is made`);
  }
}

async function demoAccounts(dir: string): Promise<DemoAccount[]> {
  const file = path.join(dir, 'accounts.json');
  const saved = await readState(file);
  if (saved !== undefined) {
    const valid =
      Array.isArray(saved) &&
      saved.length >= 2 &&
      saved.every((entry: unknown) => {
        const account = entry as Partial<DemoAccount> | null;
        return typeof account?.address === 'string' && typeof account.password === 'string' && typeof account.fullName === 'string';
      });
    if (!valid) throw new DemoSetupError(`${file} does not list the demo accounts; delete it and new ones are made`);
    return saved as DemoAccount[];
  }
  const accounts: DemoAccount[] = [
    { address: `alice@${DEMO_DOMAIN}`, fullName: 'Alice', password: randomBytes(9).toString('base64url') },
    { address: `bob@${DEMO_DOMAIN}`, fullName: 'Bob', password: randomBytes(9).toString('base64url') },
  ];
  await writeState(file, `${JSON.stringify(accounts, null, 2)}\n`, 0o600);
  return accounts;
}

async function demoHttpToken(dir: string): Promise<string> {
  const file = path.join(dir, 'http-token');
  if (await exists(file)) {
    const token = (await readFile(file, 'utf8')).trim();
    if (/^[\x21-\x7e]{32,}$/.test(token)) return token;
  }
  // 32 random bytes: 43 base64url characters, printable ASCII as an RFC 6750 token must be.
  const token = randomBytes(32).toString('base64url');
  await writeState(file, `${token}\n`, 0o600);
  return token;
}

/** A self-signed pair for the demo, generated once with the openssl CLI; null without openssl. */
async function demoTls(dir: string): Promise<{ cert: string; key: string } | null> {
  const tlsDir = path.join(dir, 'tls');
  const cert = path.join(tlsDir, 'cert.pem');
  const key = path.join(tlsDir, 'key.pem');
  if ((await exists(cert)) && (await exists(key))) return { cert, key };
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825',
      '-subj', `/CN=${HOSTNAME}`, '-addext', `subjectAltName=DNS:${HOSTNAME},DNS:localhost,IP:127.0.0.1`,
      '-keyout', key, '-out', cert,
    ]);
    return { cert, key };
  } catch {
    return null;
  }
}

/** Whether nothing listens on 127.0.0.1:port right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The earlier runs' ports where still free; port 0 (a new free one) for the rest and on the first run. */
async function demoPorts(file: string): Promise<{ ports: Record<DemoListener, number>; moved: Omit<MovedPort, 'now'>[] }> {
  // Only a preference: a damaged file means new ports, not an error.
  const saved = ((await readState(file).catch(() => undefined)) ?? {}) as Partial<Record<DemoListener, unknown>>;
  const ports = { submission: 0, smtp: 0, pop3: 0, http: 0 };
  const moved: Omit<MovedPort, 'now'>[] = [];
  for (const listener of LISTENERS) {
    const port = saved[listener];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1024 || port > 65_535) continue;
    if (await portIsFree(port)) ports[listener] = port;
    else moved.push({ listener, was: port });
  }
  return { ports, moved };
}

const portOf = (address: string | null): number => Number(address?.slice(address.lastIndexOf(':') + 1));

/**
 * Holds the state directory for this process: two relays on one data directory would share a spool
 * and mailboxes. A lock left by a process that is gone is taken over.
 */
async function lockDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'demo.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new DemoSetupError(`${dir} is in use by another demo relay (pid ${pid}); stop it first, or use another directory`);
    }
    await rm(file, { force: true }); // stale: its process is gone
  }
  throw new DemoSetupError(`cannot lock ${dir}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but not ours
  }
}

/** Starts the demo relay on loopback with the state kept in `options.dir`. */
export async function startDemoRelay(options: DemoRelayOptions): Promise<DemoRelay> {
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const unlock = await lockDir(dir);
  try {
    const accounts = await demoAccounts(dir);
    const httpToken = await demoHttpToken(dir);
    const tls = await demoTls(dir);
    const portsFile = path.join(dir, 'ports.json');
    const { ports, moved } = await demoPorts(portsFile);
    const listen = Object.fromEntries(LISTENERS.map((listener) => [listener, `127.0.0.1:${ports[listener]}`]));
    const config = parseConfig(
      {
        hostname: HOSTNAME,
        domains: [DEMO_DOMAIN],
        users: accounts.map(({ address, password }) => ({ address, password })),
        listen,
        ...(tls ? { tls } : {}),
        http: { token: httpToken },
        dataDir: options.dataDir === undefined ? dir : path.resolve(options.dataDir),
      },
      { baseDir: dir },
    );
    const relay = await startRelay({ config, logger: options.logger });
    const bound = Object.fromEntries(LISTENERS.map((listener) => [listener, portOf(relay.info[listener])])) as Record<DemoListener, number>;
    await writeState(portsFile, `${JSON.stringify(bound, null, 2)}\n`, 0o644);
    const httpUrl = `http://${relay.info.http ?? ''}`;
    return {
      relay,
      accounts,
      httpToken,
      httpUrl,
      viewUrl: `${httpUrl}/?token=${httpToken}`,
      tlsMissing: tls === null,
      movedPorts: moved.map((entry) => ({ ...entry, now: bound[entry.listener] })),
      close: async () => {
        try {
          await relay.close();
        } finally {
          await unlock();
        }
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}

/** One line per listener that had to move, for people to read. */
export function describeMovedPorts(moved: MovedPort[]): string[] {
  return moved.map(
    ({ listener, was, now }) =>
      `port ${was} (${listener}) is taken by another program; using ${now} this run and from now on (links with :${was} no longer work)`,
  );
}
