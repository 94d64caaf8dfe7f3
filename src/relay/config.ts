/**
 * The relay's configuration: a JSON file (`sigill relay --config relay.json`), validated field by
 * field with errors that name the field (`relay config: users[1].address: not an e-mail address`),
 * or embedded defaults for a loopback demo. Relative paths resolve against the config file's folder.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { parsePasswordHash, PasswordHashError, type UserConfig } from './auth.ts';
import { formatHostPort, HostPortError, parseHostPort, type ListenAddress } from './network.ts';

export type { ListenAddress };

export interface ListenConfig {
  submission: ListenAddress | null;
  smtp: ListenAddress | null;
  pop3: ListenAddress | null;
  http: ListenAddress | null;
}

export interface TlsFiles {
  /** Absolute paths of PEM files. */
  cert: string;
  key: string;
}

export interface HttpViewConfig {
  /**
   * The secret every request to the HTTP view must carry (`Authorization: Bearer <token>`, RFC 6750,
   * or once in the URL, which turns it into a cookie). Required whenever the view is enabled; null
   * only when listen.http is null.
   */
  token: string | null;
  /**
   * Host names (or IP literals) accepted in the `Host` header besides loopback literals, `localhost`
   * and the relay's hostname: anything else is refused, so that a DNS-rebinding web page cannot read
   * the view through the user's browser.
   */
  hosts: string[];
}

export interface LimitsConfig {
  /** Largest message accepted, in octets (SIZE, RFC 1870). */
  messageSize: number;
  /** Recipients per transaction (RFC 5321 §4.5.3.1.8: at least 100). */
  recipients: number;
  /** Longest text line in DATA including CRLF (RFC 5321 §4.5.3.1.6: 1000). */
  lineLength: number;
  /** Concurrent connections per listener. */
  connections: number;
  /**
   * Concurrent connections per listener from one client address (IPv6: one /64), as Postfix's
   * smtpd_client_connection_count_limit. Default: half of `connections`.
   */
  connectionsPerClient: number;
  /**
   * Bytes per second a client must keep up during DATA (Postfix's smtpd_min_data_rate): each byte
   * received extends the deadline by 1/rate s, up to `idleTimeoutSeconds` ahead. 0: only the idle
   * timeout applies.
   */
  minDataRate: number;
  /** SMTP idle timeout (RFC 5321 §4.5.3.2.7: 5 minutes). */
  idleTimeoutSeconds: number;
  /**
   * Idle timeout for connections that arrive while a listener is near its connection limit (80 %),
   * as Postfix's stress mode; SMTP and POP3.
   */
  stressIdleTimeoutSeconds: number;
}

export interface RetryConfig {
  /** Delays before the 2nd, 3rd ... attempt; the last one repeats. Fractions allowed (tests). */
  scheduleSeconds: number[];
  /** After this long in the queue a message bounces. */
  maxAgeSeconds: number;
}

export interface RelayConfig {
  hostname: string;
  /** Lower-case local domains. */
  domains: string[];
  users: UserConfig[];
  /**
   * The user whose mailbox takes mail for "postmaster" (RFC 5321 §4.5.1). Default: postmaster@ the
   * first domain if that is a user, else the first user; null only without users.
   */
  postmaster: string | null;
  listen: ListenConfig;
  tls: TlsFiles | null;
  http: HttpViewConfig;
  /** Lower-case domain → next hop. */
  routes: Record<string, ListenAddress>;
  /**
   * Lower-case routed domain → the only (lower-case) addresses accepted for it at RCPT, as Postfix's
   * relay_recipient_maps; a routed domain without a list accepts any local part.
   */
  relayRecipients: Record<string, string[]>;
  /** Absolute. */
  dataDir: string;
  limits: LimitsConfig;
  retry: RetryConfig;
}

export class RelayConfigError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`relay config: ${field}: ${problem}`);
    this.name = 'RelayConfigError';
  }
}

/** Share of a listener's connection limit from which new connections get the stress-mode idle timeout. */
export const STRESS_THRESHOLD = 0.8;

export const DEFAULT_LIMITS: LimitsConfig = {
  messageSize: 26_214_400,
  recipients: 100,
  lineLength: 1000,
  connections: 100,
  connectionsPerClient: 50,
  minDataRate: 500,
  idleTimeoutSeconds: 300,
  stressIdleTimeoutSeconds: 10,
};
export const DEFAULT_RETRY: RetryConfig = { scheduleSeconds: [60, 300, 900, 3600], maxAgeSeconds: 172_800 };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** An LDH domain name without trailing dot, e.g. `mx.sigill.test` (RFC 5321 §4.1.2 Domain). */
export function isDomainName(value: string): boolean {
  return value.length > 0 && value.length <= 253 && value.split('.').every((label) => LABEL.test(label));
}

