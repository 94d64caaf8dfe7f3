// The shared Authenticator: scrypt hashes, constant-time checks, and brute-force throttling across
// connections per client address and per user (delays are recorded through an injected sleep, never
// measured).
import { describe, expect, it } from 'vitest';
import { Authenticator, hashPassword, parsePasswordHash, PasswordHashError } from '../../src/relay/auth.ts';

const args = (username: string, password: string, remoteAddress = '127.0.0.1') => ({ username, password, remoteAddress, protocol: 'smtp' as const });

function recordingAuthenticator(throttle = {}) {
  const delays: number[] = [];
  const authenticator = new Authenticator({
    users: [{ address: 'alice@sigill.test', password: 'correct horse' }],
    throttle: { freeFailures: 2, baseDelayMs: 10, maxDelayMs: 40, lockoutFailures: 6, lockoutMs: 60_000, ...throttle },
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  return { authenticator, delays };
}

describe('Authenticator', () => {
  it('accepts plaintext-configured and hashed users, case-insensitively in the address', async () => {
    const hash = await hashPassword('bob pw');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const authenticator = new Authenticator({
      users: [
        { address: 'alice@sigill.test', password: 'alice pw' },
        { address: 'bob@sigill.test', passwordHash: hash },
      ],
    });
    expect(await authenticator.authenticate(args('Alice@Sigill.Test', 'alice pw'))).toEqual({ ok: true, address: 'alice@sigill.test' });
    expect(await authenticator.authenticate(args('bob@sigill.test', 'bob pw'))).toEqual({ ok: true, address: 'bob@sigill.test' });
    expect(await authenticator.authenticate(args('bob@sigill.test', 'Bob pw'))).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await authenticator.authenticate(args('carol@sigill.test', 'x'))).toEqual({ ok: false, reason: 'bad-credentials' });
  });

  it('rejects malformed or hostile hashes', () => {
    for (const bad of ['', 'scrypt$16384$8$1$abc', 'bcrypt$1$2$3$4$5', 'scrypt$1000$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==', 'scrypt$1073741824$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==']) {
      expect(() => parsePasswordHash(bad)).toThrow(PasswordHashError);
    }
  });

  it('slows repeated failures with growing delays, then refuses for a window even the right password', async () => {
    const { authenticator, delays } = recordingAuthenticator();
    const results = [];
    for (let attempt = 0; attempt < 6; attempt += 1) results.push(await authenticator.authenticate(args('alice@sigill.test', `guess ${attempt}`)));
    expect(delays).toEqual([10, 20, 40, 40]); // two free failures, then doubling up to the ceiling
    expect(results.at(-1)).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse'))).toMatchObject({ ok: false, reason: 'throttled' });
  });

  it('counts per user across client addresses (a distributed guesser is still slowed)', async () => {
    const { authenticator, delays } = recordingAuthenticator();
    for (let attempt = 0; attempt < 6; attempt += 1) await authenticator.authenticate(args('alice@sigill.test', 'guess', `127.0.0.${attempt + 2}`));
    expect(delays.length).toBeGreaterThan(0);
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.99'))).toMatchObject({ reason: 'throttled' });
  });

  it('counts per client address across user names (spraying users is slowed)', async () => {
    const { authenticator } = recordingAuthenticator();
    for (let attempt = 0; attempt < 6; attempt += 1) await authenticator.authenticate(args(`user${attempt}@sigill.test`, 'guess', '127.0.0.7'));
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.7'))).toMatchObject({ reason: 'throttled' });
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.8'))).toMatchObject({ ok: true });
  });

  it('a success clears the counters', async () => {
    const { authenticator, delays } = recordingAuthenticator();
    await authenticator.authenticate(args('alice@sigill.test', 'a'));
    await authenticator.authenticate(args('alice@sigill.test', 'b'));
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse'))).toMatchObject({ ok: true });
    await authenticator.authenticate(args('alice@sigill.test', 'c'));
    expect(delays).toEqual([]);
  });
});
