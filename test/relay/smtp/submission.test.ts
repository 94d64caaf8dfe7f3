// Submission (RFC 6409) driven by nodemailer and a raw socket: AUTH required before MAIL, MAIL FROM
// owned by the user, extensions advertised, unknown local users refused at RCPT.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxMessages, openSession, PASSWORDS, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

describe('submission listener', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  const transport = (user: string, pass: string) =>
    nodemailer.createTransport({ host: '127.0.0.1', port: relay.submissionPort, secure: false, ignoreTLS: true, auth: { user, pass } });

  it('accepts an authenticated message from nodemailer and delivers it to the local mailbox', async () => {
    const info = await transport('alice@sigill.test', PASSWORDS.alice).sendMail({
      from: 'alice@sigill.test',
      to: 'bob@sigill.test',
      subject: 'hello bob',
      text: 'first line\n.leading dot\nlast line',
    });
    expect(info.accepted).toEqual(['bob@sigill.test']);
    expect(info.response).toMatch(/^250 2\.6\.0 OK: queued as /);
    const [message] = await waitFor(async () => {
      const messages = await mailboxMessages(relay, 'bob@sigill.test');
      return messages.length > 0 && messages;
    }, 'delivery to bob');
    expect(message).toMatch(/^Return-Path: <alice@sigill\.test>\r\nReceived: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby mx\.sigill\.test \(Sigill relay\) with ESMTPS?A id /);
    expect(message).toContain('\r\n.leading dot\r\n'); // dot-stuffing undone exactly once
    expect(message).toContain('Subject: hello bob');
  });

  it('advertises the RFC 6409 extensions, and AUTH on loopback', async () => {
    const client = await openSession(relay.submissionPort);
    const ehlo = await client.command('EHLO client.test');
    for (const extension of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'AUTH PLAIN LOGIN', 'SIZE 26214400']) {
      expect(ehlo.lines.map((line) => line.slice(4))).toContain(extension);
    }
    client.close();
  });

  it('refuses MAIL before AUTH with 530 5.7.0', async () => {
    const client = await openSession(relay.submissionPort);
    expect((await client.command('MAIL FROM:<alice@sigill.test>')).text).toMatch(/^530 5\.7\.0 /);
    client.close();
  });

  it('refuses wrong credentials with 535 5.7.8 and closes after three failures', async () => {
    const client = await openSession(relay.submissionPort);
    expect((await client.login('alice@sigill.test', 'wrong')).text).toMatch(/^535 5\.7\.8 /);
    expect((await client.login('alice@sigill.test', 'wrong')).code).toBe(535);
    expect((await client.login('nobody@sigill.test', 'wrong')).code).toBe(421);
    await waitFor(() => client.isClosed, 'the server to close the connection');
  });

  it('refuses AUTH PLAIN with an authorization identity other than the login (RFC 4616)', async () => {
    const client = await openSession(relay.submissionPort);
    const plain = (authzid: string, authcid: string, password: string): string => Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64');
    expect((await client.command(`AUTH PLAIN ${plain('bob@sigill.test', 'alice@sigill.test', PASSWORDS.alice)}`)).text).toMatch(/^535 /);
    expect((await client.command(`AUTH PLAIN ${plain('Alice@sigill.test', 'alice@sigill.test', PASSWORDS.alice)}`)).code).toBe(235);
    client.close();
  });

  it('refuses a MAIL FROM the user does not own (5.7.1), and the null sender', async () => {
    const client = await openSession(relay.submissionPort);
    expect((await client.login('alice@sigill.test', PASSWORDS.alice)).code).toBe(235);
    expect((await client.command('MAIL FROM:<bob@sigill.test>')).text).toMatch(/^5\d\d 5\.7\.1 /);
    expect((await client.command('MAIL FROM:<>')).text).toMatch(/^5\d\d 5\.7\.1 /);
    expect((await client.command('MAIL FROM:<ALICE@sigill.test>')).code).toBe(250);
    client.close();
  });

  it('refuses an unknown local recipient at RCPT with 550 5.1.1 and accepts foreign ones', async () => {
    const client = await openSession(relay.submissionPort);
    await client.login('alice@sigill.test', PASSWORDS.alice);
    await client.command('MAIL FROM:<alice@sigill.test>');
    expect((await client.command('RCPT TO:<nobody@sigill.test>')).text).toMatch(/^550 5\.1\.1 /);
    expect((await client.command('RCPT TO:<someone@example.net>')).code).toBe(250);
    client.close();
  });

  it('pipelines a whole transaction (RFC 2920)', async () => {
    const client = await openSession(relay.submissionPort);
    await client.login('alice@sigill.test', PASSWORDS.alice);
    await client.write('MAIL FROM:<alice@sigill.test>\r\nRCPT TO:<bob@sigill.test>\r\nDATA\r\n');
    expect((await client.reply()).code).toBe(250);
    expect((await client.reply()).code).toBe(250);
    expect((await client.reply()).code).toBe(354);
    await client.write('Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n');
    expect((await client.reply()).code).toBe(250);
    expect((await client.reply()).code).toBe(221);
  });
});

describe('submission off loopback (plaintext AUTH not allowed)', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ extra: { plaintextAuthOnLoopback: false } });
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('does not offer AUTH without TLS, refuses it, and refuses MAIL', async () => {
    const client = await openSession(relay.submissionPort);
    const ehlo = await client.command('EHLO client.test');
    expect(ehlo.text).not.toMatch(/AUTH/);
    expect((await client.login('alice@sigill.test', PASSWORDS.alice)).code).toBeGreaterThanOrEqual(500);
    expect((await client.command('MAIL FROM:<alice@sigill.test>')).text).toMatch(/^530 5\.7\.0 /);
    client.close();
  });
});

describe('8BITMIME and SMTPUTF8', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('stores 8-bit UTF-8 content byte for byte (RFC 6152, RFC 6531)', async () => {
    const client = await openSession(relay.submissionPort);
    await client.login('alice@sigill.test', PASSWORDS.alice);
    expect((await client.command('MAIL FROM:<alice@sigill.test> BODY=8BITMIME SMTPUTF8')).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@sigill.test>')).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    const body = Buffer.from('Subject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej då, Åsa! ✉\r\n', 'utf8');
    await client.write(Buffer.concat([body, Buffer.from('.\r\n')]));
    expect((await client.reply()).code).toBe(250);
    client.close();
    const [message] = await waitFor(async () => {
      const messages = await mailboxMessages(relay, 'bob@sigill.test');
      return messages.length > 0 && messages;
    }, 'delivery');
    expect(message!.endsWith(body.toString('utf8'))).toBe(true);
  });
});