/** Dot-atom local part (RFC 5321 §4.1.2), ASCII only: what a config may name as a user. */
const DOT_ATOM = /^[A-Za-z0-9!#$&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$&'*+/=?^_`{|}~-]+)*$/;

export function isPlainAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at <= 0 || value.length > 254) return false;
  const local = value.slice(0, at);
  return local.length <= 64 && DOT_ATOM.test(local) && isDomainName(value.slice(at + 1));
}

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, Json>, field: string, allowed: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const where = field === '' ? key : `${field}.${key}`;
      throw new RelayConfigError(where, `unknown field (expected one of: ${allowed.join(', ')})`);
    }
  }
}

function requireString(value: Json, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new RelayConfigError(field, 'must be a non-empty string');
  return value;
}

function requireNumber(value: Json, field: string, { min, integer }: { min: number; integer: boolean }): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    throw new RelayConfigError(field, `must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
  }
  return value;
}

/** `host:port`, `[v6]:port` or `:port` / `port` (host 127.0.0.1). Port 0 picks a free one. */
export function parseListenAddress(value: Json, field: string): ListenAddress {
  const text = requireString(value, field);
  try {
    return parseHostPort(text, { defaultHost: '127.0.0.1' });
  } catch (error) {
    if (error instanceof HostPortError) throw new RelayConfigError(field, `expected host:port, got ${JSON.stringify(text)}`);
    throw error;
  }
}

function parseUsers(value: Json, domains: string[]): UserConfig[] {
  if (!Array.isArray(value)) throw new RelayConfigError('users', 'must be an array');
  const seen = new Set<string>();
  return value.map((entry: Json, index) => {
    const field = `users[${index}]`;
    if (!isObject(entry)) throw new RelayConfigError(field, 'must be an object');
    checkKeys(entry, field, ['address', 'password', 'passwordHash']);
    const address = requireString(entry.address, `${field}.address`);
    if (!isPlainAddress(address)) throw new RelayConfigError(`${field}.address`, 'not an e-mail address');
    const lower = address.toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    if (!domains.includes(domain)) throw new RelayConfigError(`${field}.address`, `domain ${domain} is not one of domains`);
    if (seen.has(lower)) throw new RelayConfigError(`${field}.address`, 'duplicate user');
    seen.add(lower);
    const hasPassword = entry.password !== undefined;
    const hasHash = entry.passwordHash !== undefined;
    if (hasPassword === hasHash) throw new RelayConfigError(field, 'needs exactly one of password, passwordHash');
    if (hasHash) {
      const passwordHash = requireString(entry.passwordHash, `${field}.passwordHash`);
      try {
        parsePasswordHash(passwordHash);
      } catch (error) {
        if (error instanceof PasswordHashError) throw new RelayConfigError(`${field}.passwordHash`, error.message);
        throw error;
      }
      return { address: lower, passwordHash };
    }
    return { address: lower, password: requireString(entry.password, `${field}.password`) };
  });
}

function parseListen(value: Json): ListenConfig {
  const listen: ListenConfig = { submission: null, smtp: null, pop3: null, http: null };
  if (value === undefined) {
    for (const key of Object.keys(listen) as (keyof ListenConfig)[]) listen[key] = { host: '127.0.0.1', port: 0 };
    return listen;
  }
  if (!isObject(value)) throw new RelayConfigError('listen', 'must be an object');
  checkKeys(value, 'listen', Object.keys(listen));
  for (const key of Object.keys(listen) as (keyof ListenConfig)[]) {
    const entry = value[key];
    // Omitted: loopback with a free port; null: listener disabled.
    listen[key] = entry === null ? null : entry === undefined ? { host: '127.0.0.1', port: 0 } : parseListenAddress(entry, `listen.${key}`);
  }
  return listen;
}

function parseLimits(value: Json): LimitsConfig {
  if (value === undefined) return { ...DEFAULT_LIMITS };
  if (!isObject(value)) throw new RelayConfigError('limits', 'must be an object');
  checkKeys(value, 'limits', Object.keys(DEFAULT_LIMITS));
  const limits = { ...DEFAULT_LIMITS };
  // Timeouts may be fractions of a second (tests); counts and sizes are integers.
  const rule: Record<keyof LimitsConfig, { min: number; integer: boolean }> = {
    messageSize: { min: 1024, integer: true },
    recipients: { min: 1, integer: true },
    lineLength: { min: 78, integer: true },
    connections: { min: 1, integer: true },
    connectionsPerClient: { min: 1, integer: true },
    minDataRate: { min: 0, integer: true },
    idleTimeoutSeconds: { min: 0.1, integer: false },
    stressIdleTimeoutSeconds: { min: 0.1, integer: false },
  };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof LimitsConfig)[]) {
    if (value[key] !== undefined) limits[key] = requireNumber(value[key], `limits.${key}`, rule[key]);
  }
  if (value.connectionsPerClient === undefined) limits.connectionsPerClient = Math.max(1, Math.ceil(limits.connections / 2));
  return limits;
}

function parseRetry(value: Json): RetryConfig {
  if (value === undefined) return { scheduleSeconds: [...DEFAULT_RETRY.scheduleSeconds], maxAgeSeconds: DEFAULT_RETRY.maxAgeSeconds };
  if (!isObject(value)) throw new RelayConfigError('retry', 'must be an object');
  checkKeys(value, 'retry', ['scheduleSeconds', 'maxAgeSeconds']);
  let scheduleSeconds = [...DEFAULT_RETRY.scheduleSeconds];
  if (value.scheduleSeconds !== undefined) {
    if (!Array.isArray(value.scheduleSeconds) || value.scheduleSeconds.length === 0) {
      throw new RelayConfigError('retry.scheduleSeconds', 'must be a non-empty array of seconds');
    }
    scheduleSeconds = value.scheduleSeconds.map((entry: Json, index) =>
      requireNumber(entry, `retry.scheduleSeconds[${index}]`, { min: 0, integer: false }),
    );
  }
  const maxAgeSeconds =
    value.maxAgeSeconds === undefined ? DEFAULT_RETRY.maxAgeSeconds : requireNumber(value.maxAgeSeconds, 'retry.maxAgeSeconds', { min: 0, integer: false });
  return { scheduleSeconds, maxAgeSeconds };
}

/** Shortest HTTP view token: a guessable one would make the view public in all but name. */
const MIN_HTTP_TOKEN_LENGTH = 16;

/**
 * What is wrong with an HTTP view token, or undefined: printable ASCII without spaces (what fits in an
 * Authorization header as one token, RFC 6750 §2.1) and long enough not to be guessed. The one check,
 * used by the config and by the view itself.
 */
export function httpTokenProblem(token: string): string | undefined {
  if (token.length < MIN_HTTP_TOKEN_LENGTH) return `must be at least ${MIN_HTTP_TOKEN_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(token)) return 'only printable ASCII without spaces';
  return undefined;
}

