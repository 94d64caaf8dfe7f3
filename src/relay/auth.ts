/**
 * Password authentication shared by SMTP submission and POP3.
 *
 * Passwords are checked against scrypt hashes (node:crypto) with a constant-time compare; a plaintext
 * `password` from the config is hashed in memory when the Authenticator is built and then dropped.
 * Brute force is slowed across connections: failures are counted per client address and per user
 * name, each failure beyond a free allowance waits longer before the answer, and past a limit the
 * address or user is refused outright for a window. The per-connection limit (a few failures, then
 * disconnect) is the protocol server's job.
 */
import { randomBytes, scrypt as scryptCallback, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface UserConfig {
  /** The full e-mail address; also the SMTP/POP3 user name. */
  address: string;
  /** Plaintext, hashed at load and never stored or logged. */
  password?: string;
  /** `scrypt$N$r$p$salt$hash` (salt and hash in base64), as printed by `sigill relay hash-password`. */
  passwordHash?: string;
}

export interface ThrottleOptions {
  /** Failures (per address, per user) answered without delay. Default 3. */
  freeFailures?: number;
  /** Delay after the first failure beyond the free ones; doubles with each further one. Default 500 ms. */
  baseDelayMs?: number;
  /** Ceiling of that delay. Default 8 s. */
  maxDelayMs?: number;
  /** Failures after which the address or user is refused for `lockoutMs`. Default 10. */
  lockoutFailures?: number;
  /** How long a lockout lasts. Default 15 min. */
  lockoutMs?: number;
  /** Failures older than this are forgotten. Default 15 min. */
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

interface FailureRecord {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

const MAX_TRACKED_KEYS = 10_000;

/** Counts failures per key (client address or user) and decides delays and lockouts. */
class FailureTracker {
  private readonly records = new Map<string, FailureRecord>();

  constructor(private readonly options: Required<ThrottleOptions>) {}

  private current(key: string, now: number): FailureRecord | undefined {
    const record = this.records.get(key);
    if (record && record.lockedUntil <= now && now - record.lastFailureAt > this.options.windowMs) {
      this.records.delete(key);
      return undefined;
    }
    return record;
  }

  lockedFor(key: string, now: number): number {
    const record = this.current(key, now);
    return record && record.lockedUntil > now ? record.lockedUntil - now : 0;
  }

  /** Records a failure; returns how many failures the key has now. */
  fail(key: string, now: number): number {
    const record = this.current(key, now) ?? { failures: 0, lastFailureAt: now, lockedUntil: 0 };
    record.failures += 1;
    record.lastFailureAt = now;
    if (record.failures >= this.options.lockoutFailures) {
      record.lockedUntil = now + this.options.lockoutMs;
    }
    this.records.delete(key); // re-insert: Map order then is least recently failed first
    this.records.set(key, record);
    if (this.records.size > MAX_TRACKED_KEYS) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
    return record.failures;
  }

  clear(key: string): void {
    this.records.delete(key);
  }
}

export class Authenticator {
  private readonly users = new Map<string, ScryptHash>();
  private readonly throttle: Required<ThrottleOptions>;
  private readonly tracker: FailureTracker;
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
    this.throttle = {
      freeFailures: 3,
      baseDelayMs: 500,
      maxDelayMs: 8_000,
      lockoutFailures: 10,
      lockoutMs: 15 * 60_000,
      windowMs: 15 * 60_000,
      ...options.throttle,
    };
    this.tracker = new FailureTracker(this.throttle);
    this.decoy = hashPasswordSync(randomBytes(16).toString('hex'));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Whether `address` is a configured user (case-insensitive). */
  hasUser(address: string): boolean {
    return this.users.has(address.toLowerCase());
  }

  async authenticate(args: AuthenticateArgs): Promise<AuthResult> {
    const userKey = `user:${args.username.toLowerCase()}`;
    const addressKey = `addr:${args.remoteAddress}`;
    const now = Date.now();
    const lockedFor = Math.max(this.tracker.lockedFor(userKey, now), this.tracker.lockedFor(addressKey, now));
    if (lockedFor > 0) {
      // Refused without checking the password: a correct guess during a lockout teaches nothing.
      return { ok: false, reason: 'throttled', retryAfterMs: lockedFor };
    }
    const stored = this.users.get(args.username.toLowerCase());
    const candidate = stored ?? this.decoy;
    const derived = await deriveKey(args.password, candidate.salt, candidate.hash.length, candidate.params).catch(() => undefined);
    const matches = derived !== undefined && timingSafeEqual(derived, candidate.hash) && stored !== undefined;
    if (matches) {
      this.tracker.clear(userKey);
      this.tracker.clear(addressKey);
      return { ok: true, address: args.username.toLowerCase() };
    }
    const failures = Math.max(this.tracker.fail(userKey, now), this.tracker.fail(addressKey, now));
    const beyondFree = failures - this.throttle.freeFailures;
    if (beyondFree > 0) {
      const delay = Math.min(this.throttle.maxDelayMs, this.throttle.baseDelayMs * 2 ** (beyondFree - 1));
      await this.sleep(delay);
    }
    if (failures >= this.throttle.lockoutFailures) {
      return { ok: false, reason: 'throttled', retryAfterMs: this.throttle.lockoutMs };
    }
    return { ok: false, reason: 'bad-credentials' };
  }
}
