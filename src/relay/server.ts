/**
 * Assembles the relay: spool and delivery queue, the SMTP submission and inbound listeners, POP3
 * and the HTTP view, then reports the bound addresses. `close()` stops the listeners, lets the
 * deliveries in flight finish and returns; nothing accepted is lost (it is in the spool).
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { domainToASCII } from 'node:url';
import { Authenticator, type ThrottleOptions } from './auth.ts';
import { formatListenAddress, RelayConfigError, type ListenAddress, type RelayConfig } from './config.ts';
import type { DeliveryOutcome } from './delivery/outcome.ts';
import { DeliveryQueue, type DeliveryAttempt } from './delivery/queue.ts';
import { deliverRemote, nextHops, type MxResolver } from './delivery/remote.ts';
import { headerSection } from './delivery/dsn.ts';
import { createLogger, type Logger } from './log.ts';
import { MailboxStore } from './mailbox.ts';
import { headerField } from './message.ts';
import { startHttpView } from './http/index.ts';
import { startPop3Server } from './pop3/index.ts';
import { startSmtpListener, type RunningListener } from './smtp/listener.ts';
import { Spool } from './spool/index.ts';

export interface StartRelayOptions {
  config: RelayConfig;
  logger?: Logger;
  /** Brute-force throttling (defaults in auth.ts); tests use tiny delays. */
  throttle?: ThrottleOptions;
  /** MX lookups (default node:dns). */
  resolver?: MxResolver;
  /** Parallel deliveries. */
  concurrency?: number;
  /** AUTH and POP3 login over plaintext on loopback (default true; tests turn it off). */
  plaintextAuthOnLoopback?: boolean;
}

export interface ListeningInfo {
  event: 'listening';
  hostname: string;
  submission: string | null;
  smtp: string | null;
  pop3: string | null;
  http: string | null;
  dataDir: string;
}

export interface RunningRelay {
  info: ListeningInfo;
  store: MailboxStore;
  queue: DeliveryQueue;
  spool: Spool;
  close(): Promise<void>;
}

/** RFC 5321 §6.3: a message that went through this many hops is looping. */
const MAX_HOPS = 30;

function countReceived(message: Buffer): number {
  return headerSection(message).split('\r\n').filter((line) => /^received:/i.test(line)).length;
}

