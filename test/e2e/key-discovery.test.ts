// Scenario: finding keys in real Thunderbird, through every place Sigill offers it. A real HTTPS Web Key
// Directory (and a VKS server) runs on a random loopback port with a certificate from a throwaway test CA;
// Thunderbird reaches `openpgpkey.sigill.test`, `sigill.test` and `keys.sigill.test` through a loopback
// CONNECT tunnel set as its HTTPS proxy (`startTunnel`: no port 443, no /etc/hosts, parallel runs do not
// collide) and trusts the CA because it is in the profile's NSS database (certutil, as a person importing
// a CA would).
//
// 1. Options page: carol searches bob's address, Sigill finds his key on the WKD and the VKS, she accepts
//    it; bob's key changes on the WKD: looking him up again shows the key-change warning with both
//    fingerprints, the keyring still answers with the old key, and she rejects the new one.
// 2. Compose popup: alice (lookups allowed: network permission given by a search in the options page,
//    automatic lookups on) writes to bob, who has no key; the popup's automatic lookup finds his key on the
//    WKD, she accepts it there and the message goes encrypted to it. Bob's key changes on the WKD: her next
//    compose popup shows the key-change warning with both fingerprints, and that message still goes to the
//    old key (checked in the PGP/MIME message the relay stored).
// Screenshots: the found key and the warning in the options page and in the compose popup.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatFingerprint, generateKey, Keyring, MemoryStorage, parseMime, storedKeyRecords } from '../../src/core/index.ts';
import { readMessage, type PublicKey } from 'openpgp';
import { fixtureAddress, fixturePassphrase, fixtureUserID, loadCertificate, readFixture } from '../../keys-fixtures/index.ts';
import { createTestCA, startKeyServer, startTunnel, TEST_KEY_HOSTS, type KeyServer, type TestCA, type Tunnel } from '../support/key-servers.ts';
import { describeWithTools } from '../support/tools.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';
import { e2eTools, eventually, sigillConsoleProblems, World } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { readSigillStorage, SigillPage } from './harness/sigill.ts';

// Plaintext scenario: no secret content (the messages alice sends carry no secret), so no canary.
const BOB = fixtureAddress('bob');

/** The key IDs a PGP/MIME message (as the relay stored it) is encrypted to, sorted. */
async function encryptedTo(raw: Buffer): Promise<string[]> {
  const root = parseMime(new Uint8Array(raw));
  expect(root.contentType.value).toBe('multipart/encrypted');
  const message = await readMessage({ armoredMessage: Buffer.from(root.children[1]?.body ?? []).toString('utf8') });
  return message.getEncryptionKeyIDs().map((keyID) => keyID.toHex()).sort();
}

/** The key ID a certificate's holder is encrypted to (its encryption subkey). */
async function encryptionKeyID(certificate: PublicKey): Promise<string> {
  return (await certificate.getEncryptionKey()).getKeyID().toHex();
}

/** Adds the test CA to the profile's NSS database as a trusted TLS root (what "Import…" in the certificate manager does). */
function trustTestCA(profileDir: string, ca: TestCA): void {
  execFileSync('certutil', ['-A', '-d', `sql:${profileDir}`, '-n', 'Sigill throwaway test CA', '-t', 'C,,', '-i', ca.caCertPath], { stdio: 'pipe' });
}

