// Login throttling over the real listeners. The old lock-out (ten wrong passwords from anywhere lock
// the user out of SMTP and POP3 for 15 minutes) let anyone lock out anyone; now the failing client
// is penalised (Dovecot's auth penalty) and the right password from another address always works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, PASSWORDS, portOf, startTestRelay, type TestRelay } from './helpers.ts';
import { RawClient } from './pop3/helpers.ts';

const ALICE = { address: 'alice@sigill.test', password: PASSWORDS.alice };

describe('auth penalty across SMTP and POP3', () => {
  let relay: TestRelay;
  let pop3Port: number;
  beforeAll(async () => {
    // Tiny delays: the schedule itself is checked in auth.test.ts; here only who gets in.
    relay = await startTestRelay({ listen: { pop3: '127.0.0.1:0' }, extra: { throttle: { freeFailures: 1, baseDelayMs: 1, maxDelayMs: 2 } } });
    const pop3 = relay.info.pop3 ?? '';
    pop3Port = portOf(pop3);
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('a guesser on 127.0.0.2 is slowed and disconnected, but the user logs in from 127.0.0.1 over SMTP and POP3', async () => {
    for (let connection = 0; connection < 4; connection += 1) {
      const client = await openSession(relay.submissionPort, 'guesser.test', '127.0.0.2');
      expect((await client.login(ALICE.address, `guess ${connection}a`)).code).toBe(535);
      expect((await client.login(ALICE.address, `guess ${connection}b`)).code).toBe(535);
      expect((await client.login(ALICE.address, `guess ${connection}c`)).code).toBe(421); // per connection: closed
      client.close();
    }
    for (let connection = 0; connection < 4; connection += 1) {
      const client = await RawClient.open({ host: '127.0.0.1', port: pop3Port, localAddress: '127.0.0.2' });
      for (const attempt of ['a', 'b', 'c']) expect(await client.login({ address: ALICE.address, password: `pop guess ${connection}${attempt}` })).toMatch(/^-ERR \[AUTH\]/);
      await client.closed;
    }

    const smtp = await openSession(relay.submissionPort);
    expect((await smtp.login(ALICE.address, ALICE.password)).code).toBe(235);
    smtp.close();
    const pop = await RawClient.open({ host: '127.0.0.1', port: pop3Port });
    expect(await pop.login(ALICE)).toMatch(/^\+OK maildrop locked/);
    await pop.quit();
    // The guessing address itself is only delayed, never refused the right password.
    const again = await openSession(relay.submissionPort, 'guesser.test', '127.0.0.2');
    expect((await again.login(ALICE.address, ALICE.password)).code).toBe(235);
    again.close();
  });
});
