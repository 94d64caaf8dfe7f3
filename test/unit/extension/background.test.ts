// Sigill's background, started over a Node stand-in for Thunderbird's APIs: the pages' typed requests,
// the passphrase prompt (wrong passphrase → retry, cancel → cancelled), settings, and what storage.local holds.
import { describe, expect, it } from 'vitest';
import { keepUnlockedKeysAlive, startBackground } from '../../../extension/background/main.ts';
import { request, RequestError, type RequestName, type RequestOf, type ResponseOf } from '../../../extension/shared/messages.ts';
import { readSecretKeys } from '../../../src/core/index.ts';
import { fixturePassphrase, loadCertificate, readFixture } from '../../../keys-fixtures/index.ts';
import { unprotectedPacketsAtRest } from '../../support/keys-at-rest.ts';
import { nodeBrowser, type NodeBrowser } from './node-browser.ts';

const accounts = [{ id: 'account1', name: 'alice@sigill.test', identities: [{ id: 'id1', email: 'alice@sigill.test', name: 'Alice' }] }];

function start(fetchText?: (url: string) => Promise<string>) {
  const api = nodeBrowser({ accounts });
  const background = startBackground(api, fetchText === undefined ? {} : { fetchText });
  const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.sendFrom('options/options.html', message), name, payload);
  const prompt = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.sendFrom('prompt/prompt.html', message), name, payload);
  return { api, background, call, prompt };
}

async function rejection(promise: Promise<unknown>): Promise<RequestError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RequestError);
  return error as RequestError;
}