async function readTls(config: RelayConfig): Promise<{ key: Buffer; cert: Buffer } | null> {
  if (!config.tls) return null;
  const read = async (file: string, field: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new RelayConfigError(field, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const pair = { key: await read(config.tls.key, 'tls.key'), cert: await read(config.tls.cert, 'tls.cert') };
  try {
    createSecureContext(pair); // a bad PEM or a key that does not match is a config error, found now
  } catch (error) {
    throw new RelayConfigError('tls', `unusable certificate/key: ${(error as Error).message}`);
  }
  return pair;
}

export async function startRelay(options: StartRelayOptions): Promise<RunningRelay> {
  const { config } = options;
  const logger = options.logger ?? createLogger();
  // parseConfig already demands it; a config built by hand must not start an open view either.
  const httpToken = config.http.token ?? '';
  if (config.listen.http && httpToken === '') throw new RelayConfigError('http.token', 'required while the HTTP view is enabled (listen.http)');
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    throw new RelayConfigError('dataDir', `cannot create ${config.dataDir}: ${error.code ?? error.message}`);
  });
  const tls = await readTls(config);
  const authenticator = new Authenticator({ users: config.users, ...(options.throttle ? { throttle: options.throttle } : {}) });
  const store = new MailboxStore({ dir: config.dataDir });
  const spool = new Spool({ dir: path.join(config.dataDir, 'spool') });
  await spool.init();

  const deliver = async ({ record, message, deliveryId }: DeliveryAttempt): Promise<DeliveryOutcome> => {
    const recipient = record.recipient;
    // Routing looks at the A-label form; the address itself travels on as the client wrote it.
    const domain = domainToASCII(recipient.slice(recipient.lastIndexOf('@') + 1)).toLowerCase();
    if (config.domains.includes(domain)) {
      if (!authenticator.hasUser(recipient)) {
        return { status: 'permanent', statusCode: '5.1.1', diagnostic: `no mailbox for ${recipient} here` };
      }
      // RFC 5321 §4.4: the final delivery records the reverse-path as Return-Path.
      const returnPath = headerField('Return-Path', `<${record.sender}>`);
      await store.deliver(recipient.toLowerCase(), Buffer.concat([returnPath, message]), { id: deliveryId });
      return { status: 'delivered' };
    }
    if (countReceived(message) > MAX_HOPS) {
      return { status: 'permanent', statusCode: '5.4.6', diagnostic: `mail loop: more than ${MAX_HOPS} Received headers` };
    }
    const lookup = await nextHops({ domain, routes: config.routes, ...(options.resolver ? { resolver: options.resolver } : {}) });
    if (!lookup.ok) return lookup.outcome;
    return deliverRemote({ hops: lookup.hops, hostname: config.hostname, sender: record.sender, recipient, message });
  };

  const queue = new DeliveryQueue({
    spool,
    hostname: config.hostname,
    retry: config.retry,
    deliver,
    logger: logger.child({ component: 'queue' }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  await queue.start();

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(closers.splice(0).map((close) => close()));
    await queue.stop();
  };
  const named = async <T>(what: string, listen: ListenAddress, start: () => Promise<T>): Promise<T> => {
    try {
      return await start();
    } catch (error) {
      await closeAll();
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new RelayConfigError(`listen.${what}`, `cannot listen on ${formatListenAddress(listen)}: ${code}`);
    }
  };

  const smtpListener = async (kind: 'submission' | 'inbound', listen: ListenAddress): Promise<RunningListener> =>
    named(kind === 'inbound' ? 'smtp' : 'submission', listen, () =>
      startSmtpListener({
        kind,
        listen,
        hostname: config.hostname,
        domains: config.domains,
        relayDomains: Object.keys(config.routes),
        relayRecipients: config.relayRecipients,
        limits: config.limits,
        tls,
        authenticator,
        ...(config.postmaster === null ? {} : { postmaster: config.postmaster }),
        isLocalUser: (address) => authenticator.hasUser(address),
        spool,
        onAccepted: (records) => queue.add(records),
        ...(options.plaintextAuthOnLoopback === undefined ? {} : { plaintextAuthOnLoopback: options.plaintextAuthOnLoopback }),
        logger: logger.child({ component: 'smtp' }),
      }),
    );

  const info: ListeningInfo = { event: 'listening', hostname: config.hostname, submission: null, smtp: null, pop3: null, http: null, dataDir: config.dataDir };
  if (config.listen.submission) {
    const listener = await smtpListener('submission', config.listen.submission);
    closers.push(listener.close);
    info.submission = formatListenAddress(listener.address);
  }
  if (config.listen.smtp) {
    const listener = await smtpListener('inbound', config.listen.smtp);
    closers.push(listener.close);
    info.smtp = formatListenAddress(listener.address);
  }
  if (config.listen.pop3) {
    const listen = config.listen.pop3;
    const pop3 = await named('pop3', listen, () =>
      startPop3Server({
        listen: formatListenAddress(listen),
        store,
        authenticator,
        ...(config.tls ? { tls: { cert: config.tls.cert, key: config.tls.key } } : {}),
        logger: logger.child({ component: 'pop3' }),
        hostname: config.hostname,
        limits: {
          maxConnections: config.limits.connections,
          maxConnectionsPerClient: config.limits.connectionsPerClient,
          stressIdleTimeoutMs: config.limits.stressIdleTimeoutSeconds * 1000,
        },
        ...(options.plaintextAuthOnLoopback === undefined ? {} : { plaintextAuthOnLoopback: options.plaintextAuthOnLoopback }),
      }),
    );
    closers.push(pop3.close);
    info.pop3 = pop3.address;
  }
  if (config.listen.http) {
    const listen = config.listen.http;
    const token = httpToken;
    const http = await named('http', listen, () =>
      startHttpView({
        listen: formatListenAddress(listen),
        store,
        spoolDir: spool.dir,
        logger: logger.child({ component: 'http' }),
        token,
        allowedHosts: [config.hostname, ...config.http.hosts],
      }),
    );
    closers.push(http.close);
    info.http = http.address;
  }
  return { info, store, queue, spool, close: closeAll };
}
