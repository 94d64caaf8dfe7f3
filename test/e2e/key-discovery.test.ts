// Scenario: alice finds bob's key in Sigill's options page. A real HTTPS Web Key Directory (and a VKS
// server) runs on 127.0.0.1:443 with a certificate from a throwaway test CA; alice's Thunderbird reaches
// `openpgpkey.sigill.test`, `sigill.test` and `keys.sigill.test` through the `network.dns.localDomains`
// pref (never /etc/hosts) and trusts the CA because it is in her profile's NSS database (certutil, as a
// person importing a CA would). Alice searches bob's address, Sigill finds his key on the WKD and the
// VKS, she accepts it. Then bob's key changes on the WKD: alice looks him up again, the key-change
// warning shows both fingerprints, the keyring still answers with the old key, and alice rejects the
// new one. Screenshots: the found key, the warning.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatFingerprint, generateKey, Keyring, MemoryStorage, storedKeyRecords } from '../../src/core/index.ts';
import { fixtureAddress, fixtureUserID, loadCertificate, readFixture } from '../../keys-fixtures/index.ts';
import { createTestCA, startKeyServer, TEST_KEY_HOSTS, type KeyServer, type TestCA } from '../support/key-servers.ts';
import { describeWithTools } from '../support/tools.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';
import { e2eTools, eventually, sigillConsoleProblems, World } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { readSigillStorage, SigillPage } from './harness/sigill.ts';

// Plaintext scenario: no message content, so no canary.
const BOB = fixtureAddress('bob');

/** The key server on 127.0.0.1:443 (Thunderbird asks https://<host>/ on the default port), or a clear reason why not. */
async function startOn443(ca: TestCA): Promise<KeyServer> {
  try {
    return await startKeyServer({ tls: { cert: ca.serverCert, key: ca.serverKey }, host: '127.0.0.1', port: 443 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error('127.0.0.1:443 is held by another program (see `ss -ltnp "sport = :443"`); this scenario needs it for its loopback WKD, because Thunderbird asks https://openpgpkey.sigill.test/ on the default port', { cause: error });
    }
    if (code === 'EACCES') throw new Error('listening on port 443 needs root (as in CI) or CAP_NET_BIND_SERVICE for node', { cause: error });
    throw error;
  }
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
  'e2e: finding keys in the options page',
  () => {
    let world: World | undefined;
    let ca: TestCA | undefined;
    let server: KeyServer | undefined;

    beforeAll(async () => {
      ca = await createTestCA(TEST_KEY_HOSTS);
      server = await startOn443(ca);
      world = await World.start('key-discovery', { relay: false });
    });

    afterAll(async () => {
      await world?.stop();
      await server?.close();
      await ca?.remove();
    });

    it('alice finds bob on the loopback WKD and accepts him; bob’s key changes; the warning names both keys and the old one stays in use', async () => {
      if (!world || !server || !ca) throw new Error('no world');
      const testCA = ca;
      let profileDir = '';
      const bob = await loadCertificate('bob');
      server.publishWkd(BOB, readFixture('bob', 'pub'));
      await server.publishVks(readFixture('bob', 'pub'));

      const alice = await world.launch('alice', {
        sigill: { ownKey: 'alice', settings: { vksUrl: 'https://keys.sigill.test', lookupSources: ['wkd', 'vks'] } },
        prefs: {
          'network.dns.localDomains': TEST_KEY_HOSTS.join(','),
          // Thunderbird's "Allow" on the permission prompt, given in advance: `permissions.request` still runs.
          'extensions.webextOptionalPermissionPrompts': false,
        },
        beforeStart: (dir) => {
          profileDir = dir;
          trustTestCA(dir, testCA);
        },
      });

      const options = await SigillPage.openOptions(alice);
      expect((await options.query('#key-warnings')).exists).toBe(true);
      await options.type('#find-address', BOB, ['Enter']);
      const wkdKey = `.found-source[data-source="wkd"] .found-key[data-fingerprint="${bob.getFingerprint()}"]`;
      await options.waitFor(wkdKey, undefined, 90_000);
      const found = await options.text(wkdKey);
      expect(found).toContain(formatFingerprint(bob.getFingerprint()).replace(/\s+/g, ' '));
      expect(found).toContain(fixtureUserID('bob'));
      expect(found).toMatch(/New: not in your keyring yet/);
      await options.waitFor(`.found-source[data-source="vks"] .found-key[data-fingerprint="${bob.getFingerprint()}"]`);
      // Both WKD methods' hosts and the VKS were really asked over HTTPS.
      expect(server.requests.some((request) => request.host === 'openpgpkey.sigill.test' && request.url.includes('/.well-known/openpgpkey/sigill.test/hu/'))).toBe(true);
      expect(server.requests.some((request) => request.host === 'keys.sigill.test' && request.url === '/vks/v1/by-email/bob%40sigill.test')).toBe(true);
      await alice.screenshot('find-found');
      // The network permission was asked for by the click on "Find" (permissions.request) and is now the profile's.
      const granted = join(profileDir, 'extension-preferences.json');
      await eventually(() => existsSync(granted) && readFileSync(granted, 'utf8').includes('https://*/*'), 30_000, 'the granted host permission in extension-preferences.json');
      expect((JSON.parse(readFileSync(granted, 'utf8')) as Record<string, { origins: string[] }>)[sigillId]?.origins).toContain('https://*/*');

      await options.click(`${wkdKey} .found-accept`);
      await options.waitFor('#status', (state) => state.text?.includes('Accepted: Bob <bob@sigill.test>') === true);
      await options.waitFor(`.key-row[data-fingerprint="${bob.getFingerprint()}"]`, (state) => state.text?.includes('Usable') === true);
      const afterAccept = storedKeyRecords(await readSigillStorage(alice));
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
      await alice.screenshot('find-key-change-warning');

      // Lookups still return the old key: the keyring code over exactly what alice's Thunderbird stores.
      const stored = await readSigillStorage(alice);
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
      await alice.screenshot('find-settings');
      const final = storedKeyRecords(await readSigillStorage(alice));
      expect(final[bob.getFingerprint()]?.acceptance).toBe('accepted');
      expect(final[changed.getFingerprint()]?.acceptance).toBe('rejected');
      expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
    });

    it('leaves nothing running', async () => {
      expect(await world?.stop()).toEqual([]);
    });
  },
);
