/**
 * Password authentication shared by SMTP submission and POP3.
 *
 * Passwords are checked against scrypt hashes (node:crypto) with a constant-time compare; a plaintext
 * `password` from the config is hashed in memory when the Authenticator is built and then dropped.
 *
 * Brute force is slowed the way Dovecot's auth penalty does it: the failing CLIENT is penalised, never
 * the user. Each recent failure from a client address (an IPv6 client by its /64) makes that client's
 * next attempt wait longer before its password is even looked at (2 s, 4 s, 8 s, then 15 s), and an
 * attempt counts from the moment it arrives, so parallel guesses queue behind each other's delays
 * instead of all being verified at once. Too many attempts in flight from one client are refused
 * outright. The right password from any other client is always accepted at once: a lock-out that
 * anyone could cause would be a denial of service. The per-connection limit (a few failures, then
 * disconnect) is the protocol server's job.
 */
import { randomBytes, scrypt as scryptCallback, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { clientKey } from './network.ts';

export interface UserConfig {
  /** The full e-mail address; also the SMTP/POP3 user name. */
  address: string;
  /** Plaintext, hashed at load and never stored or logged. */
  password?: string;
  /** `scrypt$N$r$p$salt$hash` (salt and hash in base64), as printed by `sigill relay hash-password`. */
  passwordHash?: string;
}

export interface ThrottleOptions {
  /** Failures from one client that cost its next attempt nothing (a typo). Default 1. */
  freeFailures?: number;
  /** Delay of the first penalised attempt; doubles with each further failure. Default 2 s (Dovecot). */
  baseDelayMs?: number;
  /** Ceiling of that delay. Default 15 s (Dovecot's AUTH_PENALTY_MAX_SECS). */
  maxDelayMs?: number;
  /** Attempts from one client being delayed or verified at once; more are refused. Default 8. */
  maxPendingPerClient?: number;
  /** A client's failures older than this are forgotten. Default 15 min. */
  windowMs?: number;
}
export type AuthProtocol = 'smtp' | 'pop3';

export type AuthResult =
  | { ok: true; address: string }
  | { ok: false; reason: 'bad-credentials' | 'throttled'; retryAfterMs?: number };

export interface AuthenticateArgs {
  username: string;
  password: string;
  remoteAddress: string;
  protocol: AuthProtocol;
}

interface ScryptHash {
  params: { N: number; r: number; p: number };
  salt: Buffer;
  hash: Buffer;
}

const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;
/** Bounds accepted from a stored hash, so a hostile config cannot ask for gigabytes of memory. */
const MAX_SCRYPT_N = 1 << 20;

export class PasswordHashError extends Error {}

export function parsePasswordHash(encoded: string): ScryptHash {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    throw new PasswordHashError('expected scrypt$N$r$p$salt$hash');
  }
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  const isPowerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || N > MAX_SCRYPT_N || !Number.isInteger(R) || R < 1 || R > 32 || !Number.isInteger(P) || P < 1 || P > 16) {
    throw new PasswordHashError('scrypt parameters out of range');
  }
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (!base64.test(salt) || !base64.test(hash)) {
    throw new PasswordHashError('salt and hash must be base64');
  }
  const hashBytes = Buffer.from(hash, 'base64');
  if (hashBytes.length < 16) {
    throw new PasswordHashError('hash too short');
  }
  return { params: { N, r: R, p: P }, salt: Buffer.from(salt, 'base64'), hash: hashBytes };
}

