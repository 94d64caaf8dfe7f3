// Multi-hop relaying: three relays chained by routes carry a message end to end with one Received
// header per hop (RFC 5321 §4.4); a user unknown at the far end and an unreachable next hop both
// come back to the sender as RFC 3464 DSNs, sent with the null reverse-path.
import net from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxMessages, PASSWORDS, spoolEmpty, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

/** A port nothing listens on (bound and released): free for a relay, or refused for a client. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

async function waitForMessages(relay: TestRelay, address: string, count: number): Promise<string[]> {
  return waitFor(async () => {
    const messages = await mailboxMessages(relay, address);
    return messages.length >= count && messages;
  }, `${count} message(s) for ${address}`);
}

function send(relay: TestRelay, from: string, to: string, subject: string): Promise<unknown> {
  return nodemailer
    .createTransport({ host: '127.0.0.1', port: relay.submissionPort, ignoreTLS: true, auth: { user: from, pass: PASSWORDS.alice } })
    .sendMail({ from, to, subject, text: 'across three relays' });
}

describe('a chain of three relays', () => {
  // alice@a.test → relay A (submission) → relay B (routes c.test onwards) → relay C (c.test local).
  let a: TestRelay;
  let b: TestRelay;
  let c: TestRelay;
  beforeAll(async () => {
    const retry = { scheduleSeconds: [0.05], maxAgeSeconds: 30 };
    // Ports are picked first so that every relay can name the others in its routes.
    const [portA, portB, portC] = [await closedPort(), await closedPort(), await closedPort()];
    c = await startTestRelay({
      domain: 'c.test',
      users: [{ address: 'carol@c.test', password: 'carol-pw' }],
      retry,
      routes: { 'a.test': `127.0.0.1:${portB}` }, // bounces go back the way they came
      listen: { submission: null, smtp: `127.0.0.1:${portC}` },
    });
    b = await startTestRelay({
      domain: 'b.test',
      users: [],
      retry,
      routes: { 'c.test': `127.0.0.1:${portC}`, 'a.test': `127.0.0.1:${portA}` },
      listen: { submission: null, smtp: `127.0.0.1:${portB}` },
    });
    a = await startTestRelay({
      domain: 'a.test',
      users: [{ address: 'alice@a.test', password: PASSWORDS.alice }],
      retry,
      routes: { 'c.test': `127.0.0.1:${portB}` },
      listen: { smtp: `127.0.0.1:${portA}` },
    });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  it('carries a message end to end with three Received headers, newest first', async () => {
    await send(a, 'alice@a.test', 'carol@c.test', 'three hops');
    const [message] = await waitForMessages(c, 'carol@c.test', 1);
    const headerBlock = message!.slice(0, message!.indexOf('\r\n\r\n'));
    const received = headerBlock.split(/\r\n(?![\t ])/).filter((header) => header.startsWith('Received:'));
    expect(received).toHaveLength(3);
    expect(received[0]).toContain('by mx.c.test');
    expect(received[1]).toContain('by mx.b.test');
    expect(received[2]).toContain('by mx.a.test');
    expect(received[2]).toMatch(/with ESMTPS?A /); // submitted with AUTH
    expect(received[1]).toMatch(/^Received: from mx\.a\.test /); // the next hop says EHLO with its hostname
    expect(headerBlock).toMatch(/^Return-Path: <alice@a\.test>\r\n/);
    await waitFor(async () => (await spoolEmpty(a.dir)) && (await spoolEmpty(b.dir)), 'empty spools');
  });

  it('bounces a user unknown at the far end back to the sender (RFC 3464)', async () => {
    await send(a, 'alice@a.test', 'nobody@c.test', 'to nobody');
    const [dsn] = await waitForMessages(a, 'alice@a.test', 1);
    expect(dsn).toMatch(/^Return-Path: <>\r\n/); // null reverse-path
    expect(dsn).toContain('From: Mail Delivery System <MAILER-DAEMON@mx.b.test>');
    expect(dsn).toMatch(/Content-Type: multipart\/report; report-type=delivery-status; boundary=/);
    expect(dsn).toContain('Content-Type: message/delivery-status');
    expect(dsn).toContain('Reporting-MTA: dns; mx.b.test');
    expect(dsn).toContain('Final-Recipient: rfc822; nobody@c.test');
    expect(dsn).toContain('Action: failed');
    expect(dsn).toContain('Status: 5.1.1');
    expect(dsn).toMatch(/Diagnostic-Code: smtp; 550 5\.1\.1 /);
    expect(dsn).toContain('Subject: to nobody'); // the returned header section
  });

  it('bounces an unreachable next hop once the maximum age is reached (4.4.7)', async () => {
    const shortLived = await startTestRelay({
      domain: 'a.test',
      users: [{ address: 'alice@a.test', password: PASSWORDS.alice }],
      retry: { scheduleSeconds: [0.05, 0.1], maxAgeSeconds: 0.4 },
      routes: { 'x.test': `127.0.0.1:${await closedPort()}` },
    });
    try {
      await send(shortLived, 'alice@a.test', 'someone@x.test', 'to nowhere');
      const [dsn] = await waitForMessages(shortLived, 'alice@a.test', 1);
      expect(dsn).toContain('Final-Recipient: rfc822; someone@x.test');
      expect(dsn).toContain('Status: 4.4.7');
      expect(dsn).toContain('Action: failed');
      expect(dsn).toMatch(/Diagnostic-Code: smtp; .*ECONNREFUSED/);
      expect(dsn).toContain('Subject: to nowhere');
      await waitFor(() => spoolEmpty(shortLived.dir), 'empty spool');
    } finally {
      await shortLived.stop();
    }
  });
});
