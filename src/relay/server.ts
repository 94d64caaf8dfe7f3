/**
 * Assembles the relay: spool and delivery queue, the SMTP submission and inbound listeners, POP3
 * and the HTTP view, then reports the bound addresses. `close()` stops the listeners, lets the
 * deliveries in flight finish and returns; nothing accepted is lost (it is in the spool).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Authenticator, type ThrottleOptions } from './auth.ts';
import { RelayConfigError, type RelayConfig } from './config.ts';
import { createDeliverer } from './delivery/deliver.ts';
import { DeliveryQueue } from './delivery/queue.ts';
import type { MxResolver } from './delivery/remote.ts';
import { startHttpView } from './http/index.ts';
import { createLogger, type Logger } from './log.ts';
import { MailboxStore } from './mailbox.ts';
import { formatHostPort, type ListenAddress } from './network.ts';
import { startPop3Server } from './pop3/index.ts';
import { startSmtpListener, type RunningListener } from './smtp/listener.ts';
import { Spool } from './spool/index.ts';
import { readTlsFiles } from './tls.ts';

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

export async function startRelay(options: StartRelayOptions): Promise<RunningRelay> {
  const { config } = options;
  const logger = options.logger ?? createLogger();
  // parseConfig already demands it; a config built by hand must not start an open view either.
  const httpToken = config.http.token ?? '';
  if (config.listen.http && httpToken === '') throw new RelayConfigError('http.token', 'required while the HTTP view is enabled (listen.http)');
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    throw new RelayConfigError('dataDir', `cannot create ${config.dataDir}: ${error.code ?? error.message}`);
  });
  const tls = config.tls === null ? null : await readTlsFiles(config.tls);
  const authenticator = new Authenticator({ users: config.users, ...(options.throttle ? { throttle: options.throttle } : {}) });
  const store = new MailboxStore({ dir: config.dataDir });
  const spool = new Spool({ dir: path.join(config.dataDir, 'spool') });
  await spool.init();
  const deliver = createDeliverer({
    hostname: config.hostname,
    domains: config.domains,
    routes: config.routes,
    hasMailbox: (address) => authenticator.hasUser(address),
    store,
    ...(options.resolver ? { resolver: options.resolver } : {}),
  });

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
      throw new RelayConfigError(`listen.${what}`, `cannot listen on ${formatHostPort(listen)}: ${code}`);
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
    info.submission = formatHostPort(listener.address);
  }
  if (config.listen.smtp) {
    const listener = await smtpListener('inbound', config.listen.smtp);
    closers.push(listener.close);
    info.smtp = formatHostPort(listener.address);
  }
  if (config.listen.pop3) {
    const listen = config.listen.pop3;
    const pop3 = await named('pop3', listen, () =>
      startPop3Server({
        listen,
        store,
        authenticator,
        ...(tls ? { tls: tls.context } : {}),
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
    info.pop3 = formatHostPort(pop3.address);
  }
  if (config.listen.http) {
    const listen = config.listen.http;
    const token = httpToken;
    const http = await named('http', listen, () =>
      startHttpView({
        listen,
        store,
        spool,
        logger: logger.child({ component: 'http' }),
        token,
        allowedHosts: [config.hostname, ...config.http.hosts],
      }),
    );
    closers.push(http.close);
    info.http = formatHostPort(http.address);
  }
  return { info, store, queue, spool, close: closeAll };
}
