/**
 * Shared helpers of the relay tests: temporary relays on loopback port 0, a raw SMTP client on a
 * net.Socket (for the byte-exact attacks), a self-signed pair made with openssl, and polling.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parseConfig, type RelayConfig } from '../../src/relay/config.ts';
import { parseHostPort } from '../../src/relay/network.ts';
import { silentLogger, type Logger } from '../../src/relay/log.ts';
import { startRelay, type RunningRelay, type StartRelayOptions } from '../../src/relay/server.ts';

export const PASSWORDS = { alice: 'alice-secret-1', bob: 'bob-secret-2' } as const;
/** The HTTP view's token in test relays that do not set their own. */
export const HTTP_TOKEN = 'test-http-view-token-0123456789';

export async function tempDir(prefix = 'sigill-relay-test-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** A self-signed certificate for localhost / 127.0.0.1 (openssl CLI). */
export function makeTlsPair(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

export interface TestRelayOptions {
  domain?: string;
  users?: { address: string; password: string }[];
  routes?: Record<string, string | { nextHop: string; recipients?: string[] }>;
  retry?: { scheduleSeconds: number[]; maxAgeSeconds: number };
  limits?: Record<string, number>;
  tls?: { cert: string; key: string };
  http?: { token: string };
  listen?: Record<string, string | null>;
  extra?: Partial<StartRelayOptions>;
  /** More top-level config fields (e.g. postmaster). */
  extraConfig?: Record<string, unknown>;
  logger?: Logger;
}

export interface TestRelay extends RunningRelay {
  config: RelayConfig;
  dir: string;
  submissionPort: number;
  smtpPort: number;
  stop(): Promise<void>;
}

export function portOf(address: string | null): number {
  if (!address) throw new Error('listener is disabled');
  return parseHostPort(address).port;
}

export async function startTestRelay(options: TestRelayOptions = {}): Promise<TestRelay> {
  const domain = options.domain ?? 'sigill.test';
  const dir = await tempDir();
  const config = parseConfig(
    {
      hostname: `mx.${domain}`,
      domains: [domain],
      users: options.users ?? [
        { address: `alice@${domain}`, password: PASSWORDS.alice },
        { address: `bob@${domain}`, password: PASSWORDS.bob },
      ],
      listen: { submission: '127.0.0.1:0', smtp: '127.0.0.1:0', pop3: null, http: null, ...options.listen },
      ...(options.tls ? { tls: options.tls } : {}),
      http: options.http ?? { token: HTTP_TOKEN },
      ...(options.routes ? { routes: options.routes } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      dataDir: dir,
      ...options.extraConfig,
    },
    { baseDir: dir },
  );
  const relay = await startRelay({ config, logger: options.logger ?? silentLogger(), ...options.extra });
  return {
    ...relay,
    config,
    dir,
    submissionPort: relay.info.submission ? portOf(relay.info.submission) : 0,
    smtpPort: relay.info.smtp ? portOf(relay.info.smtp) : 0,
    stop: async () => {
      await relay.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** All stored messages of a mailbox, as text. */
export async function mailboxMessages(relay: { store: RunningRelay['store'] }, address: string): Promise<string[]> {
  const list = await relay.store.list(address);
  return Promise.all(list.map(async (entry) => Buffer.from(await relay.store.read(address, entry.id)).toString('utf8')));
}

/** Whether the spool queue is empty (everything delivered or bounced). */
export async function spoolEmpty(dataDir: string): Promise<boolean> {
  return (await readdir(path.join(dataDir, 'spool', 'queue'))).length === 0;
}

export async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

export interface Reply {
  code: number;
  lines: string[];
  text: string;
}

/** A byte-exact SMTP client: what is written is exactly what goes on the wire. */
export class RawSmtp {
  private buffer = '';
  private readonly replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  private closed = false;
  private pending: string[] = [];

  private constructor(private socket: net.Socket | tls.TLSSocket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket | tls.TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      let index: number;
      while ((index = this.buffer.indexOf('\r\n')) >= 0) {
        const line = this.buffer.slice(0, index);
        this.buffer = this.buffer.slice(index + 2);
        this.pending.push(line);
        if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) {
          const lines = this.pending;
          this.pending = [];
          this.replies.push({ code: Number(line.slice(0, 3)), lines, text: lines.join('\n') });
        }
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** `localAddress` another loopback address (127.0.0.2 ...) plays a second client host. */
  static connect(port: number, localAddress?: string): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, ...(localAddress === undefined ? {} : { localAddress }) }, () => {
        socket.setNoDelay(true);
        resolve(new RawSmtp(socket));
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** One byte per write, each after the previous one was flushed. */
  async writeBytewise(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (const byte of bytes) {
      await this.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The next reply (multi-line replies come as one). */
  async reply(timeoutMs = 20_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const next = this.replies.shift();
      if (next) return next;
      if (this.closed) throw new Error('connection closed before a reply');
      if (Date.now() > deadline) throw new Error('no reply in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async command(line: string): Promise<Reply> {
    await this.write(`${line}\r\n`);
    return this.reply();
  }

  /** Replies received so far and not yet read. */
  drain(): Reply[] {
    return this.replies.splice(0);
  }

  /** STARTTLS was answered 220: wrap the socket. */
  async upgrade(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.buffer = '';
    this.attach(secure);
  }

  async login(user: string, password: string): Promise<Reply> {
    const token = Buffer.from(`\0${user}\0${password}`).toString('base64');
    return this.command(`AUTH PLAIN ${token}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects, reads the greeting, says EHLO. */
export async function openSession(port: number, helo = 'client.test', localAddress?: string): Promise<RawSmtp> {
  const client = await RawSmtp.connect(port, localAddress);
  const greeting = await client.reply();
  if (greeting.code !== 220) throw new Error(`unexpected greeting ${greeting.text}`);
  const ehlo = await client.command(`EHLO ${helo}`);
  if (ehlo.code !== 250) throw new Error(`EHLO refused: ${ehlo.text}`);
  return client;
}