describeWithTools(
  e2eTools([
    { command: 'openssl', debianPackage: 'openssl' },
    { command: 'certutil', debianPackage: 'libnss3-tools' },
  ]),
  'e2e: finding keys in the options page and the compose popup, and key changes',
  () => {
    let world: World | undefined;
    let ca: TestCA | undefined;
    let server: KeyServer | undefined;
    let tunnel: Tunnel | undefined;

    beforeAll(async () => {
      ca = await createTestCA(TEST_KEY_HOSTS);
      server = await startKeyServer({ tls: { cert: ca.serverCert, key: ca.serverKey } });
      tunnel = await startTunnel({ target: server.port, hosts: TEST_KEY_HOSTS });
      world = await World.start('key-discovery');
    });

    afterAll(async () => {
      await world?.stop();
      await tunnel?.close();
      await server?.close();
      await ca?.remove();
    });

    /** The newest message the relay stored for an address (waiting for it), as the relay holds it. */
    async function newestFor(address: string, count: number): Promise<Buffer> {
      await eventually(async () => (await world!.relay.messages(address)).length >= count, 120_000, `message ${count} in ${address}'s mailbox`);
      const messages = await world!.relay.messages(address);
      return world!.relay.raw(address, messages.at(-1)!.id);
    }

    /** A Thunderbird whose HTTPS goes through the tunnel to the loopback key server, trusting the test CA. */
    const keyServerAccess = (testCA: TestCA, onProfile: (dir: string) => void = () => undefined) => ({
      prefs: {
        ...tunnel!.thunderbirdPrefs,
        // Thunderbird's "Allow" on the permission prompt, given in advance: `permissions.request` still runs.
        'extensions.webextOptionalPermissionPrompts': false,
      },
      beforeStart: (dir: string) => {
        onProfile(dir);
        trustTestCA(dir, testCA);
      },
    });

    it('carol finds bob on the loopback WKD and accepts him; bob’s key changes; the warning names both keys and the old one stays in use', async () => {
      if (!world || !server || !ca || !tunnel) throw new Error('no world');
      let profileDir = '';
      const bob = await loadCertificate('bob');
      server.publishWkd(BOB, readFixture('bob', 'pub'));
      await server.publishVks(readFixture('bob', 'pub'));

      const carol = await world.launch('carol', {
        sigill: { ownKey: 'carol', settings: { vksUrl: 'https://keys.sigill.test', lookupSources: ['wkd', 'vks'] } },
        ...keyServerAccess(ca, (dir) => void (profileDir = dir)),
      });

      const options = await SigillPage.openOptions(carol);
      expect((await options.query('#key-warnings')).exists).toBe(true);
      await options.type('#find-address', BOB, ['Enter']);
      const wkdKey = `.found-source[data-source="wkd"] .found-key[data-fingerprint="${bob.getFingerprint()}"]`;
      await options.waitFor(wkdKey, undefined, 90_000);
      const found = await options.text(wkdKey);
      expect(found).toContain(formatFingerprint(bob.getFingerprint()).replace(/\s+/g, ' '));
      expect(found).toContain(fixtureUserID('bob'));
      expect(found).toMatch(/New: not in your keyring yet/);
      await options.waitFor(`.found-source[data-source="vks"] .found-key[data-fingerprint="${bob.getFingerprint()}"]`);
      // Both WKD methods' hosts and the VKS were really asked over HTTPS, through the tunnel (no port 443).
      expect(tunnel.connects).toContain('openpgpkey.sigill.test:443');
      expect(server.requests.some((request) => request.host === 'openpgpkey.sigill.test' && request.url.includes('/.well-known/openpgpkey/sigill.test/hu/'))).toBe(true);
      expect(server.requests.some((request) => request.host === 'keys.sigill.test' && request.url === '/vks/v1/by-email/bob%40sigill.test')).toBe(true);
      await carol.screenshot('find-found');
      // The network permission was asked for by the click on "Find" (permissions.request) and is now the profile's.
      const granted = join(profileDir, 'extension-preferences.json');
      await eventually(() => existsSync(granted) && readFileSync(granted, 'utf8').includes('https://*/*'), 30_000, 'the granted host permission in extension-preferences.json');
      expect((JSON.parse(readFileSync(granted, 'utf8')) as Record<string, { origins: string[] }>)[sigillId]?.origins).toContain('https://*/*');

      await options.click(`${wkdKey} .found-accept`);
      await options.waitFor('#status', (state) => state.text?.includes('Accepted: Bob <bob@sigill.test>') === true);
      await options.waitFor(`.key-row[data-fingerprint="${bob.getFingerprint()}"]`, (state) => state.text?.includes('Usable') === true);
      const afterAccept = storedKeyRecords(await readSigillStorage(carol));
      expect(afterAccept[bob.getFingerprint()]?.acceptance).toBe('accepted');

      // Bob's key changes on the WKD (the VKS still has the old one).
      const { publicKey: changed } = await generateKey({ userIDs: [fixtureUserID('bob')] });
      server.publishWkd(BOB, changed.armor());
      await options.click('#find-button');
      const warning = `.key-change[data-offered="${changed.getFingerprint()}"]`;
      const shown = await options.waitFor(warning, undefined, 90_000);
      expect(shown.text).toContain(formatFingerprint(bob.getFingerprint()).replace(/\s+/g, ' '));
      expect(shown.text).toContain(formatFingerprint(changed.getFingerprint()).replace(/\s+/g, ' '));
      expect(shown.text).toMatch(/The key of Bob <bob@sigill\.test> has changed/);
      expect(await options.text(`.found-source[data-source="wkd"] .found-key[data-fingerprint="${changed.getFingerprint()}"]`)).toMatch(/Different from the key you use/);
      await carol.screenshot('find-key-change-warning');

      // Lookups still return the old key: the keyring code over exactly what carol's Thunderbird stores.
      const stored = await readSigillStorage(carol);
      const keyring = await Keyring.open({ storage: MemoryStorage.from(stored) });
      expect(keyring.lookup(BOB).usable.map((record) => record.fingerprint)).toEqual([bob.getFingerprint()]);
      expect(keyring.record(changed.getFingerprint())?.acceptance).toBe('undecided');
      expect((await keyring.encryptionKeys(BOB)).map((key) => key.getFingerprint())).toEqual([bob.getFingerprint()]);

      // Alice keeps the old key: the new one is rejected and the warning goes.
      await options.click(`${warning} .key-change-reject`);
      await options.waitFor('#status', (state) => state.text?.includes('is rejected; the old one stays in use') === true);
      await eventually(async () => !(await options.query(warning)).exists && (await options.query('#key-warnings')).visible === false, 30_000, 'the warning to go');
      await options.click('nav a[href="#settings"]');
      expect((await options.query('#lookup-automatically')).checked).toBe(false);
      expect((await options.query('#source-wkd')).checked).toBe(true);
      expect((await options.query('#vks-url')).value).toBe('https://keys.sigill.test');
      await carol.screenshot('find-settings');
      const final = storedKeyRecords(await readSigillStorage(carol));
      expect(final[bob.getFingerprint()]?.acceptance).toBe('accepted');
      expect(final[changed.getFingerprint()]?.acceptance).toBe('rejected');
      expect(sigillConsoleProblems(carol.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
    });

    it('alice finds bob’s key in the compose popup, accepts it and sends encrypted to it; bob’s key changes: her next compose warns with both fingerprints and still encrypts to the old key', async () => {
      if (!world || !server || !ca || !tunnel) throw new Error('no world');
      const bob = await loadCertificate('bob');
      server.publishWkd(BOB, readFixture('bob', 'pub'));
      let profileDir = '';
      const alice = await world.launch('alice', {
        sigill: { ownKey: 'alice', settings: { lookupSources: ['wkd'], unlockMinutes: 30 } },
        ...keyServerAccess(ca, (dir) => void (profileDir = dir)),
      });
      // Lookups allowed, in the options page: a first search (of an address the WKD does not know; Enter is a
      // real key press, the user action `permissions.request` needs) gives Sigill the network permission,
      // then alice turns automatic lookups on in the settings.
      const options = await SigillPage.openOptions(alice);
      await options.type('#find-address', 'dave@sigill.test', ['Enter']);
      const granted = join(profileDir, 'extension-preferences.json');
      await eventually(() => existsSync(granted) && readFileSync(granted, 'utf8').includes('https://*/*'), 30_000, 'the granted host permission in extension-preferences.json');
      await options.click('nav a[href="#settings"]');
      await options.click('#lookup-automatically');
      await eventually(async () => JSON.stringify((await readSigillStorage(alice))['sigill.settings'] ?? {}).includes('"lookupAutomatically":true'), 30_000, 'automatic lookups saved');
      await options.close();

      // 1. A message to bob, who has no key: the automatic lookup finds his key on the WKD and the popup
      //    shows it; alice accepts it there and the message goes encrypted to it.
      const first = await alice.call('composeBegin', { to: [`Bob <${BOB}>`], subject: 'Found you', body: 'Hello Bob, now encrypted.\n' });
      let popup = await SigillPage.openCompose(alice);
      const card = `#recipients li[data-address="${BOB}"] .found-key[data-fingerprint="${bob.getFingerprint()}"]`;
      const shown = await popup.waitFor(card, undefined, 90_000);
      expect(shown.text).toContain(formatFingerprint(bob.getFingerprint()).replace(/\s+/g, ' '));
      expect(shown.text).toContain(fixtureUserID('bob'));
      expect(shown.text).toMatch(/Web Key Directory/);
      expect(server.requests.some((request) => request.host === 'openpgpkey.sigill.test' && request.url.includes('/.well-known/openpgpkey/sigill.test/hu/'))).toBe(true);
      await alice.screenshot('compose-popup-found-key');
      await popup.click(`${card} .found-accept`);
      await popup.waitFor(`#recipients li[data-address="${BOB}"][data-state="accepted"]`);
      if ((await popup.query('#encrypt')).checked !== true) await popup.click('#encrypt');
      await popup.waitFor('#summary', (state) => state.text === 'This message will be sent encrypted and signed.');
      expect(storedKeyRecords(await readSigillStorage(alice))[bob.getFingerprint()]?.acceptance).toBe('accepted');
      const sending = alice.call('composeSend', { tabId: first.tabId, timeoutMs: 300_000 }, 360_000);
      const prompt = await SigillPage.prompt(alice);
      await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
      const sent = await sending;
      if (!sent.ok) throw new Error(sent.error);
      // To bob's key (and alice's own, so that she can read her sent copy).
      expect(await encryptedTo(await newestFor(BOB, 1))).toContain(await encryptionKeyID(bob));

      // 2. Bob's key changes on the WKD. Alice's next message to him: the popup's lookup finds the other key,
      //    the warning shows both fingerprints, and the message still goes to the key she accepted.
      const { publicKey: changed } = await generateKey({ userIDs: [fixtureUserID('bob')] });
      server.publishWkd(BOB, changed.armor());
      const second = await alice.call('composeBegin', { to: [`Bob <${BOB}>`], subject: 'Still you?', body: 'Hello Bob, to the key I know.\n' });
      popup = await SigillPage.openCompose(alice);
      const warning = await popup.waitFor(`#key-warnings .key-change[data-offered="${changed.getFingerprint()}"]`, undefined, 90_000);
      expect(warning.text).toContain(formatFingerprint(bob.getFingerprint()).replace(/\s+/g, ' '));
      expect(warning.text).toContain(formatFingerprint(changed.getFingerprint()).replace(/\s+/g, ' '));
      expect(warning.text).toMatch(/The key of Bob <bob@sigill\.test> has changed/);
      await popup.waitFor(`#recipients li.key-changed[data-address="${BOB}"][data-state="accepted"]`);
      expect(await popup.text('#summary')).toBe('This message will be sent encrypted and signed.');
      await alice.screenshot('compose-popup-key-change-warning');
      const records = storedKeyRecords(await readSigillStorage(alice));
      expect(records[bob.getFingerprint()]?.acceptance).toBe('accepted');
      expect(records[changed.getFingerprint()]?.acceptance).toBe('undecided');
      const sentAgain = await alice.call('composeSend', { tabId: second.tabId, timeoutMs: 300_000 }, 360_000);
      if (!sentAgain.ok) throw new Error(sentAgain.error);
      const recipients = await encryptedTo(await newestFor(BOB, 2));
      expect(recipients).toContain(await encryptionKeyID(bob));
      expect(recipients).not.toContain(await encryptionKeyID(changed));
      expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
    }, 600_000);

    it('leaves nothing running', async () => {
      expect(await world?.stop()).toEqual([]);
    });
  },
);
