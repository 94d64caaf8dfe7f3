/**
 * The VKS API (keys.openpgp.org) against a real server on loopback: HTTPS under its own name with
 * the test CA, and plain HTTP on 127.0.0.1 (allowed for loopback only).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createVksSource, DEFAULT_VKS_URL } from '../../../../src/core/index.ts';
import { createNodeFetch, type NodeFetch } from '../../../../src/cli/key/node-fetch.ts';
import { fixtureUserID, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';
import { describeWithTools } from '../../../support/tools.ts';
import { startKeyServer, startLoopbackKeyServers, type KeyServer, type LoopbackKeyServers } from '../../../support/key-servers.ts';

const ALICE_FINGERPRINT = '6DF2816FEDDB15A9D19F2AC0433A37C2A1525EB6';
const BOB_FINGERPRINT = '7132CB7A3955C51FCC12541C3D806E1D93BCA2E2';

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'VKS lookups on loopback servers', () => {
  let servers: LoopbackKeyServers;
  let plain: KeyServer;
  let client: NodeFetch;

  beforeAll(async () => {
    servers = await startLoopbackKeyServers();
    plain = await startKeyServer();
    client = createNodeFetch({ routes: servers.routes, extraCA: [servers.ca.caCert] });
  });
  afterAll(async () => {
    await client?.close();
    await plain?.close();
    await servers?.stop();
  });
  afterEach(() => {
    servers.server.reset();
    plain.reset();
  });

  const vks = (baseUrl = 'https://keys.sigill.test', timeoutMs?: number) =>
    createVksSource({ fetch: client.fetch, baseUrl, ...(timeoutMs === undefined ? {} : { timeoutMs }) });

  it('finds a key by address at /vks/v1/by-email/', async () => {
    await servers.server.publishVks(readFixture('alice', 'pub'));
    const result = await vks().lookup('Alice@Sigill.test');
    expect(result.error).toBeUndefined();
    expect(result.keys).toHaveLength(1);
    expect(result.keys[0]).toMatchObject({
      source: 'vks',
      address: 'alice@sigill.test',
      fingerprint: ALICE_FINGERPRINT.toLowerCase(),
      userIDs: [fixtureUserID('alice')],
      origin: 'https://keys.sigill.test/vks/v1/by-email/alice%40sigill.test',
    });
    expect(servers.server.requests).toEqual([{ host: 'keys.sigill.test', url: '/vks/v1/by-email/alice%40sigill.test' }]);
  });

  it('finds a key by fingerprint at /vks/v1/by-fingerprint/ (upper-case hex)', async () => {
    await servers.server.publishVks(readFixture('alice', 'pub'));
    const result = await vks().lookupFingerprint('6df2 816f eddb 15a9 d19f  2ac0 433a 37c2 a152 5eb6', 'alice@sigill.test');
    expect(result.keys.map((key) => key.fingerprint)).toEqual([ALICE_FINGERPRINT.toLowerCase()]);
    expect(servers.server.requests[0]?.url).toBe(`/vks/v1/by-fingerprint/${ALICE_FINGERPRINT}`);
    await expectSigillError(vks().lookupFingerprint('1234', 'alice@sigill.test'), 'BAD_INPUT');
  });

  it('refuses a certificate with another fingerprint than asked for', async () => {
    servers.server.override(`https://keys.sigill.test/vks/v1/by-fingerprint/${ALICE_FINGERPRINT}`, { status: 200, body: readFixture('bob', 'pub') });
    const result = await vks().lookupFingerprint(ALICE_FINGERPRINT, 'bob@sigill.test');
    expect(result.keys).toEqual([]);
    expect(result.rejected).toEqual([
      expect.objectContaining({ fingerprint: BOB_FINGERPRINT.toLowerCase(), reason: expect.objectContaining({ code: 'KEY_NOT_FOUND' }) }),
    ]);
  });

  it('is "no key" for 404, an error for other statuses', async () => {
    expect(await vks().lookup('nobody@sigill.test')).toMatchObject({ keys: [], rejected: [], attempts: [{ outcome: 'not found (HTTP 404)' }] });
    servers.server.override('https://keys.sigill.test/vks/v1/by-email/alice%40sigill.test', { status: 503 });
    const failed = await vks().lookup('alice@sigill.test');
    expect(failed.error).toMatchObject({ code: 'LOOKUP_FAILED', message: expect.stringContaining('HTTP 503') });
  });

  it('takes a configured base URL, with a path, and plain http on loopback', async () => {
    await plain.publishVks(readFixture('bob', 'pub'));
    const result = await vks(`http://${plain.address}/`).lookup('bob@sigill.test');
    expect(result.keys.map((key) => key.fingerprint)).toEqual([BOB_FINGERPRINT.toLowerCase()]);
    plain.override(`http://${plain.address.split(':')[0]}/prefix/vks/v1/by-email/bob%40sigill.test`, { status: 200, body: readFixture('bob', 'pub') });
    expect((await vks(`http://${plain.address}/prefix`).lookup('bob@sigill.test')).keys).toHaveLength(1);
    expect(createVksSource({ fetch: client.fetch }).baseUrl).toBe(`${DEFAULT_VKS_URL}/`);
  });

  it('refuses plain http off loopback and URLs with credentials or a query', async () => {
    for (const baseUrl of ['http://keys.example.org', 'ftp://keys.example.org', 'https://user:pw@keys.example.org', 'https://keys.example.org/?q=1', 'not a url']) {
      await expectSigillError(() => createVksSource({ fetch: client.fetch, baseUrl }), 'BAD_INPUT');
    }
  });

  it('follows redirects on the same server only', async () => {
    await servers.server.publishVks(readFixture('alice', 'pub'));
    servers.server.override('https://keys.sigill.test/vks/v1/by-email/alice%40sigill.test', { redirect: `/vks/v1/by-fingerprint/${ALICE_FINGERPRINT}` });
    expect((await vks().lookup('alice@sigill.test')).keys).toHaveLength(1);
    servers.server.override('https://keys.sigill.test/vks/v1/by-email/alice%40sigill.test', { redirect: `https://elsewhere.test/vks/v1/by-fingerprint/${ALICE_FINGERPRINT}` });
    const refused = await vks().lookup('alice@sigill.test');
    expect(refused.error?.message).toMatch(/refused \(https:\/\/elsewhere\.test is another server\)/);
  });

  it('times out on a server that does not answer', async () => {
    servers.server.override('https://keys.sigill.test/vks/v1/by-email/alice%40sigill.test', { stall: 'headers' });
    expect((await vks(undefined, 200).lookup('alice@sigill.test')).error?.code).toBe('LOOKUP_TIMEOUT');
  });
});
