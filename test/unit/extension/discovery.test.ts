// The background's key discovery requests, over the Node stand-in for Thunderbird's APIs and a real
// HTTPS WKD and VKS server on loopback (test CA): lookups only once the user allowed network access,
// the options page's flow (find → import → accept), key-change warnings and their resolution, the
// settings of the sources, and the identity's public key file.
import { describe, expect, it } from 'vitest';
import { startBackground } from '../../../extension/background/main.ts';
import { LOOKUP_ORIGINS } from '../../../extension/background/discovery.ts';
import { request, RequestError, type RequestName, type RequestOf, type ResponseOf } from '../../../extension/shared/messages.ts';
import type { NodeFetch } from '../../../src/cli/key/node-fetch.ts';
import { autocryptCandidates, formatFingerprint, generateKey, Keyring, readCertificates, saveSettings } from '../../../src/core/index.ts';
import { fixtureAddress, fixturePassphrase, fixtureUserID, loadCertificate, readFixture } from '../../../keys-fixtures/index.ts';
import { useLoopbackKeyServers, type LoopbackKeyServers } from '../../support/key-servers.ts';
import { describeWithTools } from '../../support/tools.ts';
import { nodeBrowser } from './node-browser.ts';

const BOB = fixtureAddress('bob');
const accounts = [{ id: 'account1', name: 'alice@sigill.test', identities: [{ id: 'id1', email: 'alice@sigill.test', name: 'Alice' }] }];