/** The request id of the prompt window opened last, once it is open. */
async function openedPrompt(api: NodeBrowser): Promise<{ windowId: number; requestId: string }> {
  for (let tries = 0; tries < 100; tries += 1) {
    const last = [...api.openWindows].at(-1);
    if (last !== undefined) {
      const [windowId, url] = last;
      expect(url).toMatch(/^moz-extension:\/\/[^/]+\/prompt\/prompt\.html\?request=/);
      return { windowId, requestId: decodeURIComponent(new URL(url).searchParams.get('request') ?? '') };
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('no prompt window was opened');
}

describe('background keyring service', () => {
  it('generates a key for an identity, offers its backup, and records when it is saved', async () => {
    const { call, api } = start();
    const generated = await call('keys.generate', { name: 'Alice', email: 'alice@sigill.test', passphrase: 'a long passphrase', profile: 'default', expiresInDays: 3 * 365 });
    expect(generated.key).toMatchObject({ primaryUserID: 'Alice <alice@sigill.test>', backedUp: false, status: 'usable', secret: true, hasRevocationCertificate: true });
    expect(generated.backup.fileName).toMatch(/^sigill-backup-alice@sigill\.test-[0-9A-F]{16}\.asc$/);
    expect(generated.backup.text).toContain('-----BEGIN PGP PRIVATE KEY BLOCK-----');
    const identities = await call('identities.list', {});
    expect(identities).toMatchObject([{ email: 'alice@sigill.test', accountName: 'alice@sigill.test', keys: [{ fingerprint: generated.key.fingerprint, backedUp: false }] }]);
    expect((await call('keys.markBackedUp', { fingerprint: generated.key.fingerprint })).backedUp).toBe(true);
    expect(await unprotectedPacketsAtRest(api.storageBackend)).toEqual([]);
  });

  it('imports, lists, accepts, exports and deletes correspondents\' keys', async () => {
    const { call } = start();
    const file = `${readFixture('bob', 'pub')}\n${readFixture('carol', 'pub')}`;
    const report = await call('keys.importPublic', { text: file });
    expect(report.imported.map((entry) => [entry.result, entry.key.status])).toEqual([['added', 'not-accepted'], ['added', 'not-accepted']]);
    const bob = report.imported[0]!.key;
    expect((await call('keys.setAcceptance', { fingerprint: bob.fingerprint, acceptance: 'accepted' })).status).toBe('usable');
    const listed = await call('keys.list', { query: 'bob', secret: false });
    expect(listed).toMatchObject({ total: 1, keys: [{ fingerprint: bob.fingerprint, acceptance: 'accepted' }] });
    const exported = await call('keys.exportPublic', { fingerprint: bob.fingerprint });
    expect(exported.text).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(exported.fileName).toMatch(/^bob@sigill\.test-[0-9A-F]{16}\.pub\.asc$/);
    await call('keys.delete', { fingerprint: bob.fingerprint });
    expect((await rejection(call('keys.get', { fingerprint: bob.fingerprint }))).code).toBe('KEY_NOT_FOUND');
  });

  it('imports binary key files (GnuPG exports without --armor), secret and public', async () => {
    const { call, api } = start();
    const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    const secret = (await readSecretKeys(readFixture('carol', 'sec')))[0]!.write();
    const report = await call('keys.importSecret', { base64: base64(secret), passphrase: fixturePassphrase('carol') });
    expect(report.imported[0]?.key).toMatchObject({ secret: true, addresses: ['carol@sigill.test'], backedUp: true });
    const bob = (await loadCertificate('bob')).write();
    expect((await call('keys.importPublic', { base64: base64(bob) })).imported[0]?.key.addresses).toEqual(['bob@sigill.test']);
    expect((await rejection(call('keys.importPublic', { base64: '***' }))).code).toBe('BAD_INPUT');
    expect(await unprotectedPacketsAtRest(api.storageBackend)).toEqual([]);
  });

  it('imports from a URL over https only', async () => {
    const fetched: string[] = [];
    const { call } = start(async (url) => {
      fetched.push(url);
      return readFixture('dave', 'pub');
    });
    const report = await call('keys.importPublic', { url: 'https://keys.example/dave.asc' });
    expect(report.imported[0]?.key.addresses).toEqual(['dave@sigill.test']);
    expect((await rejection(call('keys.importPublic', { url: 'http://keys.example/dave.asc' }))).code).toBe('BAD_INPUT');
    expect(fetched).toEqual(['https://keys.example/dave.asc']);
  });

  it('refuses requests from anything but Sigill\'s own pages', async () => {
    const service = await start().background.ready;
    for (const url of [undefined, 'imap://mail.example/INBOX?message=1', 'moz-extension://00000000-0000-4000-8000-000000000001.evil/options.html']) {
      expect(await service.handleMessage({ sigill: 'keys.list', payload: {} }, url === undefined ? {} : { url })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    }
    expect(await service.handleMessage({ sigill: 'keys.list', payload: {} }, { url: 'moz-extension://00000000-0000-4000-8000-000000000001/options/options.html' })).toMatchObject({ ok: true });
    // Messages that are not Sigill's requests are left for other listeners.
    expect(service.handleMessage({ something: 'else' }, { url: 'moz-extension://x/' })).toBeUndefined();
  });

  it('restores a whole-keyring backup made by another profile', async () => {
    const first = start();
    await first.call('keys.importSecret', { text: readFixture('alice', 'sec'), passphrase: fixturePassphrase('alice') });
    await first.call('keys.importPublic', { text: readFixture('bob', 'pub') });
    const backup = await first.call('keyring.backupFile', {});
    expect(backup.fileName).toMatch(/^sigill-keyring-backup-\d{4}-\d{2}-\d{2}\.json$/);
    const second = start();
    const report = await second.call('keyring.restore', { text: backup.text });
    expect(report.failed).toEqual([]);
    expect(report.imported.map((entry) => entry.key.secret).sort()).toEqual([false, true]);
    expect(await unprotectedPacketsAtRest(second.api.storageBackend)).toEqual([]);
  });
});

describe('passphrase prompt', () => {
  async function withAlice() {
    const started = start();
    const report = await started.call('keys.importSecret', { text: readFixture('alice', 'sec'), passphrase: fixturePassphrase('alice') });
    return { ...started, fingerprint: report.imported[0]!.key.fingerprint };
  }

  it('says which key and why, lets a wrong passphrase be retried, and unlocks with the right one', async () => {
    const { api, call, prompt, fingerprint } = await withAlice();
    const unlocking = call('keys.unlock', { fingerprint });
    const { windowId, requestId } = await openedPrompt(api);
    expect(await prompt('prompt.info', { requestId })).toEqual({
      userID: 'Alice <alice@sigill.test>',
      fingerprint: '6DF2 816F EDDB 15A9 D19F  2AC0 433A 37C2 A152 5EB6',
      reason: 'unlock',
    });
    expect((await rejection(prompt('prompt.submit', { requestId, passphrase: 'wrong' }))).code).toBe('BAD_PASSPHRASE');
    expect((await rejection(prompt('prompt.submit', { requestId, passphrase: '' }))).code).toBe('BAD_PASSPHRASE');
    expect(api.openWindows.has(windowId)).toBe(true);
    await prompt('prompt.submit', { requestId, passphrase: fixturePassphrase('alice') });
    expect((await unlocking).unlocked).toBe(true);
    expect(api.openWindows.has(windowId)).toBe(false);
    expect((await call('settings.get', {})).unlockedKeys).toBe(1);
    // Unlocked: no second prompt.
    await call('keys.unlock', { fingerprint });
    expect(api.openWindows.size).toBe(0);
    expect((await call('unlock.forget', {})).unlockedKeys).toBe(0);
    expect((await call('keys.get', { fingerprint })).unlocked).toBe(false);
  });

  it('cancels the operation that asked when the user cancels or closes the window', async () => {
    const { api, call, prompt, fingerprint } = await withAlice();
    const first = call('keys.unlock', { fingerprint });
    const { requestId } = await openedPrompt(api);
    await prompt('prompt.cancel', { requestId });
    expect((await rejection(first)).code).toBe('CANCELLED');
    expect(api.openWindows.size).toBe(0);
    expect((await rejection(prompt('prompt.info', { requestId }))).code).toBe('CANCELLED');

    const second = call('keys.extendExpiry', { fingerprint, expiresInDays: 30 });
    const { windowId } = await openedPrompt(api);
    api.closeWindowByUser(windowId);
    expect((await rejection(second)).code).toBe('CANCELLED');
    expect((await call('keys.get', { fingerprint })).expires).toBeUndefined();
  });

  it('asks for the passphrase to extend the expiry, change the passphrase and revoke', async () => {
    const { api, call, prompt, fingerprint } = await withAlice();
    const extending = call('keys.extendExpiry', { fingerprint, expiresInDays: 365 });
    let opened = await openedPrompt(api);
    expect((await prompt('prompt.info', { requestId: opened.requestId })).reason).toBe('extend-expiry');
    await prompt('prompt.submit', { requestId: opened.requestId, passphrase: fixturePassphrase('alice') });
    const extended = await extending;
    expect(Date.parse(extended.expires!) - Date.now()).toBeGreaterThan(364 * 86_400_000);
    expect(extended.backedUp).toBe(true); // the secret and passphrase are unchanged: the old backup still restores it

    const changing = call('keys.changePassphrase', { fingerprint, newPassphrase: 'alice-second' });
    opened = await openedPrompt(api);
    await prompt('prompt.submit', { requestId: opened.requestId, passphrase: fixturePassphrase('alice') });
    await changing;

    const revoking = call('keys.revoke', { fingerprint, reasonCode: 'retired' });
    opened = await openedPrompt(api);
    expect((await rejection(prompt('prompt.submit', { requestId: opened.requestId, passphrase: fixturePassphrase('alice') }))).code).toBe('BAD_PASSPHRASE');
    await prompt('prompt.submit', { requestId: opened.requestId, passphrase: 'alice-second' });
    expect((await revoking).status).toBe('revoked');
    expect((await loadCertificate('alice')).getFingerprint()).toBe(fingerprint);
  });

  it('keeps the background awake only while a key is unlocked', async () => {
    const { api, call, prompt, fingerprint, background } = await withAlice();
    const service = await background.ready;
    expect(keepUnlockedKeysAlive(service.keyring, api)).toBe(false);
    expect(api.activityCalls).toBe(0);
    const unlocking = call('keys.unlock', { fingerprint });
    const { requestId } = await openedPrompt(api);
    await prompt('prompt.submit', { requestId, passphrase: fixturePassphrase('alice') });
    await unlocking;
    expect(keepUnlockedKeysAlive(service.keyring, api)).toBe(true);
    expect(api.activityCalls).toBe(1);
    await call('unlock.forget', {});
    expect(keepUnlockedKeysAlive(service.keyring, api)).toBe(false);
    expect(api.activityCalls).toBe(1);
  });

  it('applies the unlock time setting', async () => {
    const { call } = start();
    expect(await call('settings.get', {})).toMatchObject({ encryptByDefault: true, signByDefault: true, unlockMinutes: 10, unlockedKeys: 0 });
    expect((await call('settings.set', { unlockMinutes: 2, encryptByDefault: false })).unlockMinutes).toBe(2);
    const service = await start().background.ready;
    expect(service.keyring.unlocked.lifetimeMs).toBe(10 * 60_000);
    expect((await rejection(call('settings.set', { unlockMinutes: -1 }))).code).toBe('BAD_INPUT');
  });
});
