// The compose popup's key discovery (extension/compose/find.ts) over Sigill's real background and a real
// HTTPS WKD on loopback (test CA), its DOM in jsdom: "Find key" shows bob's key with its fingerprint in
// groups of four, user IDs and source, Accept makes it the key the message is encrypted to, Reject stores it
// rejected; automatic lookups only with the setting and the permission; a changed key shows the warning
// with both fingerprints, the old key stays in use until the user decides there; a failing key server shows
// its error in that recipient's panel only.
import { JSDOM } from 'jsdom';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startBackground } from '../../../../extension/background/main.ts';
import { LOOKUP_ORIGINS } from '../../../../extension/background/discovery.ts';
import { recipientFinder } from '../../../../extension/compose/find.ts';
import { translator } from '../../../../extension/shared/i18n.ts';
import { request, type RequestName, type RequestOf, type ResponseOf } from '../../../../extension/shared/messages.ts';
import { createNodeFetch, type NodeFetch } from '../../../../src/cli/key/node-fetch.ts';
import { formatFingerprint, generateKey } from '../../../../src/core/index.ts';
import { fixtureAddress, fixtureUserID, loadCertificate, readFixture } from '../../../../keys-fixtures/index.ts';
import { startLoopbackKeyServers, type LoopbackKeyServers } from '../../../support/key-servers.ts';
import { describeWithTools } from '../../../support/tools.ts';
import { nodeBrowser } from '../node-browser.ts';

const BOB = fixtureAddress('bob');
const accounts = [{ id: 'account1', name: 'alice@sigill.test', identities: [{ id: 'id1', email: 'alice@sigill.test', name: 'Alice' }] }];

