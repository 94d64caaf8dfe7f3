// The shared Authenticator: scrypt hashes, constant-time checks, and the Dovecot-style auth penalty
// per client address (delays are recorded or held through an injected sleep, never measured).
import { describe, expect, it } from 'vitest';
import { Authenticator, hashPassword, parsePasswordHash, PasswordHashError, type AuthResult } from '../../src/relay/auth.ts';
import { clientKey } from '../../src/relay/network.ts';
import { waitFor } from './helpers.ts';

const args = (username: string, password: string, remoteAddress = '127.0.0.1') => ({ username, password, remoteAddress, protocol: 'smtp' as const });

function recordingAuthenticator(throttle = {}) {
  const delays: number[] = [];
  const authenticator = new Authenticator({
    users: [{ address: 'alice@sigill.test', password: 'correct horse' }],
    throttle: { freeFailures: 1, baseDelayMs: 10, maxDelayMs: 40, ...throttle },
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

  it('delays a failing client more with each failure, before its password is checked, and never refuses it', async () => {
    const { authenticator, delays } = recordingAuthenticator();
    const results = [];
    for (let attempt = 0; attempt < 6; attempt += 1) results.push(await authenticator.authenticate(args('alice@sigill.test', `guess ${attempt}`)));
    expect(delays).toEqual([10, 20, 40, 40]); // one free failure, then doubling up to the ceiling
    expect(results.every((result) => !result.ok && result.reason === 'bad-credentials')).toBe(true);
    // The right password still works from the guessing client itself, after its penalty.
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse'))).toMatchObject({ ok: true });
    expect(delays.at(-1)).toBe(40);
  });

  it('never locks the user out: after any number of failures elsewhere the right password is accepted at once', async () => {
    const { authenticator, delays } = recordingAuthenticator();
    for (let attempt = 0; attempt < 30; attempt += 1) await authenticator.authenticate(args('alice@sigill.test', 'guess', `127.0.0.${2 + (attempt % 3)}`));
    const before = delays.length;
    expect(before).toBeGreaterThan(0);
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.99'))).toEqual({ ok: true, address: 'alice@sigill.test' });
    expect(delays.length).toBe(before); // no delay for a client that has not failed
  });

  it('counts an attempt on arrival: parallel guesses wait behind each other before any hash is verified', async () => {
    const held: (() => void)[] = [];
    const authenticator = new Authenticator({
      users: [{ address: 'alice@sigill.test', password: 'correct horse' }],
      throttle: { freeFailures: 1, baseDelayMs: 10, maxDelayMs: 40, maxPendingPerClient: 100 },
      sleep: () => new Promise<void>((resolve) => held.push(resolve)), // held until released below
    });
    const settled: AuthResult[] = [];
    const guesses = [...Array.from({ length: 18 }, (_, index) => `guess ${index}`), 'correct horse'].map((password) =>
      authenticator.authenticate(args('alice@sigill.test', password, '127.0.0.5')).then((result) => {
        settled.push(result);
        return result;
      }),
    );
    // The first two pay nothing (no failure yet, then the free one); every later one waits first.
    await waitFor(() => settled.length + held.length === 19, 'every guess answered or waiting');
    expect(settled).toEqual([{ ok: false, reason: 'bad-credentials' }, { ok: false, reason: 'bad-credentials' }]);
    expect(held).toHaveLength(17); // the right guess among them: not verified while it waits
    // Meanwhile the user logs in from elsewhere without waiting.
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.1'))).toMatchObject({ ok: true });
    for (const release of held.splice(0)) release();
    expect((await Promise.all(guesses)).at(-1)).toMatchObject({ ok: true });
  });

  it('refuses attempts beyond the in-flight limit of one client, not those of others', async () => {
    const held: (() => void)[] = [];
    const authenticator = new Authenticator({
      users: [{ address: 'alice@sigill.test', password: 'correct horse' }],
      throttle: { freeFailures: 0, baseDelayMs: 10, maxDelayMs: 40, maxPendingPerClient: 3 },
      sleep: () => new Promise<void>((resolve) => held.push(resolve)),
    });
    expect(await authenticator.authenticate(args('alice@sigill.test', 'guess', '127.0.0.5'))).toMatchObject({ reason: 'bad-credentials' });
    const waiting = [1, 2, 3].map(() => authenticator.authenticate(args('alice@sigill.test', 'guess', '127.0.0.5')));
    await waitFor(() => held.length === 3, 'three guesses waiting');
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.5'))).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.6'))).toMatchObject({ ok: true });
    for (const release of held.splice(0)) release();
    await Promise.all(waiting);
  });

  it('counts per client address across user names (spraying users is slowed), IPv6 clients by /64', async () => {
    const { authenticator, delays } = recordingAuthenticator();
    for (let attempt = 0; attempt < 4; attempt += 1) await authenticator.authenticate(args(`user${attempt}@sigill.test`, 'guess', '127.0.0.7'));
    expect(delays).toEqual([10, 20]);
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse', '127.0.0.8'))).toMatchObject({ ok: true });
    expect(delays).toHaveLength(2);
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'));
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
    expect(clientKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it('a success ends the client\'s penalty (as Dovecot)', async () => {
    const { authenticator, delays } = recordingAuthenticator();
    await authenticator.authenticate(args('alice@sigill.test', 'a'));
    expect(await authenticator.authenticate(args('alice@sigill.test', 'correct horse'))).toMatchObject({ ok: true });
    await authenticator.authenticate(args('alice@sigill.test', 'c'));
    await authenticator.authenticate(args('alice@sigill.test', 'd'));
    expect(delays).toEqual([]);
  });
});
