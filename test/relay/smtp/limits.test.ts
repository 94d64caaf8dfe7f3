// RFC 5321 §4.5.3 limits with their reply codes (§4.5.3.1.10): too many recipients 452, too much
// mail data 552, line too long 500; SIZE declared too large refused at MAIL (RFC 1870).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { mailboxMessages, openSession, RawSmtp, spoolEmpty, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

describe('SMTP limits', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ limits: { messageSize: 2048, recipients: 2, lineLength: 100 } });
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('advertises the size and refuses a larger declared SIZE with 552 5.3.4', async () => {
    const client = await openSession(relay.smtpPort);
    expect((await client.command('EHLO client.test')).text).toContain('SIZE 2048');
    expect((await client.command('MAIL FROM:<sender@example.net> SIZE=4096')).text).toMatch(/^552 5\.3\.4 /);
    client.close();
  });

  it('refuses the recipient over the limit with 452 4.5.3 and keeps the others', async () => {
    const client = await openSession(relay.smtpPort);
    await client.command('MAIL FROM:<sender@example.net>');
    expect((await client.command('RCPT TO:<bob@sigill.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<alice@sigill.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@sigill.test>')).code).toBe(250); // a repeat is not a new one
    const refused = await client.command('RCPT TO:<postmaster@sigill.test>');
    expect(refused.text).toMatch(/^452 4\.5\.3 /);
    client.close();
  });

  it('refuses too much mail data with 552 5.3.4 and stores nothing', async () => {
    const client = await openSession(relay.smtpPort);
    await client.command('MAIL FROM:<sender@example.net>');
    await client.command('RCPT TO:<bob@sigill.test>');
    await client.command('DATA');
    const line = `${'x'.repeat(60)}\r\n`;
    expect((await client.command(`Subject: big\r\n\r\n${line.repeat(100)}.`)).text).toMatch(/^552 5\.3\.4 /);
    expect((await client.command('NOOP')).code).toBe(250); // the session goes on
    client.close();
    expect(await spoolEmpty(relay.dir)).toBe(true);
  });

  it('refuses a text line over the limit with 500 5.5.2 line too long', async () => {
    const client = await openSession(relay.smtpPort);
    await client.command('MAIL FROM:<sender@example.net>');
    await client.command('RCPT TO:<bob@sigill.test>');
    await client.command('DATA');
    expect((await client.command(`Subject: long\r\n\r\n${'y'.repeat(99)}\r\n.`)).text).toMatch(/^500 5\.5\.2 Error: line too long/);
    client.close();
    expect(await mailboxMessages(relay, 'bob@sigill.test')).toEqual([]);
  });

  it('accepts a line of exactly the limit (98 octets + CRLF = 100)', async () => {
    const client = await openSession(relay.smtpPort);
    await client.command('MAIL FROM:<sender@example.net>');
    await client.command('RCPT TO:<alice@sigill.test>');
    await client.command('DATA');
    expect((await client.command(`Subject: fits\r\n\r\n${'z'.repeat(98)}\r\n.`)).code).toBe(250);
    client.close();
  });

  it('closes on an over-long command line with 421 (smtp-server)', async () => {
    const client = await openSession(relay.smtpPort);
    await client.write(`NOOP ${'a'.repeat(2000)}\r\n`);
    expect((await client.reply()).code).toBe(421);
    client.close();
  });
});

describe('connections', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ limits: { connections: 1 } });
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('refuses a connection over the limit with 421', async () => {
    const first = await openSession(relay.smtpPort);
    const second = await RawSmtp.connect(relay.smtpPort);
    expect((await second.reply()).code).toBe(421);
    second.close();
    first.close();
  });

  it('drops a message whose client went away during DATA', async () => {
    const client = await waitFor(async () => openSession(relay.smtpPort).catch(() => undefined), 'a free connection slot');
    await client.command('MAIL FROM:<sender@example.net>');
    await client.command('RCPT TO:<bob@sigill.test>');
    await client.command('DATA');
    await client.write('Subject: half\r\n\r\nhalf a message');
    client.close();
    await waitFor(async () => (await readdir(path.join(relay.dir, 'spool', 'tmp'))).length === 0, 'the staging area to be cleaned');
    expect(await spoolEmpty(relay.dir)).toBe(true);
    expect(await mailboxMessages(relay, 'bob@sigill.test')).toEqual([]);
  });
});
