/** Python's poplib as an independent POP3 client, over STLS with a self-signed certificate. */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../../support/tools.ts';
import { ALICE, bytes, selfSignedCertificate, startFixture, type Pop3Fixture } from './helpers.ts';

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL('./clients/poplib_client.py', import.meta.url));

interface PoplibResult {
  greeting: string;
  capa_before: string[];
  capa_after_stls?: string[];
  stat: [number, number];
  uidl: string[];
  messages: string[];
  top?: string[];
  quit: string;
}

async function runPoplib(fixture: Pop3Fixture, ...args: string[]): Promise<PoplibResult> {
  const { stdout } = await run('python3', [CLIENT, fixture.host, String(fixture.port), ALICE.address, ALICE.password, ...args]);
  return JSON.parse(stdout) as PoplibResult;
}

describeWithTools([{ command: 'python3', debianPackage: 'python3' }], 'POP3 with Python poplib on loopback (no TLS)', () => {
  let fixture: Pop3Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('logs in with USER/PASS over plaintext loopback, as the README shows', async () => {
    const message = 'Subject: hello\r\n\r\nover loopback\r\n';
    await fixture.store.deliver(ALICE.address, bytes(message));
    const result = await runPoplib(fixture, '--dele', '1');
    expect(result.capa_before).toEqual(expect.arrayContaining(['USER', 'SASL', 'UIDL', 'TOP']));
    expect(result.stat).toEqual([1, message.length]);
    expect(Buffer.from(result.messages[0] ?? '', 'base64').toString('latin1')).toBe(message);
    expect(await fixture.store.list(ALICE.address)).toEqual([]);
  });
});

describeWithTools(
  [
    { command: 'python3', debianPackage: 'python3' },
    { command: 'openssl', debianPackage: 'openssl' },
  ],
  'POP3 with Python poplib',
  () => {
    let certificate: { cert: string; key: string; dir: string };
    let fixture: Pop3Fixture;
    let caFile: string;

    const poplib = (...args: string[]): Promise<PoplibResult> => runPoplib(fixture, '--stls', caFile, ...args);

    beforeAll(async () => {
      certificate = await selfSignedCertificate();
      caFile = join(certificate.dir, 'cert.pem');
      await writeFile(caFile, certificate.cert);
      fixture = await startFixture({ tls: certificate, plaintextAuthOnLoopback: false });
    });
    afterAll(async () => {
      await fixture.close();
      await rm(certificate.dir, { recursive: true, force: true });
    });

    it('retrieves messages byte for byte, with stable UIDLs, and deletes only what it marked', async () => {
      const first = 'From: a@example.test\r\nSubject: one\r\n\r\n.dot line\r\n..\r\n.\r\nend\r\n';
      const second = 'Subject: two\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nwcBMA...\r\n-----END PGP MESSAGE-----\r\n';
      await fixture.store.deliver(ALICE.address, bytes(first));
      await fixture.store.deliver(ALICE.address, bytes(second));

      const result = await poplib('--top', '1', '1', '--dele', '1');
      expect(result.capa_before).toContain('STLS');
      expect(result.capa_before).not.toContain('USER');
      expect(result.capa_after_stls).toContain('USER');
      expect(result.capa_after_stls).not.toContain('STLS');
      expect(result.stat).toEqual([2, first.length + second.length]);
      expect(result.messages.map((m) => Buffer.from(m, 'base64').toString('latin1'))).toEqual([first, second]);
      expect(result.top).toEqual(['From: a@example.test', 'Subject: one', '', '.dot line']);
      expect(result.quit).toMatch(/^\+OK/);

      const again = await poplib();
      expect(again.stat[0]).toBe(1);
      expect(again.uidl).toEqual([`1 ${result.uidl[1]?.split(' ')[1]}`]);
      expect(Buffer.from(again.messages[0] ?? '', 'base64').toString('latin1')).toBe(second);
    });
  },
);