async function rejection(promise: Promise<unknown>): Promise<RequestError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RequestError);
  return error as RequestError;
}

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'background key discovery against loopback key servers', () => {
  let servers: LoopbackKeyServers;
  let client: NodeFetch;
  useLoopbackKeyServers((started) => ({ servers, client } = started));

  async function start(options: { granted?: boolean } = {}) {
    const api = nodeBrowser({ accounts });
    if (options.granted !== false) for (const origin of LOOKUP_ORIGINS) api.grantedOrigins.add(origin);
    startBackground(api, { fetch: client.fetch });
    const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.sendFrom('options/options.html', message), name, payload);
    await call('settings.set', { vksUrl: 'https://keys.sigill.test' });
    return { api, call };
  }

  it('contacts no key server until the user allowed it', async () => {
    const { call, api } = await start({ granted: false });
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    const refused = await rejection(call('discovery.lookup', { address: BOB }));
    expect(refused.code).toBe('LOOKUP_FAILED');
    expect(refused.detail).toMatch(/not been allowed/);
    expect(servers.server.requests).toEqual([]);
    await api.permissions.request({ origins: LOOKUP_ORIGINS });
    expect((await call('discovery.lookup', { address: BOB })).sources[0]?.keys).toHaveLength(1);
  });

  it('finds bob on the WKD and the VKS, imports him undecided, accepts him', async () => {
    const { call } = await start();
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    await servers.server.publishVks(readFixture('bob', 'pub'));
    const bob = await loadCertificate('bob');
    const found = await call('discovery.lookup', { address: ` ${BOB.toUpperCase()} ` });
    expect(found.address).toBe(BOB);
    expect(found.sources.map((source) => [source.source, source.keys.map((key) => [key.formattedFingerprint, key.decision])])).toEqual([
      ['wkd', [[formatFingerprint(bob.getFingerprint()), 'new']]],
      ['vks', [[formatFingerprint(bob.getFingerprint()), 'new']]],
    ]);
    const candidate = found.sources[0]!.keys[0]!;
    expect(candidate).toMatchObject({ userIDs: [fixtureUserID('bob')], algorithms: ['ed25519', 'cv25519'], canEncrypt: true, expired: false, revoked: false });
    expect(candidate.origin).toMatch(/^https:\/\/openpgpkey\.sigill\.test\/\.well-known\/openpgpkey\/sigill\.test\/hu\//);
    // Nothing is stored by a lookup of a new key.
    expect((await call('keys.list', { secret: false })).total).toBe(0);

    const imported = await call('discovery.import', { candidate });
    expect(imported).toMatchObject({ decision: 'new', key: { fingerprint: bob.getFingerprint(), acceptance: 'undecided', status: 'not-accepted' } });
    const accepted = await call('discovery.import', { candidate: found.sources[1]!.keys[0]!, accept: true });
    expect(accepted).toMatchObject({ decision: 'same', key: { acceptance: 'accepted', status: 'usable' } });
    expect(accepted.warning).toBeUndefined();
  });

  it('a changed key on the WKD: a warning with both fingerprints, the old key still in use, until the user decides', async () => {
    const { call } = await start();
    await call('keys.importPublic', { text: readFixture('bob', 'pub') });
    const bob = await loadCertificate('bob');
    await call('keys.setAcceptance', { fingerprint: bob.getFingerprint(), acceptance: 'verified' });
    const { publicKey: other } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    servers.server.publishWkd(BOB, other.armor());

    const found = await call('discovery.lookup', { address: BOB });
    expect(found.sources[0]!.keys[0]).toMatchObject({ decision: 'conflict', stored: 'added' });
    expect(found.warnings).toMatchObject([
      {
        address: BOB,
        inUse: [{ fingerprint: bob.getFingerprint(), formattedFingerprint: formatFingerprint(bob.getFingerprint()), acceptance: 'verified', userID: fixtureUserID('bob') }],
        offered: { fingerprint: other.getFingerprint(), formattedFingerprint: formatFingerprint(other.getFingerprint()), source: 'wkd', userID: fixtureUserID('bob') },
      },
    ]);
    expect(await call('keys.warnings', {})).toEqual(found.warnings);
    expect((await call('keys.get', { fingerprint: bob.getFingerprint() })).acceptance).toBe('verified');
    expect((await call('keys.get', { fingerprint: other.getFingerprint() })).status).toBe('not-accepted');

    // "Accept" on the found key goes no further than the warning: the choice is the user's, made there.
    const importedAgain = await call('discovery.import', { candidate: found.sources[0]!.keys[0]!, accept: true });
    expect(importedAgain.key.acceptance).toBe('undecided');
    expect(importedAgain.warning?.offered.fingerprint).toBe(other.getFingerprint());

    const resolved = await call('keys.resolveWarning', { address: BOB, fingerprint: other.getFingerprint(), choice: 'accept' });
    expect(resolved.accepted).toMatchObject({ fingerprint: other.getFingerprint(), acceptance: 'accepted' });
    expect(resolved.demoted).toMatchObject([{ fingerprint: bob.getFingerprint(), acceptance: 'undecided' }]);
    expect(await call('keys.warnings', {})).toEqual([]);
  });

  it('the sources follow the settings; a failing source is reported beside the others', async () => {
    const { call } = await start();
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    await call('settings.set', { lookupSources: ['wkd'] });
    expect((await call('discovery.lookup', { address: BOB })).sources.map((source) => source.source)).toEqual(['wkd']);
    await call('settings.set', { lookupSources: [] });
    expect((await rejection(call('discovery.lookup', { address: BOB }))).detail).toMatch(/no key source/);
    await call('settings.set', { lookupSources: ['wkd', 'vks'], vksUrl: 'https://elsewhere.test' });
    servers.server.override('https://elsewhere.test/vks/v1/by-email/bob%40sigill.test', { status: 500, body: 'broken' });
    const found = await call('discovery.lookup', { address: BOB });
    expect(found.sources[0]!.keys).toHaveLength(1);
    expect(found.sources[1]).toMatchObject({ source: 'vks', keys: [], error: { code: 'LOOKUP_FAILED' } });
    expect((await rejection(call('discovery.lookup', { address: 'not an address' }))).code).toBe('BAD_INPUT');
    expect(await call('settings.get', {})).toMatchObject({ lookupAutomatically: false, attachPublicKey: false, lookupSources: ['wkd', 'vks'], vksUrl: 'https://elsewhere.test' });
  });

  it('with automatic lookups allowed, the background looks revoked keys up again when it starts', async () => {
    const api = nodeBrowser({ accounts });
    for (const origin of LOOKUP_ORIGINS) api.grantedOrigins.add(origin);
    const keyring = await Keyring.open({ storage: api.storageBackend });
    await keyring.importKeys(readFixture('revoked', 'pub'), { acceptance: 'accepted' });
    await saveSettings(api.storageBackend, { lookupAutomatically: true, lookupSources: ['wkd'] });
    const replacement = await generateKey({ userIDs: [fixtureUserID('revoked')] });
    servers.server.publishWkd(fixtureAddress('revoked'), replacement.publicKey.armor());
    const service = await startBackground(api, { fetch: client.fetch }).ready;
    const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.sendFrom('options/options.html', message), name, payload);
    for (let tries = 0; tries < 200 && (await call('keys.warnings', {})).length === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    expect((await call('keys.warnings', {})).map((warning) => warning.offered.fingerprint)).toEqual([replacement.publicKey.getFingerprint()]);
    expect(service.keyring.record(replacement.publicKey.getFingerprint())?.acceptance).toBe('undecided');
    // Not allowed automatically: nothing is asked when the background starts.
    const quiet = nodeBrowser({ accounts });
    for (const origin of LOOKUP_ORIGINS) quiet.grantedOrigins.add(origin);
    await (await Keyring.open({ storage: quiet.storageBackend })).importKeys(readFixture('revoked', 'pub'), { acceptance: 'accepted' });
    const asked: unknown[] = [];
    const contains = quiet.permissions.contains;
    quiet.permissions.contains = (permissions) => {
      asked.push(permissions);
      return contains(permissions);
    };
    await startBackground(quiet, { fetch: client.fetch }).ready;
    // The start-up refresh would have checked the permission before the background was ready.
    expect(asked).toEqual([]);
  });

  it('refreshes expired and revoked keys on demand', async () => {
    const { call } = await start();
    await call('keys.importPublic', { text: readFixture('revoked', 'pub') });
    const replacement = await generateKey({ userIDs: [fixtureUserID('revoked')] });
    servers.server.publishWkd(fixtureAddress('revoked'), replacement.publicKey.armor());
    const revoked = await loadCertificate('revoked');
    await call('keys.setAcceptance', { fingerprint: revoked.getFingerprint(), acceptance: 'accepted' });
    const refreshed = await call('discovery.refresh', {});
    expect(refreshed).toMatchObject({ refreshed: 1, notDue: 0, warnings: [{ address: fixtureAddress('revoked'), offered: { fingerprint: replacement.publicKey.getFingerprint() } }] });
  });
});

