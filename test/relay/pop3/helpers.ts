/** Test helpers for the POP3 suites: a store + server on loopback, and a raw line-level client. */
import { rm } from 'node:fs/promises';
import { Authenticator, type ThrottleOptions } from '../../../src/relay/auth.ts';
import { createLogger, type Logger } from '../../../src/relay/log.ts';
import { MailboxStore } from '../../../src/relay/mailbox.ts';
import { startPop3Server, type Pop3Limits, type Pop3Server } from '../../../src/relay/pop3/index.ts';
import { tlsCredentials } from '../../../src/relay/tls.ts';
import { LineClient } from '../../support/line-client.ts';
import { tempDir } from '../../support/temp-dir.ts';
import { selfSignedPair } from '../../support/tls-pair.ts';

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
  const dir = await tempDir('sigill-pop3-');
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

/** A self-signed certificate for localhost / 127.0.0.1 in a temp dir (PEM strings; test/support/tls-pair.ts). */
export async function selfSignedCertificate(): Promise<{ cert: string; key: string; dir: string }> {
  const dir = await tempDir('sigill-cert-');
  const { cert, key } = selfSignedPair(dir);
  return { cert, key, dir };
}

/** A line-level POP3 client (test/support/line-client.ts), for protocol edge cases a library client never sends. */
export class RawClient extends LineClient {
  /** `localAddress` another loopback address (127.0.0.2 ...) plays a second client host. */
  static async connect(fixture: { host: string; port: number; localAddress?: string }): Promise<RawClient> {
    return new RawClient(await LineClient.connectSocket(fixture));
  }

  /** Connects and reads the greeting. */
  static async open(fixture: { host: string; port: number; localAddress?: string }): Promise<RawClient> {
    const client = await RawClient.connect(fixture);
    const greeting = await client.readLine();
    if (!greeting.startsWith('+OK')) throw new Error(`bad greeting ${greeting}`);
    return client;
  }

  /** Sends a command and returns the status line. */
  async command(line: string): Promise<string> {
    void this.write(`${line}\r\n`);
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

  /** Upgrades to TLS after a "+OK" to STLS, trusting `ca` (what was buffered in plaintext is dropped). */
  async startTls(ca: string): Promise<void> {
    await this.upgradeToTls({ ca });
  }

  async quit(): Promise<string> {
    const reply = await this.command('QUIT');
    await this.closed;
    return reply;
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
