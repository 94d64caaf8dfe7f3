// Scenario: alice manages her keys in Sigill's options page as a person would. She creates a key (typing a
// passphrase), is offered the backup and saves it; imports bob's public key from a file and accepts it;
// extends her key's expiry through the passphrase prompt (a wrong passphrase first, then the right one;
// Escape cancels). After a restart of Thunderbird both keys are still there and Sigill's storage holds no
// unprotected secret key; she backs up the whole keyring. A second profile is provisioned by the harness
// with persona keys and restores alice's keyring backup.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isUnlocked, KEYRING_INDEX_KEY, readKeys, readSecretKeys, storedKeyRecords, unlockKey } from '../../src/core/index.ts';
import { loadCertificate, readFixture } from '../../keys-fixtures/index.ts';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually, sigillConsoleProblems, World, type Client } from './harness/index.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';
import { sigillId } from './harness/paths.ts';
import { readSigillStorage, sigillStarts, SigillPage } from './harness/sigill.ts';

// Plaintext scenario (no message content): the passphrase is a test value, not a canary.
const PASSPHRASE = 'purple otter climbs seven ladders';
const PRIVATE_BLOCK = /-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----/g;

/** Every secret key packet in Sigill's storage.local must be encrypted (KEY-REST). */
async function unprotectedSecretPackets(client: Client): Promise<{ secretKeys: number; unprotected: string[] }> {
  const storage = await readSigillStorage(client);
  const blocks = JSON.stringify(storage).match(PRIVATE_BLOCK) ?? [];
  const unprotected: string[] = [];
  for (const block of blocks) {
    for (const key of await readKeys(JSON.parse(`"${block}"`) as string)) {
      if (key.isPrivate()) {
        for (const component of key.getKeys()) {
          const packet = component.keyPacket as { isDecrypted?: () => boolean | null; isDummy?: () => boolean };
          if (packet.isDummy?.() !== true && packet.isDecrypted?.() === true) unprotected.push(component.getFingerprint());
        }
      }
    }
  }
  return { secretKeys: blocks.length, unprotected };
}

