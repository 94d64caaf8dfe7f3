// Header injection through SMTPUTF8 envelope addresses. Written as latin1, U+010A/U+010D in an
// address became LF/CR in `Return-Path:` and `Received: ... for <...>`, so an unauthenticated client
// of the inbound listener could add header fields (or a blank line) to stored and relayed mail, and
// the stored message held bare CR/LF (POP3 LIST size != RETR size). Headers are UTF-8 now (RFC 6532),
// addresses with control or separator characters are refused, and international addresses survive
// byte for byte.
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOn } from '../../../src/relay/network.ts';
import { mailboxMessages, openSession, PASSWORDS, portOf, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';
import { RawClient } from '../pop3/helpers.ts';

interface Captured {
  from: string;
  to: string[];
  message: Buffer;
}

/** A next hop for far.test that keeps what it receives (smtp-server, SMTPUTF8 offered by default). */
async function startCapture(): Promise<{ port: number; received: Captured[]; close(): Promise<void> }> {
  const received: Captured[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          message: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  const { port } = await listenOn(server.server, { host: '127.0.0.1', port: 0 });
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Every CR is followed by LF and every LF preceded by CR. */
function hasOnlyCrlf(bytes: Buffer): boolean {
  for (let index = 0; index < bytes.length; index += 1) {
    if (bytes[index] === 0x0d && bytes[index + 1] !== 0x0a) return false;
    if (bytes[index] === 0x0a && bytes[index - 1] !== 0x0d) return false;
  }
  return true;
}

function headerSection(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n') + 2);
}

/** POP3 LIST size and the octets RETR really sends (dot-stuffing undone, CRLF per line). */
async function listAndRetrieveSizes(relay: TestRelay, user: { address: string; password: string }, number = 1): Promise<{ listed: number; retrieved: number; bytes: Buffer }> {
  const pop3 = relay.info.pop3 ?? '';
  const client = await RawClient.open({ host: '127.0.0.1', port: portOf(pop3) });
  expect(await client.login(user)).toMatch(/^\+OK/);
  const listed = Number((await client.command(`LIST ${number}`)).split(' ')[2]);
  const { status, lines } = await client.multiline(`RETR ${number}`);
  expect(status).toMatch(/^\+OK/);
  const bytes = Buffer.from(lines.map((line) => `${line.startsWith('..') ? line.slice(1) : line}\r\n`).join(''), 'latin1');
  await client.quit();
  return { listed, retrieved: bytes.length, bytes };
}

const BOB = { address: 'bob@sigill.test', password: PASSWORDS.bob };

describe('header injection through envelope addresses', () => {
  let relay: TestRelay;
  let capture: Awaited<ReturnType<typeof startCapture>>;
  beforeAll(async () => {
    capture = await startCapture();
    relay = await startTestRelay({
      listen: { pop3: '127.0.0.1:0' },
      routes: { 'far.test': `127.0.0.1:${capture.port}` },
      retry: { scheduleSeconds: [0.05], maxAgeSeconds: 30 },
    });
  });
  afterAll(async () => {
    await relay?.stop();
    await capture?.close();
  });

  const sendRaw = async (from: string, to: string, body: string): Promise<number[]> => {
    const client = await openSession(relay.smtpPort);
    const codes: number[] = [(await client.command(`MAIL FROM:<${from}> SMTPUTF8`)).code, (await client.command(`RCPT TO:<${to}>`)).code];
    if (!codes.some((code) => code !== 250)) {
      codes.push((await client.command('DATA')).code, (await client.command(`${body}\r\n.`)).code);
    }
    await client.command('QUIT');
    client.close();
    return codes;
  };

  it('a sender with U+010D U+010A adds no header and no blank line to the stored mail; LIST size = RETR size', async () => {
    // In latin1 these are "\r\n" and ":" " ": the old Return-Path became two lines.
    const sender = 'x\u010d\u010aX-Injected\u013a\u0120yes@evil.example';
    expect(await sendRaw(sender, 'bob@sigill.test', 'Subject: injected sender\r\n\r\nhello')).toEqual([250, 250, 354, 250]);
    const [stored] = await waitFor(async () => {
      const messages = await mailboxMessages(relay, 'bob@sigill.test');
      return messages.length === 1 && messages;
    }, 'delivery to bob');
    const bytes = Buffer.from(stored ?? '', 'utf8');
    expect(hasOnlyCrlf(bytes)).toBe(true);
    expect(bytes.subarray(0, bytes.indexOf('\r\n') + 2).equals(Buffer.from(`Return-Path: <${sender}>\r\n`, 'utf8'))).toBe(true);
    expect(headerSection(bytes)).not.toMatch(/^X-Injected/m);
    expect(headerSection(bytes)).toMatch(/^Subject: injected sender\r$/m);

    const sizes = await listAndRetrieveSizes(relay, BOB);
    expect(sizes.retrieved).toBe(sizes.listed);
    expect(sizes.bytes.equals(bytes)).toBe(true);
  });

  it('a relayed recipient with U+010D U+010A stays inside the Received header, byte for byte', async () => {
    const recipient = 'y\u010d\u010a\u010d\u010aInjected-body@far.test';
    expect(await sendRaw('someone@example.org', recipient, 'Subject: injected recipient\r\n\r\nhello')).toEqual([250, 250, 354, 250]);
    const captured = await waitFor(() => capture.received.find((entry) => entry.message.includes('injected recipient')), 'the relayed message');
    expect(captured.to).toEqual([recipient]);
    expect(hasOnlyCrlf(captured.message)).toBe(true);
    const headers = headerSection(captured.message);
    expect(headers).toContain(`\r\n\tfor <${recipient}>;\r\n`);
    expect(headers).toMatch(/^Subject: injected recipient\r$/m); // still a header, not pushed into the body
  });

  it('refuses addresses with control, separator, bidi or malformed-UTF-8 characters, as sender and as recipient', async () => {
    for (const character of ['\u2028', '\u2029', '\u0085', '\u00a0', '\u202e', '\ufffd', '\u200b']) {
      const client = await openSession(relay.smtpPort);
      const mail = await client.command(`MAIL FROM:<a${character}b@example.org> SMTPUTF8`);
      expect(mail.code, `sender with U+${character.codePointAt(0)?.toString(16)}`).toBeGreaterThanOrEqual(500);
      expect((await client.command('MAIL FROM:<a@example.org> SMTPUTF8')).code).toBe(250);
      const rcpt = await client.command(`RCPT TO:<c${character}d@far.test>`);
      expect(rcpt.code, `recipient with U+${character.codePointAt(0)?.toString(16)}`).toBeGreaterThanOrEqual(500);
      client.close();
    }
  });

  it('international addresses from a real SMTPUTF8 client (nodemailer) survive byte for byte', async () => {
    const sender = 'jörg.müller@exämple.org';
    const remote = 'søren.ĊĎ@far.test';
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true });
    const info = await transport.sendMail({ envelope: { from: sender, to: ['bob@sigill.test', remote] }, from: sender, to: remote, subject: 'grüße', text: 'Grüße aus Köln\n' });
    transport.close();
    expect(info.accepted).toEqual(['bob@sigill.test', remote]);

    const captured = await waitFor(() => capture.received.find((entry) => entry.to.includes(remote)), 'the relayed message');
    expect(captured.from).toBe(sender);
    expect(captured.to).toEqual([remote]);

    const stored = await waitFor(async () => (await mailboxMessages(relay, 'bob@sigill.test')).find((message) => message.includes(sender)), 'delivery to bob');
    const bytes = Buffer.from(stored, 'utf8');
    expect(bytes.subarray(0, bytes.indexOf('\r\n') + 2).equals(Buffer.from(`Return-Path: <${sender}>\r\n`, 'utf8'))).toBe(true);
    const number = (await relay.store.list('bob@sigill.test')).length; // the newest
    const sizes = await listAndRetrieveSizes(relay, BOB, number);
    expect(sizes.retrieved).toBe(sizes.listed);
    expect(sizes.bytes.equals(bytes)).toBe(true);
  });
});
