/** Shared set-up for the keyring tests: a keyring over real in-memory storage with a clock the test moves. */
export { secretKeysAtRest, unprotectedPacketsAtRest } from '../../../support/keys-at-rest.ts';
import { type Clock, Keyring, MemoryStorage } from '../../../../src/core/index.ts';

/** After the `expired` fixture expired (2025-01-01) and the `revoked` fixture was revoked (2026-11-26). */
export const START = Date.parse('2026-11-28T12:00:00Z');

export class TestClock implements Clock {
  constructor(public time: number = START) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export async function openKeyring(options: { storage?: MemoryStorage; clock?: TestClock; unlockLifetimeMs?: number } = {}) {
  const storage = options.storage ?? new MemoryStorage();
  const clock = options.clock ?? new TestClock();
  const keyring = await Keyring.open({ storage, clock, ...(options.unlockLifetimeMs === undefined ? {} : { unlockLifetimeMs: options.unlockLifetimeMs }) });
  return { keyring, storage, clock };
}

