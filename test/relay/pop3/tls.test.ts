/**
 * STLS (RFC 2595 §4) with a self-signed certificate made by openssl: plaintext logins refused before
 * it (as for a client off loopback), STLS advertised only before TLS, and plaintext pipelined after
 * STLS discarded (the STARTTLS command-injection attacks of "NO STARTTLS", USENIX Security 2021).
 */
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithTools } from '../../support/tools.ts';
import { ALICE, bytes, RawClient, selfSignedCertificate, startFixture, type Pop3Fixture } from './helpers.ts';

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'POP3 STLS', () => {
  let certificate: { cert: string; key: string; dir: string };
  let fixture: Pop3Fixture;
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const client = await RawClient.open(fixture);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    certificate = await selfSignedCertificate();
  });
  afterAll(async () => {
    await rm(certificate.dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    fixture = await startFixture({ tls: certificate, plaintextAuthOnLoopback: false });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await fixture.close();
  });

  it('refuses plaintext logins before STLS and accepts them after', async () => {
    await fixture.store.deliver(ALICE.address, bytes('Subject: tls\r\n\r\nhello\r\n'));
    const client = await open();
    const before = await client.multiline('CAPA');
    expect(before.lines).toContain('STLS');
    expect(before.lines).not.toContain('USER');
    expect(before.lines).not.toContain('SASL PLAIN');
    expect(await client.command(`USER ${ALICE.address}`)).toMatch(/^-ERR \[AUTH\] .*STLS/);
    expect(await client.command('AUTH PLAIN')).toMatch(/^-ERR \[AUTH\] .*STLS/);
    expect(await client.command('STLS')).toMatch(/^\+OK/);
    await client.startTls(certificate.cert);
    const after = await client.multiline('CAPA');
    expect(after.lines).not.toContain('STLS');
    expect(after.lines).toEqual(expect.arrayContaining(['USER', 'SASL PLAIN']));
    expect(await client.command('STLS')).toMatch(/^-ERR/);
    expect(await client.login(ALICE)).toMatch(/^\+OK .*, 1 message \(/);
    expect((await client.multiline('RETR 1')).lines).toEqual(['Subject: tls', '', 'hello']);
    expect(await client.quit()).toMatch(/^\+OK/);
  });

  it('discards commands pipelined in plaintext after STLS', async () => {
    const client = await open();
    // Injected: a USER (so a later PASS would log in) and a QUIT (which would end the session).
    client.write(`STLS\r\nUSER ${ALICE.address}\r\nQUIT\r\n`);
    expect(await client.readLine()).toMatch(/^\+OK/);
    await client.startTls(certificate.cert);
    expect(await client.command(`PASS ${ALICE.password}`)).toBe('-ERR send USER first');
    expect((await client.multiline('CAPA')).status).toMatch(/^\+OK/);
    expect(await client.login(ALICE)).toMatch(/^\+OK/);
    await client.quit();
  });

  it('survives a client that sends garbage instead of a TLS handshake', async () => {
    const client = await open();
    expect(await client.command('STLS')).toMatch(/^\+OK/);
    client.write('this is not TLS\r\n\r\n');
    await client.closed;
    const next = await open();
    expect((await next.multiline('CAPA')).lines).toContain('STLS');
  });
});
