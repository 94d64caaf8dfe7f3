// One client must not be able to hold every connection: a per-client connection limit (Postfix's
// smtpd_client_connection_count_limit), a minimum data rate during DATA (smtpd_min_data_rate), and
// a short idle timeout for connections that arrive near the connection limit (Postfix's stress mode).
// The slow client below sends a byte at a time, each well within the idle timeout; the relay must
// end it for its rate, not for idleness.
import { afterEach, describe, expect, it } from 'vitest';
import { mailboxMessages, openSession, RawSmtp, spoolEmpty, startTestRelay, type TestRelay } from '../helpers.ts';

describe('per-client limits on the SMTP listeners', () => {
  let relay: TestRelay | undefined;
  const clients: RawSmtp[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await relay?.stop();
    relay = undefined;
  });

  const connect = async (port: number, localAddress?: string): Promise<RawSmtp> => {
    const client = await RawSmtp.connect(port, localAddress);
    clients.push(client);
    return client;
  };

  it('refuses a client beyond its connection count with 421, not the others', async () => {
    relay = await startTestRelay({ limits: { connections: 20, connectionsPerClient: 2 } });
    for (let index = 0; index < 2; index += 1) expect((await (await connect(relay.smtpPort, '127.0.0.2')).reply()).code).toBe(220);
    const third = await connect(relay.smtpPort, '127.0.0.2');
    expect((await third.reply()).text).toMatch(/^421 .*too many connections from your address/);
    expect((await (await connect(relay.smtpPort, '127.0.0.3')).reply()).code).toBe(220);
    expect((await (await connect(relay.submissionPort, '127.0.0.2')).reply()).code).toBe(220); // per listener
  });

  it('ends a DATA that trickles in below the minimum rate, and keeps nothing of it', async () => {
    relay = await startTestRelay({ limits: { minDataRate: 1000, idleTimeoutSeconds: 1 } });
    const client = await openSession(relay.smtpPort);
    clients.push(client);
    expect((await client.command('MAIL FROM:<slow@example.org>')).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@sigill.test>')).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    // A short complete line every 100 ms: 30 bytes per idle timeout, far too slow for 1000 bytes/s
    // (each line ends in time, so only the rate can end this).
    let sent = 0;
    while (!client.isClosed && sent < 200) {
      await client.write('x\r\n').catch(() => undefined);
      sent += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(client.isClosed).toBe(true);
    expect(client.drain().map((reply) => reply.text).join('\n')).toMatch(/^421 4\.4\.2 .*data rate too low/m);
    expect(await mailboxMessages(relay, 'bob@sigill.test')).toEqual([]);
    expect(await spoolEmpty(relay.dir)).toBe(true);
  });

  it('ends a session whose command line trickles in for longer than the idle timeout', async () => {
    relay = await startTestRelay({ limits: { idleTimeoutSeconds: 1 } });
    const client = await openSession(relay.smtpPort);
    clients.push(client);
    // A byte every 100 ms keeps the socket busy (its idle timer restarts) but never ends the line.
    const line = `MAIL FROM:<${'x'.repeat(200)}@example.org>`;
    for (let index = 0; index < line.length && !client.isClosed; index += 1) {
      await client.write(line[index]!).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(client.isClosed).toBe(true);
    expect(client.drain().map((reply) => reply.text).join('\n')).toMatch(/^421 4\.4\.2 .*command line not completed in time/m);
  });

  it('still serves a session whose lines arrive in pieces but end in time', async () => {
    relay = await startTestRelay({ limits: { idleTimeoutSeconds: 1 } });
    const client = await openSession(relay.smtpPort);
    clients.push(client);
    for (let round = 0; round < 3; round += 1) {
      await client.write('NO');
      expect((await client.command('OP')).code).toBe(250);
    }
  });

  it('gives connections that arrive near the limit a short idle timeout (stress mode)', async () => {
    relay = await startTestRelay({ limits: { connections: 5, connectionsPerClient: 5, stressIdleTimeoutSeconds: 0.3 } });
    const calm = [];
    for (let index = 0; index < 3; index += 1) {
      const client = await connect(relay.smtpPort);
      expect((await client.reply()).code).toBe(220);
      calm.push(client);
    }
    const stressed = await connect(relay.smtpPort); // the 4th of 5: 80 %
    expect((await stressed.reply()).code).toBe(220);
    expect((await stressed.reply()).text).toMatch(/^421 .*Timeout/);
    // Those that came before the stress keep the normal (5 minute) timeout.
    expect(calm.every((client) => !client.isClosed)).toBe(true);
    expect((await calm[0]!.command('NOOP')).code).toBe(250);
  });
});
