// INJECT (docs/security.md) and RFC 3207: commands pipelined in plaintext behind STARTTLS are discarded,
// never executed inside the TLS session; AUTH appears only after STARTTLS when plaintext AUTH is not
// allowed; the session starts over after the handshake (RFC 3207 §4.2).
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.ts';
import { describeWithTools } from '../../support/tools.ts';
import { makeTlsPair, mailboxMessages, openSession, PASSWORDS, spoolEmpty, startTestRelay, type TestRelay } from '../helpers.ts';

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'STARTTLS', () => {
  let relay: TestRelay;
  let certDir: string;
  beforeAll(async () => {
    certDir = await tempDir('sigill-tls-');
    relay = await startTestRelay({ tls: makeTlsPair(certDir), extra: { plaintextAuthOnLoopback: false } });
  });
  afterAll(async () => {
    await relay?.stop();
    await rm(certDir, { recursive: true, force: true });
  });

  it('offers AUTH only after STARTTLS, then accepts a login', async () => {
    const client = await openSession(relay.submissionPort);
    const before = await client.command('EHLO client.test');
    expect(before.text).toContain('STARTTLS');
    expect(before.text).not.toContain('AUTH');
    expect((await client.command('STARTTLS')).code).toBe(220);
    await client.upgrade();
    const after = await client.command('EHLO client.test');
    expect(after.text).toContain('AUTH PLAIN LOGIN');
    expect(after.text).not.toContain('STARTTLS');
    expect((await client.login('alice@sigill.test', PASSWORDS.alice)).code).toBe(235);
    client.close();
  });

  it('discards a whole transaction pipelined in plaintext after STARTTLS', async () => {
    const inbound = await openSession(relay.smtpPort);
    await inbound.write(
      'STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<bob@sigill.test>\r\nDATA\r\nSubject: injected\r\n\r\ninjected\r\n.\r\n',
    );
    expect((await inbound.reply()).code).toBe(220);
    await inbound.upgrade();
    // The first reply inside TLS must be the one to our own EHLO: nothing injected was run.
    const ehlo = await inbound.command('EHLO client.test');
    expect(ehlo.code).toBe(250);
    expect(ehlo.lines[0]).toMatch(/^250-mx\.sigill\.test/);
    // The pre-TLS transaction is gone: RCPT needs a new MAIL.
    expect((await inbound.command('RCPT TO:<bob@sigill.test>')).code).toBe(503);
    expect((await inbound.command('QUIT')).code).toBe(221);
    inbound.close();
    expect(await mailboxMessages(relay, 'bob@sigill.test')).toEqual([]);
    expect(await spoolEmpty(relay.dir)).toBe(true);
  });

  it('forgets a plaintext EHLO: MAIL right after the handshake needs a new EHLO', async () => {
    const client = await openSession(relay.smtpPort);
    expect((await client.command('STARTTLS')).code).toBe(220);
    await client.upgrade();
    expect((await client.command('MAIL FROM:<sender@example.net>')).code).toBe(503);
    client.close();
  });
});
