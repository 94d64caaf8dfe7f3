/** Test helpers for the POP3 suites: a store + server on loopback, and a raw line-level client. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Authenticator, type ThrottleOptions } from '../../../src/relay/auth.ts';
import { createLogger, type Logger } from '../../../src/relay/log.ts';
import { MailboxStore } from '../../../src/relay/mailbox.ts';
import { startPop3Server, type Pop3Limits, type Pop3Server } from '../../../src/relay/pop3/index.ts';
import { tlsCredentials } from '../../../src/relay/tls.ts';

export const ALICE = { address: 'alice@example.test', password: 'correct horse battery' };
export const BOB = { address: 'bob@example.test', password: 'hunter2 hunter2' };
export const CAROL = { address: 'carol@example.test', password: 'lösenord för brevlådan' };

/** Log lines go to an array, so tests can check that no password was logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ stream: { write: (line: string) => lines.push(line) > 0 } }), lines };
}

export interface Pop3Fixture {
  dir: string;
  store: MailboxStore;
  server: Pop3Server;
  host: string;
  port: number;
  logLines: string[];
  close(): Promise<void>;
}

export async function startFixture(
  options: {
    limits?: Pop3Limits;
    tls?: { cert: string; key: string };
    plaintextAuthOnLoopback?: boolean;
    throttle?: ThrottleOptions;
    /** The authenticator's penalty delay (default: none at all). */
    sleep?: (ms: number) => Promise<void>;
  } = {},
): Promise<Pop3Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'sigill-pop3-'));
  const store = new MailboxStore({ dir });
  const { logger, lines } = memoryLogger();
  const authenticator = new Authenticator({ users: [ALICE, BOB, CAROL], throttle: options.throttle, sleep: options.sleep ?? (async () => undefined) });
  const server = await startPop3Server({
    listen: { host: '127.0.0.1', port: 0 },
    store,
    authenticator,
    logger,
    hostname: 'pop.example.test',
    limits: options.limits,
    ...(options.tls ? { tls: tlsCredentials(options.tls).context } : {}),
    plaintextAuthOnLoopback: options.plaintextAuthOnLoopback,
  });
  const { host, port } = server.address;
  return {
    dir,
    store,
    server,
    host,
    port,
    logLines: lines,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A self-signed certificate for 127.0.0.1 made with openssl in a temp dir (PEM strings). */
export async function selfSignedCertificate(): Promise<{ cert: string; key: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sigill-cert-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { cert: await readFile(join(dir, 'cert.pem'), 'utf8'), key: await readFile(join(dir, 'key.pem'), 'utf8'), dir };
}

/** A line-level POP3 client on a raw socket, for protocol edge cases a library client never sends. */
export class RawClient {
  private buffer = '';
  private waiters: (() => void)[] = [];
  ended = false;
  readonly closed: Promise<void>;

  private constructor(private socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** `localAddress` another loopback address (127.0.0.2 ...) plays a second client host. */
  static async connect(fixture: { host: string; port: number; localAddress?: string }): Promise<RawClient> {
    const socket = netConnect({ port: fixture.port, host: fixture.host, ...(fixture.localAddress === undefined ? {} : { localAddress: fixture.localAddress }) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects and reads the greeting. */
  static async open(fixture: { host: string; port: number; localAddress?: string }): Promise<RawClient> {
    const client = await RawClient.connect(fixture);
    const greeting = await client.readLine();
    if (!greeting.startsWith('+OK')) throw new Error(`bad greeting ${greeting}`);
    return client;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  async readLine(): Promise<string> {
    for (;;) {
      const index = this.buffer.indexOf('\r\n');
      if (index !== -1) {
        const line = this.buffer.slice(0, index);
        this.buffer = this.buffer.slice(index + 2);
        return line;
      }
      if (this.ended) throw new Error(`connection closed (pending: ${JSON.stringify(this.buffer)})`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Sends a command and returns the status line. */
  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.readLine();
  }

  /** The lines of a multi-line body up to (not including) the terminating ".", still byte-stuffed. */
  async readBody(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line === '.') return lines;
      lines.push(line);
    }
  }

  /** Sends a command expecting +OK and a multi-line body. */
  async multiline(line: string): Promise<{ status: string; lines: string[] }> {
    const status = await this.command(line);
    if (!status.startsWith('+OK')) return { status, lines: [] };
    return { status, lines: await this.readBody() };
  }

  async login(user: { address: string; password: string }): Promise<string> {
    const userReply = await this.command(`USER ${user.address}`);
    if (!userReply.startsWith('+OK')) return userReply;
    return this.command(`PASS ${user.password}`);
  }

  /** Upgrades to TLS after a "+OK" to STLS (what was buffered in plaintext is dropped, as a client must). */
  async startTls(ca: string): Promise<void> {
    this.buffer = '';
    const raw = this.socket;
    raw.removeAllListeners('data');
    const secure = tlsConnect({ socket: raw, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  destroy(): void {
    this.socket.destroy();
  }

  async quit(): Promise<string> {
    const reply = await this.command('QUIT');
    await this.closed;
    return reply;
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
