/**
 * The whole relay path of docs/architecture.md: nodemailer submits (AUTH on loopback), the relay spools and
 * delivers locally, Python's poplib collects over the relay's POP3 listener, and the HTTP view shows
 * exactly what was stored before and nothing after the POP3 QUIT.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseHostPort } from '../../../src/relay/network.ts';
import { describeWithTools } from '../../support/tools.ts';
import { HTTP_TOKEN, PASSWORDS, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL('./clients/poplib_client.py', import.meta.url));

describeWithTools([{ command: 'python3', debianPackage: 'python3' }], 'relay path: SMTP submission -> mailbox -> POP3 and HTTP', () => {
  let relay: TestRelay;

  beforeAll(async () => {
    relay = await startTestRelay({ listen: { pop3: '127.0.0.1:0', http: '127.0.0.1:0' } });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('carries a message from nodemailer to poplib, visible in the HTTP view until deleted', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.submissionPort,
      secure: false,
      ignoreTLS: true,
      auth: { user: 'alice@sigill.test', pass: PASSWORDS.alice },
    });
    const body = '-----BEGIN PGP MESSAGE-----\n\nwV4DAAAAAAAAAAASAQdA\n.starts with a dot\n-----END PGP MESSAGE-----\n';
    await transport.sendMail({ from: 'alice@sigill.test', to: 'bob@sigill.test', subject: 'relay path', text: body });
    transport.close();

    const http = parseHostPort(relay.info.http ?? '');
    const api = async (path: string): Promise<Response> => fetch(`http://${http.host}:${http.port}${path}`, { headers: { Authorization: `Bearer ${HTTP_TOKEN}` } });
    const listed = await waitFor(async () => {
      const messages = (await (await api('/api/mailboxes/bob@sigill.test/messages')).json()) as { id: string }[] | { error: string };
      return Array.isArray(messages) && messages.length === 1 ? messages : undefined;
    }, 'delivery into bob@sigill.test');
    const stored = Buffer.from(await (await api(`/api/mailboxes/bob@sigill.test/messages/${listed[0]?.id}/raw`)).arrayBuffer());
    expect(stored.toString('latin1')).toContain('.starts with a dot');
    expect(stored.toString('latin1')).toMatch(/^Return-Path: <alice@sigill.test>\r\n/);

    const pop3 = parseHostPort(relay.info.pop3 ?? '');
    const { stdout } = await run('python3', [CLIENT, pop3.host, String(pop3.port), 'bob@sigill.test', PASSWORDS.bob, '--dele', '1']);
    const result = JSON.parse(stdout) as { stat: [number, number]; messages: string[] };
    expect(result.stat).toEqual([1, stored.length]);
    expect(Buffer.from(result.messages[0] ?? '', 'base64').equals(stored)).toBe(true);

    expect(await (await api('/api/mailboxes')).json()).toEqual([{ address: 'bob@sigill.test', messages: 0 }]);
  });
});
