import { describe, expect, it } from 'vitest';
import { formatFingerprint } from '../../../../src/core/index.ts';
import { expectSigillError } from './expect-code.ts';

describe('formatFingerprint', () => {
  it('groups a v4 fingerprint by four with a double space in the middle, like gpg', () => {
    expect(formatFingerprint('7595adb1037a3793a3eebad3efa3fac660b46dcd')).toBe('7595 ADB1 037A 3793 A3EE  BAD3 EFA3 FAC6 60B4 6DCD');
  });

  it('groups a v6 fingerprint by four with single spaces', () => {
    const v6 = 'de4f9c41b05127841d697de7ac071ce2539a5466c06f90d9d8f93806f4dde0fe';
    expect(formatFingerprint(v6)).toBe('DE4F 9C41 B051 2784 1D69 7DE7 AC07 1CE2 539A 5466 C06F 90D9 D8F9 3806 F4DD E0FE');
  });

  it('accepts an already formatted fingerprint', () => {
    const formatted = '7595 ADB1 037A 3793 A3EE  BAD3 EFA3 FAC6 60B4 6DCD';
    expect(formatFingerprint(formatted)).toBe(formatted);
  });

  it.each(['', 'xyz', '7595adb1', '7595adb1037a3793a3eebad3efa3fac660b46dcg', `${'a'.repeat(40)}00`])('refuses %j', async (input) => {
    await expectSigillError(() => formatFingerprint(input), 'BAD_INPUT');
  });
});
