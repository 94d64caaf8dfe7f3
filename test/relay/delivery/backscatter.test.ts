// Backscatter and amplification. Any local part of a routed domain used to be accepted and then
// bounced, one DSN per recipient, each returning up to 64 KB of headers: a forged sender received
// many times what was sent. Now: optional recipient lists per routed domain are checked at RCPT
// (Postfix's relay_recipient_maps), `user%host@` and `host!user@` are refused for routed domains too
// (allow_untrusted_routing = no), and one DSN per message covers every failed recipient, returning
// a capped header section only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RETURNED_HEADERS } from '../../../src/relay/delivery/dsn.ts';
import { mailboxMessages, openSession, PASSWORDS, spoolEmpty, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

describe('recipient checks for routed domains', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({
      routes: { 'far.test': { nextHop: '127.0.0.1:9', recipients: ['known@far.test'] }, 'open.test': '127.0.0.1:9' },
    });
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('accepts only listed recipients of a routed domain, at RCPT (550 5.1.1 otherwise)', async () => {
    const client = await openSession(relay.smtpPort);
    expect((await client.command('MAIL FROM:<someone@example.org>')).code).toBe(250);
    expect((await client.command('RCPT TO:<known@far.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<Known@FAR.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<unknown@far.test>')).text).toMatch(/^550 5\.1\.1 .*relay recipient table/);
    expect((await client.command('RCPT TO:<anyone@open.test>')).code).toBe(250); // no list: any local part
    client.close();
  });

  it('refuses % and ! routing in local parts of routed domains (557 5.7.1)', async () => {
    const client = await openSession(relay.smtpPort);
    expect((await client.command('MAIL FROM:<someone@example.org>')).code).toBe(250);
    for (const recipient of ['victim%elsewhere.example@open.test', 'elsewhere.example!victim@open.test', 'known%x@far.test']) {
      expect((await client.command(`RCPT TO:<${recipient}>`)).text, recipient).toMatch(/^557 5\.7\.1 /);
    }
    client.close();
  });
});

describe('one capped DSN per message', () => {
  // alice@sigill.test → relay A → relay B (far.test, where nobody of these exists).
  let a: TestRelay;
  let b: TestRelay;
  beforeAll(async () => {
    b = await startTestRelay({ domain: 'far.test', users: [{ address: 'someone@far.test', password: 'someone-password' }] });
    a = await startTestRelay({ routes: { 'far.test': `127.0.0.1:${b.smtpPort}` }, retry: { scheduleSeconds: [0.05], maxAgeSeconds: 30 } });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('reports 20 failed recipients in one DSN smaller than the message, returning at most 8 KiB of headers', async () => {
    const recipients = Array.from({ length: 20 }, (_, index) => `nobody${index}@far.test`);
    const filler = Array.from({ length: 60 }, (_, index) => `X-Filler-${index}: ${'a'.repeat(900)}\r\n`).join('');
    const original = `Subject: many recipients\r\n${filler}\r\nbody\r\n`;
    const client = await openSession(a.submissionPort);
    expect((await client.login('alice@sigill.test', PASSWORDS.alice)).code).toBe(235);
    expect((await client.command('MAIL FROM:<alice@sigill.test>')).code).toBe(250);
    for (const recipient of recipients) expect((await client.command(`RCPT TO:<${recipient}>`)).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    expect((await client.command(`${original}.`)).code).toBe(250);
    client.close();

    await waitFor(async () => (await spoolEmpty(a.dir)) && (await mailboxMessages(a, 'alice@sigill.test')).length > 0, 'the bounce');
    const dsns = await mailboxMessages(a, 'alice@sigill.test');
    expect(dsns).toHaveLength(1);
    const [dsn] = dsns as [string];
    for (const recipient of recipients) expect(dsn).toContain(`Final-Recipient: rfc822; ${recipient}\r\n`);
    expect(dsn).toContain('could not be delivered to 20 recipients');
    expect(dsn).toContain('Subject: many recipients');
    expect(dsn).not.toContain('X-Filler-59');
    const returned = dsn.slice(dsn.indexOf('Content-Type: text/rfc822-headers\r\n\r\n'));
    expect(Buffer.byteLength(returned)).toBeLessThan(MAX_RETURNED_HEADERS + 200);
    expect(Buffer.byteLength(dsn)).toBeLessThan(Buffer.byteLength(original)); // no amplification
  });
});
