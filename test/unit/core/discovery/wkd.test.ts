/**
 * WKD against a real HTTPS server on loopback (test CA made by openssl), reached under its real
 * names through the CLI's fetch: the advanced method first, then the direct one; user IDs for other
 * addresses left out; size cap, timeout, redirects and HTTP errors.
 */
import { expect, it } from 'vitest';
import { createWkdSource, generateKey, readCertificates, wkdUrls } from '../../../../src/core/index.ts';
import { createNodeFetch, type NodeFetch } from '../../../../src/cli/key/node-fetch.ts';
import { fixtureUserID, readFixture } from '../../../../keys-fixtures/index.ts';
import { describeWithTools } from '../../../support/tools.ts';
import { useLoopbackKeyServers, type LoopbackKeyServers } from '../../../support/key-servers.ts';

const BOB = 'bob@sigill.test';

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'WKD lookups on a loopback HTTPS server', () => {
  let servers: LoopbackKeyServers;
  let client: NodeFetch;
  const urls = wkdUrls(BOB);

  useLoopbackKeyServers((started) => ({ servers, client } = started));

  const source = (options: { timeoutMs?: number; maxBytes?: number } = {}) => createWkdSource({ fetch: client.fetch, ...options });
  const asked = (): string[] => servers.server.requests.map((request) => `${request.host}${request.url}`);
  const advanced = new URL(urls.advanced);
  const direct = new URL(urls.direct);

  it('finds a key by the advanced method and does not ask the direct one', async () => {
    servers.server.publishWkd(BOB, (await readCertificates(readFixture('bob', 'pub')))[0]!.write(), ['advanced']);
    const result = await source().lookup('Bob <Bob@sigill.test>');
    expect(result.error).toBeUndefined();
    expect(result.keys).toHaveLength(1);
    expect(result.keys[0]).toMatchObject({
      source: 'wkd',
      address: BOB,
      fingerprint: '7132cb7a3955c51fcc12541c3d806e1d93bca2e2',
      userIDs: [fixtureUserID('bob')],
      origin: advanced.href.replace('?l=bob', '?l=Bob'),
    });
    expect(result.keys[0]!.certificate).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(result.keys[0]!.status).toMatchObject({ canEncrypt: true, problems: [] });
    expect(asked()).toEqual([`openpgpkey.sigill.test${advanced.pathname}?l=Bob`]);
  });

  it('falls back to the direct method when the advanced one has no key (404)', async () => {
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'), ['direct']);
    const result = await source().lookup(BOB);
    expect(result.keys.map((key) => key.fingerprint)).toEqual(['7132cb7a3955c51fcc12541c3d806e1d93bca2e2']);
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual(['not found (HTTP 404)', expect.stringMatching(/^\d+ bytes$/)]);
    expect(asked()).toEqual([`openpgpkey.sigill.test${advanced.pathname}${advanced.search}`, `sigill.test${direct.pathname}${direct.search}`]);
  });

  it('falls back to the direct method when the advanced host cannot be reached', async () => {
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'), ['direct']);
    // openpgpkey.sigill.test goes to a loopback port where nothing listens.
    const closed = createNodeFetch({
      routes: [{ host: 'openpgpkey.sigill.test', port: 443, toHost: '127.0.0.1', toPort: 1 }, ...servers.routes],
      extraCA: [servers.ca.caCert],
    });
    try {
      const result = await createWkdSource({ fetch: closed.fetch }).lookup(BOB);
      expect(result.keys).toHaveLength(1);
      expect(result.attempts[0]?.outcome).toMatch(/ECONNREFUSED/);
      expect(result.error).toBeUndefined();
    } finally {
      await closed.close();
    }
  });

  it('is simply "no key" when neither method has one', async () => {
    const result = await source().lookup(BOB);
    expect(result).toMatchObject({ keys: [], rejected: [] });
    expect(result.error).toBeUndefined();
    expect(result.attempts).toHaveLength(2);
  });

  it('keeps only the user IDs that name the address', async () => {
    const { publicKey } = await generateKey({ userIDs: ['Bob Work <bob@work.example>', 'Bob <bob@sigill.test>', 'Robert <robert@elsewhere.test>'] });
    servers.server.publishWkd(BOB, publicKey.armor());
    const result = await source().lookup(BOB);
    expect(result.keys).toHaveLength(1);
    const found = result.keys[0]!;
    expect(found.userIDs).toEqual(['Bob <bob@sigill.test>']);
    expect(found.notes).toContain('2 user ID(s) for other addresses left out');
    const [stored] = await readCertificates(found.certificate);
    expect(stored!.users.map((user) => user.userID?.userID)).toEqual(['Bob <bob@sigill.test>']);
    expect(stored!.getFingerprint()).toBe(publicKey.getFingerprint());
  });

  it('refuses an answer larger than the cap, declared or streamed, without reading it all', async () => {
    servers.server.override(urls.advanced, { large: 64 * 1024 * 1024 });
    servers.server.override(urls.direct, { large: 300 * 1024, declare: true });
    const result = await source().lookup(BOB);
    expect(result.keys).toEqual([]);
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual([
      expect.stringMatching(/larger than allowed.*larger than 262144 bytes/),
      expect.stringMatching(/larger than allowed.*larger than 262144 bytes/),
    ]);
    expect(result.error?.code).toBe('TOO_LARGE');
    const streamed = servers.server.requests.find((request) => request.host === 'openpgpkey.sigill.test');
    expect(streamed?.bytesWritten).toBeLessThan(64 * 1024 * 1024);
  });

  it('gives up on a server that does not answer, or stops in the middle of the body', async () => {
    servers.server.override(urls.advanced, { stall: 'headers' });
    servers.server.override(urls.direct, { stall: 'body', bytes: 100 });
    const result = await source({ timeoutMs: 300 }).lookup(BOB);
    expect(result.keys).toEqual([]);
    expect(result.error?.code).toBe('LOOKUP_TIMEOUT');
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual([
      expect.stringMatching(/did not answer in time.*no complete answer within 300 ms/),
      expect.stringMatching(/did not answer in time/),
    ]);
  });

  it('a stalled advanced method still falls back to the direct one', async () => {
    servers.server.override(urls.advanced, { stall: 'headers' });
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'), ['direct']);
    const result = await source({ timeoutMs: 300 }).lookup(BOB);
    expect(result.keys).toHaveLength(1);
  });

  it('follows redirects within the domain, over https only', async () => {
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'), ['direct']);
    servers.server.override(urls.advanced, { redirect: urls.direct, status: 301 });
    const result = await source().lookup(BOB);
    expect(result.keys).toHaveLength(1);
    expect(result.attempts[0]?.outcome).toMatch(/^\d+ bytes via https:\/\/sigill\.test\//);
    expect(result.keys[0]?.origin).toBe(urls.direct);
  });

  it('refuses redirects to another domain, to http, and more than three', async () => {
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    servers.server.override(urls.advanced, { redirect: `https://elsewhere.test${advanced.pathname}` });
    servers.server.override(urls.direct, { redirect: `http://sigill.test${direct.pathname}` });
    const refused = await source().lookup(BOB);
    expect(refused.keys).toEqual([]);
    expect(refused.attempts.map((attempt) => attempt.outcome)).toEqual([
      expect.stringMatching(/refused \(elsewhere\.test is outside sigill\.test\)/),
      expect.stringMatching(/refused \(not https\)/),
    ]);
    expect(asked().some((request) => request.startsWith('elsewhere.test'))).toBe(false);

    const loop = 'https://sigill.test/loop';
    servers.server.override(urls.advanced, { redirect: loop });
    servers.server.override(urls.direct, { redirect: loop });
    servers.server.override(loop, { redirect: loop });
    const looping = await source().lookup(BOB);
    expect(looping.attempts[0]?.outcome).toMatch(/refused \(more than 3 redirects\)/);
    expect(looping.error?.code).toBe('LOOKUP_FAILED');
  });

  it('reports HTTP errors with the status and the URL', async () => {
    servers.server.override(urls.advanced, { status: 500, body: 'oops' });
    servers.server.override(urls.direct, { status: 403 });
    const result = await source().lookup(BOB);
    expect(result.error).toEqual({ code: 'LOOKUP_FAILED', message: expect.stringContaining(`${urls.direct}: HTTP 403`) });
    expect(result.attempts[0]?.outcome).toContain(`${urls.advanced}: HTTP 500`);
  });

  it('refuses a server whose certificate is not from a trusted CA', async () => {
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    const untrusting = createNodeFetch({ routes: servers.routes });
    try {
      const result = await createWkdSource({ fetch: untrusting.fetch }).lookup(BOB);
      expect(result.keys).toEqual([]);
      expect(result.error?.code).toBe('LOOKUP_FAILED');
      expect(result.attempts[0]?.outcome).toMatch(/certificate|UNABLE_TO_VERIFY|SELF_SIGNED/i);
    } finally {
      await untrusting.close();
    }
  });
});