function scryptOptions(params: ScryptHash['params']): ScryptOptions {
  // maxmem must cover 128 * N * r bytes plus headroom, or node refuses large N.
  return { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
}

function deriveKey(password: string, salt: Buffer, keyLength: number, params: ScryptHash['params']): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, keyLength, scryptOptions(params), (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function encodeHash(params: ScryptHash['params'], salt: Buffer, hash: Buffer): string {
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Hash a password for the config (`sigill relay hash-password`). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return encodeHash(DEFAULT_SCRYPT, salt, await deriveKey(password, salt, KEY_LENGTH, DEFAULT_SCRYPT));
}

function hashPasswordSync(password: string): ScryptHash {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_LENGTH, scryptOptions(DEFAULT_SCRYPT));
  return { params: DEFAULT_SCRYPT, salt, hash };
}

interface ClientRecord {
  failures: number;
  lastFailureAt: number;
  /** Attempts that arrived and have not been answered yet. */
  pending: number;
}

const MAX_TRACKED_CLIENTS = 10_000;

/** Failures and attempts in flight per client key, least recently used first, bounded. */
class ClientPenalties {
  private readonly records = new Map<string, ClientRecord>();

  constructor(private readonly windowMs: number) {}

  private record(key: string, now: number): ClientRecord {
    let record = this.records.get(key);
    if (record !== undefined && record.pending === 0 && now - record.lastFailureAt > this.windowMs) record.failures = 0;
    record ??= { failures: 0, lastFailureAt: now, pending: 0 };
    this.records.delete(key); // re-insert: Map order is then least recently used first
    this.records.set(key, record);
    if (this.records.size > MAX_TRACKED_CLIENTS) {
      for (const [oldKey, oldRecord] of this.records) {
        if (oldRecord.pending > 0) continue;
        this.records.delete(oldKey);
        break;
      }
    }
    return record;
  }

  /** Counts an arriving attempt; returns the penalty it pays (failures plus attempts ahead of it). */
  arrive(key: string, now: number): { penalty: number; pendingBefore: number } {
    const record = this.record(key, now);
    const result = { penalty: record.failures + record.pending, pendingBefore: record.pending };
    record.pending += 1;
    return result;
  }

  /** The attempt was answered: a failure is remembered, a success forgets the client's failures. */
  settle(key: string, now: number, outcome: 'success' | 'failure' | 'refused'): void {
    const record = this.records.get(key);
    if (record === undefined) return;
    record.pending = Math.max(0, record.pending - 1);
    if (outcome === 'failure') {
      record.failures += 1;
      record.lastFailureAt = now;
    } else if (outcome === 'success') {
      record.failures = 0; // as Dovecot: a successful login ends the client's penalty
    }
    if (record.pending === 0 && record.failures === 0) this.records.delete(key);
  }
}

export class Authenticator {
  private readonly users = new Map<string, ScryptHash>();
  private readonly throttle: Required<ThrottleOptions>;
  private readonly penalties: ClientPenalties;
  /** Verified against for unknown users, so they cost as much time as known ones. */
  private readonly decoy: ScryptHash;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: { users: UserConfig[]; throttle?: ThrottleOptions; sleep?: (ms: number) => Promise<void> }) {
    for (const user of options.users) {
      const key = user.address.toLowerCase();
      if (user.passwordHash !== undefined) {
        this.users.set(key, parsePasswordHash(user.passwordHash));
      } else if (user.password !== undefined) {
        this.users.set(key, hashPasswordSync(user.password));
      } else {
        throw new PasswordHashError(`user ${user.address} has neither password nor passwordHash`);
      }
    }
    this.throttle = { freeFailures: 1, baseDelayMs: 2_000, maxDelayMs: 15_000, maxPendingPerClient: 8, windowMs: 15 * 60_000, ...options.throttle };
    this.penalties = new ClientPenalties(this.throttle.windowMs);
    this.decoy = hashPasswordSync(randomBytes(16).toString('hex'));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Whether `address` is a configured user (case-insensitive). */
  hasUser(address: string): boolean {
    return this.users.has(address.toLowerCase());
  }

  /** How long an attempt that pays `penalty` waits before its password is checked. */
  private delayFor(penalty: number): number {
    const beyondFree = penalty - this.throttle.freeFailures;
    return beyondFree > 0 ? Math.min(this.throttle.maxDelayMs, this.throttle.baseDelayMs * 2 ** (beyondFree - 1)) : 0;
  }

  async authenticate(args: AuthenticateArgs): Promise<AuthResult> {
    const client = clientKey(args.remoteAddress);
    // Counted on arrival, before any hash is computed: parallel guesses each pay for the ones ahead.
    const { penalty, pendingBefore } = this.penalties.arrive(client, Date.now());
    if (pendingBefore >= this.throttle.maxPendingPerClient) {
      this.penalties.settle(client, Date.now(), 'refused');
      return { ok: false, reason: 'throttled', retryAfterMs: this.throttle.maxDelayMs };
    }
    let outcome: 'success' | 'failure' = 'failure';
    try {
      const delay = this.delayFor(penalty);
      if (delay > 0) await this.sleep(delay);
      const stored = this.users.get(args.username.toLowerCase());
      const candidate = stored ?? this.decoy;
      const derived = await deriveKey(args.password, candidate.salt, candidate.hash.length, candidate.params).catch(() => undefined);
      if (derived !== undefined && timingSafeEqual(derived, candidate.hash) && stored !== undefined) {
        outcome = 'success';
        return { ok: true, address: args.username.toLowerCase() };
      }
      return { ok: false, reason: 'bad-credentials' };
    } finally {
      this.penalties.settle(client, Date.now(), outcome);
    }
  }
}
