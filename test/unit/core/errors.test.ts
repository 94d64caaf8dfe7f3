import { describe, expect, it } from 'vitest';
import { SigillError, errorMessages, isSigillError } from '../../../src/core/index.ts';

describe('SigillError', () => {
  it('carries a stable code and a message for people', () => {
    const error = new SigillError('KEY_EXPIRED', { detail: 'ABCD 1234' });
    expect(error.code).toBe('KEY_EXPIRED');
    expect(error.message).toBe(`${errorMessages.KEY_EXPIRED} (ABCD 1234)`);
    expect(isSigillError(error, 'KEY_EXPIRED')).toBe(true);
    expect(isSigillError(error, 'KEY_REVOKED')).toBe(false);
    expect(isSigillError(new Error('x'))).toBe(false);
  });
});
