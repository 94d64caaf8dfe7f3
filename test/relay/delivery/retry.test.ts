// Retries and bounces against a scripted next hop (a real smtp-server on loopback): temporary
// failures are retried on the configured schedule (tiny delays here; nothing is timed), a permanent
// failure of a bounce (null sender) is dropped, never bounced again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { mailboxMessages, openSession, PASSWORDS, spoolEmpty, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

interface Received {
  from: string;
  to: string[];
  body: string;
}

/** A next hop whose RCPT answers come from `script` (one entry per attempt, the last repeats). */
async function scriptedHop(script: number[]): Promise<{ port: number; received: Received[]; attempts: () => number; close(): Promise<void> }> {
  const received: Received[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideENHANCEDSTATUSCODES: false,
    logger: false,
    onRcptTo(_address, _session, callback) {
      const code = script[Math.min(attempts, script.length - 1)] ?? 250;
      attempts += 1;
      if (code === 250) return callback();
      callback(Object.assign(new Error(code >= 500 ? 'no such user here' : 'try again later'), { responseCode: code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          body: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { port, received, attempts: () => attempts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('retries', () => {
  let hop: Awaited<ReturnType<typeof scriptedHop>>;
  let relay: TestRelay;
  beforeAll(async () => {
    hop = await scriptedHop([451, 451, 250]);
    relay = await startTestRelay({
      routes: { 'example.net': `127.0.0.1:${hop.port}` },
      retry: { scheduleSeconds: [0.02, 0.05], maxAgeSeconds: 60 },
    });
  });
  afterAll(async () => {
    await relay?.stop();
    await hop?.close();
  });

  it('retries temporary failures until the next hop takes the message, exactly once', async () => {
    const client = await openSession(relay.submissionPort);
    await client.login('alice@sigill.test', PASSWORDS.alice);
    await client.command('MAIL FROM:<alice@sigill.test>');
    await client.command('RCPT TO:<carol@example.net>');
    await client.command('DATA');
    expect((await client.command('Subject: retried\r\n\r\nthird time lucky\r\n.')).code).toBe(250);
    client.close();
    await waitFor(() => spoolEmpty(relay.dir), 'the spool to empty');
    expect(hop.attempts()).toBe(3);
    expect(hop.received).toHaveLength(1);
    expect(hop.received[0]).toMatchObject({ from: 'alice@sigill.test', to: ['carol@example.net'] });
    expect(hop.received[0]!.body).toMatch(/^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby mx\.sigill\.test /);
    expect(hop.received[0]!.body).toContain('\r\nthird time lucky\r\n');
    expect(await mailboxMessages(relay, 'alice@sigill.test')).toEqual([]); // no bounce
  });
});

describe('bounces of bounces', () => {
  let hop: Awaited<ReturnType<typeof scriptedHop>>;
  let relay: TestRelay;
  beforeAll(async () => {
    hop = await scriptedHop([550]);
    relay = await startTestRelay({ routes: { 'example.net': `127.0.0.1:${hop.port}` } });
  });
  afterAll(async () => {
    await relay?.stop();
    await hop?.close();
  });

  it('drops a permanently failed message with the null sender instead of bouncing it', async () => {
    const client = await openSession(relay.smtpPort);
    expect((await client.command('MAIL FROM:<>')).code).toBe(250);
    expect((await client.command('RCPT TO:<carol@example.net>')).code).toBe(250); // routed domain
    await client.command('DATA');
    expect((await client.command('Subject: a bounce\r\n\r\nundeliverable\r\n.')).code).toBe(250);
    client.close();
    await waitFor(() => spoolEmpty(relay.dir), 'the spool to empty');
    expect(hop.attempts()).toBe(1);
    expect(await mailboxMessages(relay, 'alice@sigill.test')).toEqual([]);
    expect(await mailboxMessages(relay, 'bob@sigill.test')).toEqual([]);
  });

  it('stops a mail loop: more than 30 Received headers bounce with 5.4.6 (RFC 5321 §6.3)', async () => {
    const attemptsBefore = hop.attempts();
    const client = await openSession(relay.submissionPort);
    await client.login('alice@sigill.test', PASSWORDS.alice);
    await client.command('MAIL FROM:<alice@sigill.test>');
    await client.command('RCPT TO:<carol@example.net>');
    await client.command('DATA');
    const trace = Array.from({ length: 30 }, (_, hop) => `Received: from hop${hop}.test by hop${hop + 1}.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n`).join('');
    expect((await client.command(`${trace}Subject: looping\r\n\r\nround and round\r\n.`)).code).toBe(250);
    client.close();
    const [dsn] = await waitFor(async () => {
      const messages = await mailboxMessages(relay, 'alice@sigill.test');
      return messages.length > 0 && messages;
    }, 'the DSN');
    expect(dsn).toContain('Status: 5.4.6');
    expect(hop.attempts()).toBe(attemptsBefore); // never sent on
  });

  it('bounces a permanently failed message to its (local) sender with the remote diagnostic', async () => {
    const client = await openSession(relay.submissionPort);
    await client.login('bob@sigill.test', PASSWORDS.bob);
    await client.command('MAIL FROM:<bob@sigill.test>');
    await client.command('RCPT TO:<carol@example.net>');
    await client.command('DATA');
    expect((await client.command('Subject: to carol\r\n\r\nhello\r\n.')).code).toBe(250);
    client.close();
    const [dsn] = await waitFor(async () => {
      const messages = await mailboxMessages(relay, 'bob@sigill.test');
      return messages.length > 0 && messages;
    }, 'the DSN');
    expect(dsn).toContain('Status: 5.1.1');
    expect(dsn).toContain(`Remote-MTA: dns; 127.0.0.1:${hop.port}`);
    expect(dsn).toMatch(/Diagnostic-Code: smtp; 550 5\.1\.1 no such user here/);
  });
});
