/**
 * Unlocked secret keys kept in memory for a bounded time (KEY-REST): after `lifetimeMs` since the
 * unlock, or on `forget()`, the key object's secret parameters are overwritten and it is dropped.
 */
import type { PrivateKey } from 'openpgp';
import { SigillError } from '../errors.ts';
import { clearUnlockedKey } from '../keys/index.ts';
import { systemClock, type Clock } from '../platform.ts';


/** Ten minutes, the default of the "keep unlocked" setting. */
export const DEFAULT_UNLOCK_LIFETIME_MS = 10 * 60 * 1000;

export interface UnlockCacheOptions {
  clock?: Clock;
  lifetimeMs?: number;
}

interface Entry {
  key: PrivateKey;
  expiresAt: number;
}

export class UnlockCache {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  #lifetimeMs: number;

  constructor(options: UnlockCacheOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#lifetimeMs = checkedLifetime(options.lifetimeMs ?? DEFAULT_UNLOCK_LIFETIME_MS);
  }

  get lifetimeMs(): number {
    return this.#lifetimeMs;
  }

  /** Changes the lifetime for keys unlocked from now on; keys already unlocked keep at most the shorter one. */
  setLifetime(lifetimeMs: number): void {
    this.#lifetimeMs = checkedLifetime(lifetimeMs);
    const latest = this.#clock.now().getTime() + this.#lifetimeMs;
    for (const entry of this.#entries.values()) entry.expiresAt = Math.min(entry.expiresAt, latest);
    this.sweep();
  }

  /** Keeps `key` (unlocked) under `fingerprint`; a lifetime of 0 keeps nothing. */
  put(fingerprint: string, key: PrivateKey): void {
    this.delete(fingerprint);
    if (this.#lifetimeMs === 0) {
      return;
    }
    this.#entries.set(fingerprint, { key, expiresAt: this.#clock.now().getTime() + this.#lifetimeMs });
  }

  /** The unlocked key, or undefined when it was never unlocked, has timed out or was forgotten. */
  get(fingerprint: string): PrivateKey | undefined {
    this.sweep();
    return this.#entries.get(fingerprint)?.key;
  }

  has(fingerprint: string): boolean {
    return this.get(fingerprint) !== undefined;
  }

  /** Fingerprints of the keys unlocked now. */
  fingerprints(): string[] {
    this.sweep();
    return [...this.#entries.keys()];
  }

  delete(fingerprint: string): void {
    const entry = this.#entries.get(fingerprint);
    if (entry === undefined) return;
    this.#entries.delete(fingerprint);
    clearUnlockedKey(entry.key);
  }

  /** Drops (and clears) every key whose time is up; call it from a timer, every access calls it too. */
  sweep(): void {
    const now = this.#clock.now().getTime();
    for (const [fingerprint, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.delete(fingerprint);
    }
  }

  /** "Forget unlocked keys now". */
  forget(): void {
    for (const fingerprint of [...this.#entries.keys()]) this.delete(fingerprint);
  }
}

function checkedLifetime(lifetimeMs: number): number {
  if (!Number.isSafeInteger(lifetimeMs) || lifetimeMs < 0) {
    throw new SigillError('BAD_INPUT', { detail: 'the unlock lifetime must be a whole number of milliseconds, 0 or more' });
  }
  return lifetimeMs;
}
