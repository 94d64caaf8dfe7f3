/**
 * `bin/sigill key locate` as a person runs it, against real key servers on loopback: an HTTPS WKD
 * and VKS server whose certificate comes from a throwaway test CA, trusted through NODE_EXTRA_CA_CERTS
 * as Node does it; the servers' real names reached through --connect-to and --resolve as in curl.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { readFixture } from '../../../keys-fixtures/index.ts';
import { startKeyServer, startLoopbackKeyServers, type LoopbackKeyServers } from '../../support/key-servers.ts';
import { describeWithTools } from '../../support/tools.ts';

const SIGILL = path.resolve('bin/sigill');
const BOB_FINGERPRINT = '7132 CB7A 3955 C51F CC12  541C 3D80 6E1D 93BC A2E2';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'sigill key locate', () => {
  let servers: LoopbackKeyServers;
  beforeAll(async () => {
    servers = await startLoopbackKeyServers();
  });
  afterAll(async () => {
    await servers?.stop();
  });
  afterEach(() => servers.server.reset());

  function locate(args: string[], options: { trustCA?: boolean } = {}): Promise<Run> {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    if (options.trustCA !== false) env.NODE_EXTRA_CA_CERTS = servers.ca.caCertPath;
    const child = spawn(process.execPath, [SIGILL, 'key', 'locate', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  }
  const viaServers = (): string[] => [...servers.connectToArgs, '--vks-url', 'https://keys.sigill.test'];

  it('prints the key each source found, with fingerprint, user ID and status; exit 0', async () => {
    servers.server.publishWkd('bob@sigill.test', readFixture('bob', 'pub'), ['advanced']);
    await servers.server.publishVks(readFixture('bob', 'pub'));
    const run = await locate([...viaServers(), 'Bob <bob@sigill.test>']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('[wkd] bob@sigill.test\n  pub   ed25519 2025-06-01  usable for encryption\n');
    expect(run.stdout).toContain(`        ${BOB_FINGERPRINT}\n  uid   Bob <bob@sigill.test>\n  from  https://openpgpkey.sigill.test/.well-known/openpgpkey/sigill.test/hu/`);
    expect(run.stdout).toContain('[vks] bob@sigill.test\n  pub   ed25519');
    expect(run.stdout).toContain('from  https://keys.sigill.test/vks/v1/by-email/bob%40sigill.test');
  });

  it('--source picks the sources (repeatable or a comma list); --armor prints the certificate', async () => {
    await servers.server.publishVks(readFixture('bob', 'pub'));
    const run = await locate([...viaServers(), '--source', 'vks', '--armor', 'bob@sigill.test']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('[wkd]');
    expect(run.stdout).toMatch(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----/);
    expect(servers.server.requests.map((request) => request.host)).toEqual(['keys.sigill.test']);
    servers.server.requests.length = 0;
    const both = await locate([...viaServers(), '--source', 'wkd', '--source', 'vks,wkd', 'bob@sigill.test']);
    expect(both.stdout.match(/^\[(wkd|vks)\]/gm)).toEqual(['[wkd]', '[vks]']);
  });

  it('--resolve sends a host name to a loopback address as curl does, and TLS still checks that name', async () => {
    await servers.server.publishVks(readFixture('bob', 'pub'));
    const port = servers.server.port;
    const run = await locate(['--source', 'vks', '--vks-url', `https://keys.sigill.test:${port}`, '--resolve', `keys.sigill.test:${port}:127.0.0.1`, 'bob@sigill.test']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(BOB_FINGERPRINT);
    // The certificate holds keys.sigill.test but no name "wrong.test": refused although it is the same server.
    const wrong = await locate(['--source', 'vks', '--vks-url', `https://wrong.test:${port}`, '--resolve', `wrong.test:${port}:127.0.0.1`, 'bob@sigill.test']);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/error: The key lookup failed\. \(https:\/\/wrong\.test:\d+\/vks\/v1\/by-email\/bob%40sigill\.test: ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it('--resolve reaches the WKD advanced host openpgpkey.sigill.test on port 443 of a loopback address', async () => {
    // A second server on port 443 of a random 127.0.0.0/8 address, so no fixed address is shared with anything else.
    const address = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const wkd = await startKeyServer({ tls: { cert: servers.ca.serverCert, key: servers.ca.serverKey }, host: address, port: 443 });
    try {
      wkd.publishWkd('bob@sigill.test', readFixture('bob', 'pub'), ['advanced']);
      const run = await locate(['--source', 'wkd', '--resolve', `openpgpkey.sigill.test:443:${address}`, 'bob@sigill.test']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(BOB_FINGERPRINT);
      expect(wkd.requests.map((request) => request.host)).toEqual(['openpgpkey.sigill.test']);
    } finally {
      await wkd.close();
    }
  });

  it('exit 3 when no source has a key, with the keys it refused and why', async () => {
    servers.server.publishWkd('bob@sigill.test', readFixture('mallory', 'pub'));
    const run = await locate([...viaServers(), '-v', 'bob@sigill.test']);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('[wkd] bob@sigill.test\n  asked https://openpgpkey.sigill.test/');
    expect(run.stdout).toMatch(/refused 4B2E 4827 B3F0 F845 F9FC {2}AED7 1C06 5E2C 1AE9 CE58: The key has no valid user ID with this mail address\. \(bob@sigill\.test is not in key .*"Mallory <mallory@sigill\.test>"\)/);
    expect(run.stdout).toContain('[vks] bob@sigill.test\n  asked https://keys.sigill.test/vks/v1/by-email/bob%40sigill.test: not found (HTTP 404)\n  no key found\n');
  });

  it('exit 1 when the servers are not trusted (no NODE_EXTRA_CA_CERTS)', async () => {
    servers.server.publishWkd('bob@sigill.test', readFixture('bob', 'pub'));
    const run = await locate([...viaServers(), '--source', 'wkd', 'bob@sigill.test'], { trustCA: false });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/error: The key lookup failed\. \(https:\/\/sigill\.test\/.*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
  });

  it('exit 1 for bad arguments, with the reason', async () => {
    for (const [args, reason] of [
      [[], /EMAIL is missing/],
      [['not-an-address'], /not a mail address/],
      [['--source', 'ldap', 'bob@sigill.test'], /unknown source "ldap"/],
      [['--resolve', 'sigill.test:443', 'bob@sigill.test'], /expected HOST:PORT:ADDR/],
      [['--connect-to', 'sigill.test:443:127.0.0.1:http', 'bob@sigill.test'], /"http" is not a port/],
      [['--vks-url', 'http://keys.example.org', '--source', 'vks', 'bob@sigill.test'], /must be https/],
      [['--frobnicate', 'bob@sigill.test'], /Unknown option '--frobnicate'/],
    ] as const) {
      const run = await locate([...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toMatch(reason);
    }
    const help = await locate(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: sigill key locate [OPTIONS] EMAIL');
  });
});