describeWithTools([{ command: 'openssl', debianPackage: 'openssl' }], 'compose popup: find a recipient\'s key, key-change warnings', () => {
  let servers: LoopbackKeyServers;
  let client: NodeFetch;
  const window = new JSDOM('<!DOCTYPE html><body></body>').window;
  const globals = globalThis as { document?: Document };
  beforeAll(async () => {
    servers = await startLoopbackKeyServers();
    client = createNodeFetch({ routes: servers.routes, extraCA: [servers.ca.caCert] });
    globals.document = window.document;
  });
  afterAll(async () => {
    delete globals.document;
    await client?.close();
    await servers?.stop();
  });
  afterEach(() => servers.server.reset());

  async function start(options: { granted?: boolean; automatic?: boolean } = {}) {
    const api = nodeBrowser({ accounts });
    if (options.granted !== false) for (const origin of LOOKUP_ORIGINS) api.grantedOrigins.add(origin);
    startBackground(api, { fetch: client.fetch });
    const fromPopup = (message: unknown) => api.sendFrom('compose/compose.html', message);
    const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request(fromPopup, name, payload);
    await call('settings.set', { vksUrl: 'https://keys.sigill.test', lookupSources: ['wkd'], lookupAutomatically: options.automatic ?? false });
    let changes = 0;
    const opened: Array<{ fingerprint?: string; address?: string }> = [];
    const finder = recipientFinder({
      api: { ...api, runtime: { ...api.runtime, sendMessage: fromPopup } },
      t: translator(api),
      changed: async () => void (changes += 1),
      openInOptions: async (target) => void opened.push(target),
    });
    return { api, call, finder, changes: () => changes, opened };
  }

  const click = (element: Element | null) => {
    expect(element).not.toBeNull();
    (element as HTMLButtonElement).click();
  };
  const settle = async (until: () => boolean) => {
    for (let tries = 0; tries < 400 && !until(); tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(until()).toBe(true);
  };

  it('"Find key" shows bob\'s key from the WKD (fingerprint in groups of four, user ID, source); Accept makes it usable', async () => {
    const { call, finder, changes } = await start();
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    const bob = await loadCertificate('bob');
    const panel = window.document.createElement('div');
    const found = await finder.find(BOB, panel);
    expect(found?.sources[0]?.keys).toHaveLength(1);
    const card = panel.querySelector('.found-key');
    expect(card?.getAttribute('data-fingerprint')).toBe(bob.getFingerprint());
    expect(card?.querySelector('.fingerprint')?.textContent).toBe(formatFingerprint(bob.getFingerprint()));
    expect(card?.querySelector('.fingerprint')?.textContent).toMatch(/^[0-9A-F]{4}( +[0-9A-F]{4}){9}$/);
    expect([...(card?.querySelectorAll('.user-ids li') ?? [])].map((item) => item.textContent)).toEqual([fixtureUserID('bob')]);
    expect(card?.querySelector('.found-source')?.textContent).toBe('Source: Web Key Directory of the mail provider (WKD)');
    // Kept at once as undecided (with its source), so it is not lost if the popup closes; never used until accepted.
    expect(card?.querySelector('.found-decision')?.textContent).toMatch(/^New: kept in your keyring as undecided/);
    expect((await call('keys.list', { secret: false })).keys.map((key) => key.acceptance)).toEqual(['undecided']);
    expect(changes()).toBe(1);

    click(card!.querySelector('.found-accept'));
    await settle(() => panel.querySelector('.badge') !== null);
    expect(panel.querySelector('.badge')?.textContent).toBe('Accepted');
    expect(changes()).toBe(2);
    expect(await call('keys.get', { fingerprint: bob.getFingerprint() })).toMatchObject({ acceptance: 'accepted', status: 'usable' });
  });

  it('a key found again while undecided can still be accepted; nothing found and a refused lookup say so', async () => {
    const { call, finder } = await start();
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    await finder.find(BOB, window.document.createElement('div'));
    const panel = window.document.createElement('div');
    await finder.find(BOB, panel);
    expect(panel.querySelector('.found-decision')?.textContent).toMatch(/not accepted|undecided/i);
    expect(panel.querySelector('.found-accept')).not.toBeNull();
    expect((await call('keys.list', { secret: false })).keys.map((key) => key.acceptance)).toEqual(['undecided']);

    const nobody = window.document.createElement('div');
    await finder.find('nobody@sigill.test', nobody);
    expect(nobody.querySelector('.found-nothing')?.textContent).toBe('No key found for nobody@sigill.test.');

    const refused = await start({ granted: false });
    const denied = window.document.createElement('div');
    expect(await refused.finder.find(BOB, denied)).toBeUndefined();
    expect(denied.querySelector('[role="alert"]')?.textContent).toMatch(/not been allowed/);
  });

  it('looks up automatically only when the setting is on (and the background refuses without the permission)', async () => {
    expect(await (await start({ automatic: false })).finder.automatic()).toBe(false);
    const refused = await start({ automatic: true, granted: false });
    expect(await refused.finder.automatic()).toBe(true);
    expect(await refused.finder.find(BOB, window.document.createElement('div'))).toBeUndefined();
    expect(servers.server.requests).toEqual([]);
    expect(await (await start({ automatic: true })).finder.automatic()).toBe(true);
  });

  it('a changed key: the warning shows both fingerprints, the old key stays in use until "Keep the old key" or "Use the new key"', async () => {
    const { call, finder } = await start();
    await call('keys.importPublic', { text: readFixture('bob', 'pub') });
    const bob = await loadCertificate('bob');
    await call('keys.setAcceptance', { fingerprint: bob.getFingerprint(), acceptance: 'accepted' });
    // The automatic check of a recipient with a key says nothing while the key is the same.
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    const quiet = window.document.createElement('div');
    expect((await finder.find(BOB, quiet, { quiet: true }))?.sources[0]?.keys[0]?.decision).toBe('same');
    expect(quiet.childNodes).toHaveLength(0);
    const { publicKey: other } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    servers.server.publishWkd(BOB, other.armor());

    const panel = window.document.createElement('div');
    await finder.find(BOB, panel, { quiet: true });
    expect(panel.querySelector('.found-key')?.getAttribute('data-fingerprint')).toBe(other.getFingerprint());
    expect(panel.querySelector('.found-decision')?.textContent).toMatch(/^Different from the key you use/);
    expect(panel.querySelector('.found-accept')).toBeNull();

    const warnings = await finder.warnings(['carol@sigill.test', BOB.toUpperCase()]);
    expect(warnings).toHaveLength(1);
    const card = finder.warningCard(warnings[0]!);
    expect(card.getAttribute('role')).toBe('alert');
    expect(card.querySelector('h3')?.textContent).toBe(`The key of ${fixtureUserID('bob')} has changed`);
    expect([...card.querySelectorAll('.key-change-key .fingerprint')].map((element) => element.textContent)).toEqual([formatFingerprint(bob.getFingerprint()), formatFingerprint(other.getFingerprint())]);
    expect(card.textContent).toContain('still goes to the key you accepted');
    // Until the user decides, bob's old key is the one in use.
    expect(await call('keys.get', { fingerprint: bob.getFingerprint() })).toMatchObject({ acceptance: 'accepted', status: 'usable' });

    click(card.querySelector('.key-change-reject'));
    for (let tries = 0; tries < 400 && (await finder.warnings([BOB])).length > 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await finder.warnings([BOB])).toEqual([]);
    expect((await call('keys.get', { fingerprint: other.getFingerprint() })).acceptance).toBe('rejected');
    expect((await call('keys.get', { fingerprint: bob.getFingerprint() })).acceptance).toBe('accepted');
  });

  it('Reject stores the found key as rejected (never offered again as new); "Open in options" opens that key', async () => {
    const { call, finder, opened } = await start();
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    const bob = await loadCertificate('bob');
    const panel = window.document.createElement('div');
    await finder.find(BOB, panel);
    click(panel.querySelector('.found-open'));
    await settle(() => opened.length === 1);
    expect(opened).toEqual([{ fingerprint: bob.getFingerprint() }]);
    click(panel.querySelector('.found-reject'));
    await settle(() => panel.querySelector('.badge') !== null);
    expect(panel.querySelector('.badge')?.textContent).toBe('Rejected');
    expect((await call('keys.get', { fingerprint: bob.getFingerprint() })).acceptance).toBe('rejected');
    const again = window.document.createElement('div');
    await finder.find(BOB, again);
    expect(again.querySelector('.found-decision')?.textContent).toMatch(/rejected/i);
    expect(again.querySelector('.found-accept')).toBeNull();
  });

  it('a key server that cannot be reached is named in that recipient\'s panel; the keys of the others still show', async () => {
    const { call, finder } = await start();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    await call('settings.set', { vksUrl: 'http://127.0.0.1:1', lookupSources: ['wkd', 'vks'] });
    servers.server.publishWkd(BOB, readFixture('bob', 'pub'));
    const panel = window.document.createElement('div');
    const other = window.document.createElement('div');
    other.textContent = 'untouched';
    const found = await finder.find(BOB, panel);
    expect(found?.sources.find((source) => source.source === 'vks')?.error).toBeDefined();
    expect(panel.querySelectorAll('.found-key')).toHaveLength(1);
    expect(panel.querySelector('.source-failed')?.textContent).toMatch(/^keys\.openpgp\.org|VKS|Could not ask/);
    expect(other.textContent).toBe('untouched');
  });

  it('the warning card in the popup offers the options page for the offered key', async () => {
    const { call, finder, opened } = await start();
    await call('keys.importPublic', { text: readFixture('bob', 'pub') });
    const bob = await loadCertificate('bob');
    await call('keys.setAcceptance', { fingerprint: bob.getFingerprint(), acceptance: 'accepted' });
    const { publicKey: other } = await generateKey({ userIDs: [fixtureUserID('bob')] });
    servers.server.publishWkd(BOB, other.armor());
    await finder.find(BOB, window.document.createElement('div'));
    const [warning] = await finder.warnings([BOB]);
    const card = finder.warningCard(warning!);
    click(card.querySelector('.key-change-open'));
    await settle(() => opened.length === 1);
    expect(opened).toEqual([{ fingerprint: other.getFingerprint() }]);
    click(card.querySelector('.key-change-accept'));
    await settle(() => card.querySelector('.key-change-accept:disabled') === null);
    expect((await call('keys.get', { fingerprint: other.getFingerprint() })).acceptance).toBe('accepted');
    expect((await call('keys.get', { fingerprint: bob.getFingerprint() })).acceptance).toBe('undecided');
  });
});