describe('keys from received mail (the read path’s hook)', () => {
  it('an Autocrypt header is kept undecided; a different key for an accepted address becomes a warning the page lists', async () => {
    const api = nodeBrowser({ accounts });
    const service = await startBackground(api).ready;
    const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.sendFrom('options/options.html', message), name, payload);
    const carol = await loadCertificate('carol');
    const header = (key: { write(): Uint8Array }, from: string) => `addr=${from}; prefer-encrypt=mutual; keydata=${Buffer.from(key.write()).toString('base64')}`;
    const [first] = await service.keyDiscovery!.receive([await autocryptCandidates({ from: fixtureAddress('carol'), headers: [header(carol, fixtureAddress('carol'))] })], { store: 'all' });
    expect(first!.candidates[0]).toMatchObject({ decision: { action: 'new' }, stored: 'added' });
    expect((await call('keys.get', { fingerprint: carol.getFingerprint() })).acceptance).toBe('undecided');
    await call('keys.setAcceptance', { fingerprint: carol.getFingerprint(), acceptance: 'accepted' });
    const { publicKey: other } = await generateKey({ userIDs: [fixtureUserID('carol')] });
    await service.keyDiscovery!.receive([await autocryptCandidates({ from: fixtureAddress('carol'), headers: [header(other, fixtureAddress('carol'))] })], { store: 'all' });
    expect(await call('keys.warnings', { address: fixtureAddress('carol') })).toMatchObject([{ inUse: [{ fingerprint: carol.getFingerprint() }], offered: { fingerprint: other.getFingerprint(), source: 'autocrypt' } }]);
    expect((await call('keys.get', { fingerprint: carol.getFingerprint() })).acceptance).toBe('accepted');
  });
});

describe('the identity’s public key file', () => {
  it('is the newest own key for the address, public part only, named as Thunderbird names it', async () => {
    const api = nodeBrowser({ accounts });
    startBackground(api);
    const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.sendFrom('options/options.html', message), name, payload);
    expect((await rejection(call('keys.ownPublicKeyFile', { identity: 'alice@sigill.test' }))).code).toBe('KEY_NOT_FOUND');
    await call('keys.importSecret', { text: readFixture('alice', 'sec'), passphrase: fixturePassphrase('alice') });
    const alice = await loadCertificate('alice');
    const file = await call('keys.ownPublicKeyFile', { identity: 'Alice@Sigill.test' });
    expect(file.fileName).toBe(`OpenPGP_0x${alice.getKeyID().toHex().toUpperCase()}.asc`);
    expect(file.text).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(file.text).not.toContain('PRIVATE KEY');
    const [certificate] = await readCertificates(file.text);
    expect(certificate?.getFingerprint()).toBe(alice.getFingerprint());
    // Warnings are empty without any lookup; the key discovery requests answer without a network.
    expect(await call('keys.warnings', {})).toEqual([]);
  });
});