describeWithTools(e2eTools(), 'e2e: keys in the options page', () => {
  let world: World | undefined;
  /** alice's whole-keyring backup, made in the first scenario and restored in the second. */
  let keyringBackup: string | undefined;

  beforeAll(async () => {
    world = await World.start('keys', { relay: false });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('alice creates and backs up a key, accepts bob\'s key from a file, and both survive a restart', async () => {
    if (!world) throw new Error('no world');
    const alice = await world.launch('alice');
    await eventually(() => sigillStarts(alice) > 0, 60_000, "Sigill's background");
    const downloads = join(world.artifacts, 'alice-downloads');
    mkdirSync(downloads, { recursive: true });
    // What a person's download settings would do: save into a known folder without asking.
    const prefs: Record<string, string | number | boolean> = {
      'browser.download.dir': downloads,
      'browser.download.folderList': 2,
      'browser.download.useDownloadDir': true,
      'browser.download.always_ask_before_handling_new_types': false,
      'browser.download.start_downloads_in_tmp_dir': false,
      'ui.systemUsesDarkTheme': 0,
    };
    for (const [name, value] of Object.entries(prefs)) await alice.call('setPref', { name, value });

    const options = await SigillPage.openOptions(alice);
    const identity = '[data-email="alice@sigill.test"]';
    await options.waitFor(`${identity} .generate-open`);
    await alice.screenshot('options-empty');

    // Create a key: passphrase twice, Enter submits.
    await options.click(`${identity} .generate-open`);
    await options.waitFor(`${identity} form.generate`);
    await options.type(`${identity} input[id$="-passphrase"]`, PASSPHRASE);
    expect(await options.text(`${identity} form.generate .hint`)).toMatch(/Strong/);
    // A v6 key comes with a plain warning; the default profile does not.
    expect((await options.query(`${identity} .warning.small`)).visible).toBe(false);
    await options.select(`${identity} select[id$="-profile"]`, 'rfc9580');
    await options.waitFor(`${identity} .warning.small`, (state) => state.text?.includes('cannot') === true);
    await alice.screenshot('options-generate-form');
    await options.select(`${identity} select[id$="-profile"]`, 'default');
    await options.type(`${identity} input[id$="-repeat"]`, PASSPHRASE, ['Enter']);
    const offer = await options.waitFor('.backup-offer', undefined, 180_000);
    expect(offer.text).toContain('Save its backup now');
    expect((await options.query(`${identity} .not-backed-up`)).exists).toBe(true);
    await alice.screenshot('options-backup-offered');

    // Save the backup: a file with the protected secret key and the (neutralised) revocation certificate.
    await options.click('.save-backup-now');
    // Thunderbird creates the file first and writes it after (downloads go straight to this folder): wait for its end.
    const backupFile = () => readdirSync(downloads).find((file) => /^sigill-backup-alice@sigill\.test-[0-9A-F]{16}\.asc$/.test(file));
    await eventually(() => { const name = backupFile(); return name !== undefined && /-----END PGP [A-Z ]+-----\s*$/.test(readFileSync(join(downloads, name), 'utf8')); }, 60_000, 'the backup file, written');
    const backup = readFileSync(join(downloads, backupFile()!), 'utf8');
    expect(backup).toMatch(/^:-----BEGIN PGP PUBLIC KEY BLOCK-----$/m);
    const [secretKey] = await readSecretKeys(backup.match(PRIVATE_BLOCK)![0]!);
    expect(isUnlocked(secretKey!)).toBe(false);
    expect(isUnlocked(await unlockKey(secretKey!, [PASSPHRASE]))).toBe(true);
    await eventually(async () => !(await options.query(`${identity} .not-backed-up`)).exists, 30_000, 'the "not backed up" mark to go');
    const aliceFingerprint = secretKey!.getFingerprint();
    expect((await options.query(`[data-fingerprint="${aliceFingerprint}"]`)).exists).toBe(true);

    // Import bob's public key from a file and accept it.
    await options.setFiles('#import-file', [{ name: 'bob.asc', text: readFixture('bob', 'pub') }]);
    await options.waitFor('#acceptance-accepted');
    expect(await options.text('#import-result')).toContain('Added: Bob <bob@sigill.test>');
    expect(await options.text('#key-details')).toContain('7132 CB7A 3955 C51F CC12 541C 3D80 6E1D 93BC A2E2'); // the page's double space, read with whitespace collapsed
    await options.click('#acceptance-accepted');
    const bobFingerprint = (await loadCertificate('bob')).getFingerprint();
    await options.waitFor(`.key-row[data-fingerprint="${bobFingerprint}"]`, (state) => state.text?.includes('Usable') === true);
    await alice.screenshot('options-light');
    // The page follows the system's (and Thunderbird's) dark theme.
    await alice.call('setPref', { name: 'ui.systemUsesDarkTheme', value: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // let the page repaint in dark colours
    await alice.screenshot('options-dark');
    await alice.call('setPref', { name: 'ui.systemUsesDarkTheme', value: 0 });
    // Readable at 200 % (everything scaled, as with a 200 % display setting).
    await alice.call('setPref', { name: 'layout.css.devPixelsPerPx', value: '2.0' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await alice.screenshot('options-200-percent');
    await alice.call('setPref', { name: 'layout.css.devPixelsPerPx', value: '-1.0' });
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // Extend the expiry: the prompt says which key and why; a wrong passphrase, then the right one.
    const card = `[data-fingerprint="${aliceFingerprint}"]`;
    await options.click(`${card} .action-extend`);
    await options.click(`${card} .panel button[type="submit"]`);
    const prompt = await SigillPage.prompt(alice);
    expect(await prompt.text('#user-id')).toBe('Alice <alice@sigill.test>');
    expect(await prompt.text('#reason')).toMatch(/extend the expiry/);
    expect((await prompt.query('#passphrase')).focused).toBe(true);
    await prompt.type('#passphrase', 'not my passphrase', ['Enter']);
    await prompt.waitFor('#error', (state) => state.text === 'Wrong passphrase. Try again.');
    await alice.screenshot('prompt-wrong-passphrase');
    await prompt.type('#passphrase', PASSPHRASE, ['Enter']);
    await options.waitFor('#status', (state) => state.text?.includes('The expiry was changed') === true, 120_000);

    // Escape cancels the operation that asked.
    await options.click(`${card} .action-extend`);
    await options.click(`${card} .panel button[type="submit"]`);
    const second = await SigillPage.prompt(alice);
    await second.press('Escape');
    await options.waitFor('#status', (state) => state.text?.startsWith('Cancelled') === true);

    const before = await unprotectedSecretPackets(alice);
    expect(before).toEqual({ secretKeys: 1, unprotected: [] });

    // Restart Thunderbird: both keys are still there, the secret key still protected.
    // Sigill's Manifest V3 background is an event page: after a restart it wakes with the first message
    // (here: the options page asking for the keys), not at startup.
    await world.restart(alice);
    const again = await SigillPage.openOptions(alice);
    await again.waitFor(`[data-fingerprint="${aliceFingerprint}"]`);
    await again.waitFor(`.key-row[data-fingerprint="${bobFingerprint}"]`, (state) => state.text?.includes('Usable') === true);
    const storage = await readSigillStorage(alice);
    expect(storage[KEYRING_INDEX_KEY]).toMatchObject({ version: 1 });
    const records = storedKeyRecords(storage);
    expect(records[aliceFingerprint]).toMatchObject({ secret: true, acceptance: 'verified' });
    expect(records[bobFingerprint]).toMatchObject({ secret: false, acceptance: 'accepted' });
    expect(await unprotectedSecretPackets(alice)).toEqual({ secretKeys: 1, unprotected: [] });
    expect(JSON.stringify(storage)).not.toContain(PASSPHRASE);
    await alice.screenshot('options-after-restart');

    // The whole keyring in one file (restored into bob's profile below).
    await again.click('#backup-all-button');
    const keyringBackupFile = () => readdirSync(downloads).find((file) => /^sigill-keyring-backup-\d{4}-\d{2}-\d{2}\.json$/.test(file));
    const completeJson = (name: string): boolean => { try { JSON.parse(readFileSync(join(downloads, name), 'utf8')); return true; } catch { return false; } };
    await eventually(() => { const name = keyringBackupFile(); return name !== undefined && completeJson(name); }, 60_000, 'the keyring backup file, written');
    keyringBackup = readFileSync(join(downloads, keyringBackupFile()!), 'utf8');
    expect(JSON.parse(keyringBackup)).toMatchObject({ format: 'sigill-keyring-backup', version: 1 });
    expect(keyringBackup).not.toContain(PASSPHRASE);
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('provisions a profile with persona keys before the scenario starts, and restores a keyring backup there', async () => {
    if (!world) throw new Error('no world');
    const bob = await world.launch('bob', { sigill: { ownKey: 'bob', correspondents: ['alice', 'carol'], settings: { unlockMinutes: 5 } } });
    const storage = await readSigillStorage(bob);
    expect(Object.values(storedKeyRecords(storage)).map((record) => [record.secret, record.acceptance]).sort()).toEqual([
      [false, 'accepted'],
      [false, 'accepted'],
      [true, 'verified'],
    ]);
    expect(await unprotectedSecretPackets(bob)).toEqual({ secretKeys: 1, unprotected: [] });
    const options = await SigillPage.openOptions(bob);
    await options.waitFor(`[data-fingerprint="${(await loadCertificate('bob')).getFingerprint()}"]`);
    await options.waitFor(`.key-row[data-fingerprint="${(await loadCertificate('alice')).getFingerprint()}"]`, (state) => state.text?.includes('Usable') === true);
    expect((await options.query('#unlock-minutes')).value).toBe('5');

    // Restoring alice's whole-keyring backup adds her keys; secret keys stay protected.
    expect(keyringBackup).toBeDefined();
    await options.setFiles('#restore-file', [{ name: 'sigill-keyring-backup.json', text: keyringBackup! }]);
    await options.waitFor('#restore-result', (state) => state.text?.includes('Added: Alice <alice@sigill.test>') === true);
    expect(await unprotectedSecretPackets(bob)).toEqual({ secretKeys: 2, unprotected: [] });
  });

  it('leaves nothing running', async () => {
    expect(await world?.stop()).toEqual([]);
  });
});
