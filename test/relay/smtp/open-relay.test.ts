// OPEN-RELAY (docs/security.md): the inbound listener takes mail only for its own domains and users,
// whatever address tricks are tried; submission relays only for authenticated users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxMessages, openSession, PASSWORDS, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

describe('inbound listener: never an open relay', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  const refusedRecipients: [string, RegExp][] = [
    ['victim@example.net', /^557 5\.7\.1 /],
    ['@sigill.test:victim@example.net', /^557 5\.7\.1 /], // source route: the route is ignored (RFC 5321 §4.1.2)
    ['@sigill.test,@mx.sigill.test:victim@example.net', /^557 5\.7\.1 /],
    ['victim%example.net@sigill.test', /^557 5\.7\.1 /], // percent hack
    ['example.net!victim@sigill.test', /^557 5\.7\.1 /], // bang path
    ['"victim@example.net"@sigill.test', /^5\d\d 5\.\d\.\d+ /], // quoted local part
    ['bob@sigill.test.', /^5\d\d 5\.1\.3 /], // trailing dot
    ['victim@example.net.', /^5\d\d 5\.1\.3 /],
    ['bob@[127.0.0.1]', /^557 5\.7\.1 /], // address literal
    ['victim@[IPv6:::1]', /^557 5\.7\.1 /],
    ['nobody@sigill.test', /^550 5\.1\.1 /], // unknown local user
    ['victim@sub.sigill.test', /^557 5\.7\.1 /],
    ['victim@example.net\u0000', /^5\d\d /],
  ];

  for (const [recipient, expected] of refusedRecipients) {
    it(`refuses RCPT TO:<${JSON.stringify(recipient).slice(1, -1)}>`, async () => {
      const client = await openSession(relay.smtpPort);
      expect((await client.command('MAIL FROM:<sender@example.net>')).code).toBe(250);
      expect((await client.command(`RCPT TO:<${recipient}>`)).text).toMatch(expected);
      client.close();
    });
  }

  it('refuses the same tricks without a leading MAIL, and never says AUTH', async () => {
    const client = await openSession(relay.smtpPort);
    const ehlo = await client.command('EHLO client.test');
    expect(ehlo.text).not.toMatch(/AUTH/);
    expect((await client.login('alice@sigill.test', PASSWORDS.alice)).code).toBeGreaterThanOrEqual(500);
    expect((await client.command('RCPT TO:<victim@example.net>')).code).toBe(503);
    client.close();
  });

  it('accepts mail for a local user, with a source route ignored, case-insensitively', async () => {
    const client = await openSession(relay.smtpPort);
    expect((await client.command('MAIL FROM:<sender@example.net>')).code).toBe(250);
    expect((await client.command('RCPT TO:<@relay.example.net:BOB@Sigill.Test>')).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    expect((await client.command('Subject: in\r\n\r\nhi\r\n.')).code).toBe(250);
    client.close();
    await waitFor(async () => (await mailboxMessages(relay, 'bob@sigill.test')).length === 1, 'delivery');
  });

  it('accepts the domainless postmaster (RFC 5321 §4.5.1), but no postmaster of a foreign domain', async () => {
    const client = await openSession(relay.smtpPort);
    await client.command('MAIL FROM:<sender@example.net>');
    expect((await client.command('RCPT TO:<postmaster>')).code).toBe(250);
    expect((await client.command('RCPT TO:<postmaster@example.net>')).text).toMatch(/^557 5\.7\.1 /);
    client.close();
  });

  it('keeps CR/LF out of envelope addresses (no header or reply injection)', async () => {
    const client = await openSession(relay.smtpPort);
    await client.command('MAIL FROM:<sender@example.net>');
    // The line ends at the LF: what follows is a separate (unknown) command, never part of an address.
    await client.write('RCPT TO:<bob@sigill.test\rX-Injected: yes>\r\n');
    expect((await client.reply()).code).toBeGreaterThanOrEqual(500);
    client.close();
  });
});

describe('submission: relays only for authenticated users', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('refuses a foreign recipient without AUTH', async () => {
    const client = await openSession(relay.submissionPort);
    expect((await client.command('RCPT TO:<victim@example.net>')).code).toBe(530);
    expect((await client.command('MAIL FROM:<alice@sigill.test>')).code).toBe(530);
    client.close();
  });

  it('refuses address literals even for an authenticated user', async () => {
    const client = await openSession(relay.submissionPort);
    await client.login('alice@sigill.test', PASSWORDS.alice);
    await client.command('MAIL FROM:<alice@sigill.test>');
    expect((await client.command('RCPT TO:<victim@[127.0.0.1]>')).text).toMatch(/^553 5\.1\.3 /);
    client.close();
  });
});
