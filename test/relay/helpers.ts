/**
 * Shared helpers of the relay tests: temporary relays on loopback port 0, a raw SMTP client (for the
 * byte-exact attacks) on test/support's line client, a self-signed pair, and polling.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseConfig, type RelayConfig } from '../../src/relay/config.ts';
import { parseHostPort } from '../../src/relay/network.ts';
import { silentLogger, type Logger } from '../../src/relay/log.ts';
import { startRelay, type RunningRelay, type StartRelayOptions } from '../../src/relay/server.ts';
import { LineClient } from '../support/line-client.ts';
import { tempDir } from '../support/temp-dir.ts';
import { selfSignedPair } from '../support/tls-pair.ts';

export const PASSWORDS = { alice: 'alice-secret-1', bob: 'bob-secret-2' } as const;
/** The HTTP view's token in test relays that do not set their own. */
export const HTTP_TOKEN = 'test-http-view-token-0123456789';

export { tempDir };

/** A self-signed certificate for localhost / 127.0.0.1 in `dir` (test/support/tls-pair.ts): the file paths. */
export function makeTlsPair(dir: string): { cert: string; key: string } {
  const pair = selfSignedPair(dir);
  return { cert: pair.certFile, key: pair.keyFile };
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

/** A byte-exact SMTP client (test/support/line-client.ts) that reads multi-line replies as one. */
export class RawSmtp extends LineClient {
  private pending: string[] = [];

  /** `localAddress` another loopback address (127.0.0.2 ...) plays a second client host. */
  static async connect(port: number, localAddress?: string): Promise<RawSmtp> {
    return new RawSmtp(await LineClient.connectSocket({ port, ...(localAddress === undefined ? {} : { localAddress }) }));
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** One byte per write, each after the previous one was flushed. */
  async writeBytewise(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (const byte of bytes) {
      await this.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Adds a line to the reply being read; the reply once its last line (`250 ...`) came. */
  private collect(line: string): Reply | undefined {
    this.pending.push(line);
    if (!/^\d{3}( |$)/.test(line)) return undefined;
    const lines = this.pending;
    this.pending = [];
    return { code: Number(line.slice(0, 3)), lines, text: lines.join('\n') };
  }

  /** The next reply (multi-line replies come as one). */
  async reply(timeoutMs = 20_000): Promise<Reply> {
    for (;;) {
      const reply = this.collect(await this.readLine(timeoutMs));
      if (reply) return reply;
    }
  }

  async command(line: string): Promise<Reply> {
    await this.write(`${line}\r\n`);
    return this.reply();
  }

  /** Replies received so far and not yet read. */
  drain(): Reply[] {
    const replies: Reply[] = [];
    for (let line = this.takeLine(); line !== undefined; line = this.takeLine()) {
      const reply = this.collect(line);
      if (reply) replies.push(reply);
    }
    return replies;
  }

  /** STARTTLS was answered 220: wrap the socket. */
  async upgrade(): Promise<void> {
    this.pending = [];
    await this.upgradeToTls();
  }

  async login(user: string, password: string): Promise<Reply> {
    const token = Buffer.from(`\0${user}\0${password}`).toString('base64');
    return this.command(`AUTH PLAIN ${token}`);
  }

  close(): void {
    this.destroy();
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
