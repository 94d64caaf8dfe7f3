/** When an expired or revoked key is looked up again: at the user's request always, automatically at most daily. */
import { describe, expect, it } from 'vitest';
import { KEY_REFRESH_INTERVAL_MS, keyRefreshDue } from '../../../../src/core/index.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const now = (): Date => NOW;
const ago = (ms: number): Date => new Date(NOW.getTime() - ms);

describe('keyRefreshDue', () => {
  it('a refresh the user asks for is always due', () => {
    expect(keyRefreshDue({ trigger: 'user', status: { expired: false, revoked: false }, lastAttemptAt: ago(1000), now }).due).toBe(true);
  });

  it('automatic refreshes are only for expired or revoked keys', () => {
    expect(keyRefreshDue({ trigger: 'automatic', status: { expired: false, revoked: false }, now })).toEqual({ due: false, reason: 'the key is neither expired nor revoked' });
    expect(keyRefreshDue({ trigger: 'automatic', status: { expired: true, revoked: false }, now })).toEqual({ due: true, reason: 'never refreshed' });
    expect(keyRefreshDue({ trigger: 'automatic', status: { expired: false, revoked: true }, now }).due).toBe(true);
  });

  it('and at most once a day', () => {
    const status = { expired: true, revoked: false };
    const recent = keyRefreshDue({ trigger: 'automatic', status, lastAttemptAt: ago(KEY_REFRESH_INTERVAL_MS - 1), now });
    expect(recent).toEqual({ due: false, reason: 'refreshed less than a day ago', nextAttemptAt: new Date(NOW.getTime() + 1) });
    expect(keyRefreshDue({ trigger: 'automatic', status, lastAttemptAt: ago(KEY_REFRESH_INTERVAL_MS), now }).due).toBe(true);
  });
});