function parseHttp(value: Json, listen: ListenAddress | null): HttpViewConfig {
  let token: string | null = null;
  const hosts: string[] = [];
  if (value !== undefined && value !== null) {
    if (!isObject(value)) throw new RelayConfigError('http', 'must be an object with token');
    checkKeys(value, 'http', ['token', 'hosts']);
    if (value.token !== undefined && value.token !== null) {
      token = requireString(value.token, 'http.token');
      const problem = httpTokenProblem(token);
      if (problem !== undefined) throw new RelayConfigError('http.token', problem);
    }
    if (value.hosts !== undefined) {
      if (!Array.isArray(value.hosts)) throw new RelayConfigError('http.hosts', 'must be an array of host names');
      value.hosts.forEach((entry: Json, index) => {
        const host = requireString(entry, `http.hosts[${index}]`).toLowerCase();
        if (!isDomainName(host) && isIP(host) === 0) throw new RelayConfigError(`http.hosts[${index}]`, 'not a host name or IP address');
        hosts.push(host);
      });
    }
  }
  // A mail store is private wherever the view listens: on loopback every local user (and every web
  // page, through the browser) can reach it. Said now, naming the field to set.
  if (listen && token === null) {
    throw new RelayConfigError(
      'http.token',
      `required while the HTTP view is enabled (listen.http ${formatHostPort(listen)}): at least ${MIN_HTTP_TOKEN_LENGTH} printable characters, e.g. from \`openssl rand -hex 24\`; or set listen.http to null`,
    );
  }
  return { token, hosts };
}

export interface ParseConfigOptions {
  /** Folder that relative paths resolve against (the config file's folder). */
  baseDir: string;
}

/** Validates parsed JSON into a RelayConfig; throws RelayConfigError naming the first bad field. */
export function parseConfig(raw: Json, options: ParseConfigOptions): RelayConfig {
  if (!isObject(raw)) throw new RelayConfigError('(root)', 'must be a JSON object');
  checkKeys(raw, '', ['hostname', 'domains', 'users', 'postmaster', 'listen', 'tls', 'http', 'routes', 'dataDir', 'limits', 'retry']);
  const hostname = requireString(raw.hostname, 'hostname');
  if (!isDomainName(hostname)) throw new RelayConfigError('hostname', 'not a domain name');
  if (!Array.isArray(raw.domains) || raw.domains.length === 0) throw new RelayConfigError('domains', 'must be a non-empty array');
  const domains = raw.domains.map((entry: Json, index) => {
    const domain = requireString(entry, `domains[${index}]`);
    if (!isDomainName(domain)) throw new RelayConfigError(`domains[${index}]`, 'not a domain name');
    return domain.toLowerCase();
  });
  const users = parseUsers(raw.users ?? [], domains);
  let postmaster: string | null = users.find((user) => user.address === `postmaster@${domains[0]}`)?.address ?? users[0]?.address ?? null;
  if (raw.postmaster !== undefined) {
    postmaster = requireString(raw.postmaster, 'postmaster').toLowerCase();
    if (!users.some((user) => user.address === postmaster)) throw new RelayConfigError('postmaster', 'must be the address of one of users');
  }
  const listen = parseListen(raw.listen);

  let tls: TlsFiles | null = null;
  if (raw.tls !== undefined && raw.tls !== null) {
    if (!isObject(raw.tls)) throw new RelayConfigError('tls', 'must be an object with cert and key');
    checkKeys(raw.tls, 'tls', ['cert', 'key']);
    tls = {
      cert: path.resolve(options.baseDir, requireString(raw.tls.cert, 'tls.cert')),
      key: path.resolve(options.baseDir, requireString(raw.tls.key, 'tls.key')),
    };
  }

  const http = parseHttp(raw.http, listen.http);

  const routes: Record<string, ListenAddress> = {};
  const relayRecipients: Record<string, string[]> = {};
  if (raw.routes !== undefined) {
    if (!isObject(raw.routes)) throw new RelayConfigError('routes', 'must be an object of domain → host:port or { nextHop, recipients }');
    for (const [domain, target] of Object.entries(raw.routes)) {
      if (!isDomainName(domain)) throw new RelayConfigError(`routes.${domain}`, 'key is not a domain name');
      const lower = domain.toLowerCase();
      if (!isObject(target)) {
        routes[lower] = parseListenAddress(target, `routes.${domain}`);
        continue;
      }
      checkKeys(target, `routes.${domain}`, ['nextHop', 'recipients']);
      routes[lower] = parseListenAddress(target.nextHop, `routes.${domain}.nextHop`);
      if (target.recipients !== undefined) {
        if (!Array.isArray(target.recipients)) throw new RelayConfigError(`routes.${domain}.recipients`, 'must be an array of addresses');
        relayRecipients[lower] = target.recipients.map((entry: Json, index) => {
          const field = `routes.${domain}.recipients[${index}]`;
          const address = requireString(entry, field).toLowerCase();
          if (!isPlainAddress(address)) throw new RelayConfigError(field, 'not an e-mail address');
          if (address.slice(address.lastIndexOf('@') + 1) !== lower) throw new RelayConfigError(field, `not an address at ${lower}`);
          return address;
        });
      }
    }
  }

  const dataDir = path.resolve(options.baseDir, raw.dataDir === undefined ? '.sigill-relay' : requireString(raw.dataDir, 'dataDir'));
  return {
    hostname: hostname.toLowerCase(),
    domains,
    users,
    postmaster,
    listen,
    tls,
    http,
    routes,
    relayRecipients,
    dataDir,
    limits: parseLimits(raw.limits),
    retry: parseRetry(raw.retry),
  };
}

/** Reads and validates a config file. Errors (missing file, bad JSON, bad field) are RelayConfigError. */
export async function loadConfig(file: string): Promise<RelayConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new RelayConfigError('(file)', `cannot read ${absolute}: ${(error as Error).message}`);
  }
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RelayConfigError('(file)', `${absolute} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(raw, { baseDir: path.dirname(absolute) });
}
