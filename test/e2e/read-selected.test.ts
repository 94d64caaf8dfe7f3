// Scenario: bob selects encrypted messages in Thunderbird's message list, as a click there does. Sigill starts
// reading a selected message before Thunderbird has loaded it into the pane (mailTabs.onSelectedMessagesChanged),
// and may ask for the passphrase only for the message that is displayed: with his key locked, the first
// selected message asks once and then shows its text; quick selections through three messages show the last
// one's decrypted text and nothing of the others; a message with a 4 MiB attachment shows decrypted when
// selected (the time from the selection and from opening a copy in a tab is printed, not asserted).
// Thunderbird's own OpenPGP, which holds no key in bob's profile, is spared its decryption attempt there (no
// OpenPGP status in its header); in dave's profile, where it has his key, it decrypts as always.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase } from '../../keys-fixtures/index.ts';
import { describeWithTools } from '../support/tools.ts';
import type { MessagePane } from './driver/commands.ts';
import { e2eTools, eventually, type Client, World } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { Gpg, promptOpen, submitRaw } from './harness/reading.ts';
import { mailHeaders, pgpMimeBody, pgpMimeContentType, randomBase64Lines, textWithAttachment } from '../support/mail-bodies.ts';
import { SigillPage } from './harness/sigill.ts';

const CRLF = '\r\n';

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]), 'e2e: Sigill reads a message as it is selected in the list', () => {
  let world: World;
  let bob: Client;
  let dave: Client;
  let gpg: Gpg;

  /** gpg's PGP/MIME (RFC 3156 §4) to `to` (bob), signed by carol: a text and, when asked, an attachment of `attachment` bytes. */
  async function deliver(subject: string, text: string, attachment = 0, to: { name: 'bob' | 'dave'; client: Client } = { name: 'bob', client: bob }): Promise<number> {
    const inner = attachment === 0 ? `Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}${text}${CRLF}` : textWithAttachment(text, randomBase64Lines(attachment));
    const armored = gpg.encryptSign(inner, { to: `${to.name}@sigill.test`, from: 'carol@sigill.test', armor: true }).toString('latin1');
    const raw = `${mailHeaders({ to: `${to.name} <${to.name}@sigill.test>`, subject, contentType: pgpMimeContentType })}${CRLF}${CRLF}${pgpMimeBody(armored)}`;
    await submitRaw(world, 'carol', to.name, raw);
    return (await to.client.receive({ subject }, 120_000)).id;
  }

  /** The pane once Sigill has drawn the message whose text holds `marker`. */
  async function shown(marker: string, client: Client = bob): Promise<MessagePane> {
    let pane: MessagePane | undefined;
    await eventually(
      async () => {
        pane = await client.call('messagePane', {}).catch(() => undefined);
        return pane?.sigill === 'shown' && pane.text.includes(marker);
      },
      180_000,
      `Sigill's decrypted text with ${marker} in the pane`,
    );
    return pane as MessagePane;
  }

  beforeAll(async () => {
    world = await World.start('read-selected');
    gpg = Gpg.create(world, { secret: ['carol'], public: ['bob'] });
    // dave has Sigill and Thunderbird's own OpenPGP with his key pair: Thunderbird's decryption must go on there.
    const [daveKey, carolKey] = [gpg.builtinKey('dave'), gpg.builtinKey('carol')];
    [bob, dave] = await Promise.all([
      world.launch('bob', { sigill: { ownKey: 'bob', correspondents: ['carol'] } }),
      world.launch('dave', { sigill: { ownKey: 'dave', correspondents: ['carol'] }, openpgp: { own: daveKey, correspondents: [carolKey] } }),
    ]);
  });

  afterAll(async () => {
    gpg?.stop();
    await world?.stop();
  });

  it('with the key locked, the selected message asks for the passphrase once and then shows its text', async () => {
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const id = await deliver('first selected', `The first message. ${secret}`);
    await bob.call('select', { messageId: id });
    await eventually(() => promptOpen(bob), 120_000, "Sigill's passphrase prompt for the displayed message");
    await (await SigillPage.prompt(bob)).type('#passphrase', fixturePassphrase('bob'), ['Enter']);
    const pane = await shown(secret);
    expect(pane.text).toContain(`The first message. ${secret}`);
    expect(await promptOpen(bob)).toBe(false);
    // Thunderbird's own OpenPGP holds no key here: it was spared its attempt, so its header shows no OpenPGP
    // status and no "secret key … not available" bar (Sigill's button says what Sigill found).
    expect((await bob.call('messageSecurity', {})).tech).toBe('');
    await bob.screenshot('selected-first');
  });

  it('quick selections through three messages show the last one decrypted, and nothing of the other two', async () => {
    const secrets = [0, 1, 2].map(() => `secret-canary-${randomBytes(6).toString('hex')}`);
    const ids: number[] = [];
    for (const [index, secret] of secrets.entries()) ids.push(await deliver(`quick ${index + 1}`, `Quick selection ${index + 1}. ${secret}`));
    // One selection after the other, as fast as the driver can click: no waiting for any of them to load.
    for (const id of ids) await bob.call('select', { messageId: id });
    const pane = await shown(secrets[2]!);
    expect(pane.text).toContain(`Quick selection 3. ${secrets[2]!}`);
    expect(pane.text).not.toContain(secrets[0]!);
    expect(pane.text).not.toContain(secrets[1]!);
    // The key was unlocked by the first test: no prompt for any of them.
    expect(await promptOpen(bob)).toBe(false);
    await bob.screenshot('selected-quick');
    // Back to the first of them: its own text, nothing of the last.
    await bob.call('select', { messageId: ids[0]! });
    const back = await shown(secrets[0]!);
    expect(back.text).not.toContain(secrets[2]!);
  });

  it('a message with a 4 MiB attachment shows decrypted when selected (times printed)', async () => {
    const [listed, tabbed] = [`marker-${randomBytes(6).toString('hex')}`, `marker-${randomBytes(6).toString('hex')}`];
    const [listedId, tabbedId] = [await deliver('large, selected', `See the file. ${listed}`, 4 << 20), await deliver('large, in a tab', `See the file. ${tabbed}`, 4 << 20)];
    let started = performance.now();
    await bob.call('select', { messageId: listedId });
    await shown(listed);
    const fromSelection = performance.now() - started;
    await bob.screenshot('selected-large');
    started = performance.now();
    const { tabId } = await bob.open(tabbedId);
    await shown(tabbed);
    const fromTab = performance.now() - started;
    await bob.call('closeTab', { tabId });
    console.log(`4 MiB attachment, decrypted text shown: ${fromSelection.toFixed(0)} ms after selecting it in the list, ${fromTab.toFixed(0)} ms after opening a copy in a tab`);
  });

  it("where Thunderbird's own OpenPGP has a key, it still decrypts as always, and Sigill shows the text too", async () => {
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const id = await deliver('for dave', `For Thunderbird and Sigill. ${secret}`, 0, { name: 'dave', client: dave });
    await dave.call('select', { messageId: id });
    await eventually(() => promptOpen(dave), 120_000, "Sigill's passphrase prompt in dave's Thunderbird");
    await (await SigillPage.prompt(dave)).type('#passphrase', fixturePassphrase('dave'), ['Enter']);
    expect((await shown(secret, dave)).text).toContain(`For Thunderbird and Sigill. ${secret}`);
    const security = await dave.call('messageSecurity', {});
    expect(security.tech).toBe('OpenPGP');
    expect(security.encrypted.hidden).toBe(false);
    await dave.screenshot('builtin-key');
  });

  it("a signed message (multipart/signed) is left to Thunderbird's own handler: its text shows though Thunderbird holds no secret key", async () => {
    // dave is no correspondent of bob's Sigill, so Sigill cannot verify and leaves the body to Thunderbird;
    // the spared-decryption Experiment must pass signed parts on (only encrypted ones may be spared).
    const signer = Gpg.create(world, { secret: ['dave'] });
    try {
      const marker = `signed-only-${randomBytes(6).toString('hex')}`;
      const inner = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', `Signed, not secret. ${marker}`, ''].join(CRLF);
      const signature = signer.run(['--armor', '--detach-sign', '--digest-algo', 'SHA256', '--local-user', 'dave@sigill.test'], inner).toString('latin1');
      const raw = [
        'From: dave@sigill.test',
        'To: bob@sigill.test',
        `Subject: signed ${marker}`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="sig"',
        '',
        '--sig',
        inner.replace(/\r\n$/, ''),
        '--sig',
        'Content-Type: application/pgp-signature; name="signature.asc"',
        '',
        signature.trimEnd(),
        '--sig--',
        '',
      ].join(CRLF);
      await submitRaw(world, 'carol', 'bob', raw);
      const id = (await bob.receive({ subject: `signed ${marker}` }, 120_000)).id;
      await bob.call('select', { messageId: id });
      await eventually(
        async () => ((await bob.call('messagePane', {}).catch(() => undefined))?.text ?? '').includes(`Signed, not secret. ${marker}`),
        120_000,
        "the signed message's text in Thunderbird's pane",
      );
      // Sigill's button says what the signature is worth — never the status of the message shown before it
      // (an encrypted and signed one).
      const button = async () => bob.call('messageDisplayActionButton', { addonId: sigillId });
      await eventually(async () => (await button()).label.includes('unknown key'), 60_000, "Sigill's button: signed, not checked");
      expect(await button()).toEqual({ label: 'Sigill: signed by an unknown key', badge: '?' });
      await bob.screenshot('signed-unknown');
    } finally {
      signer.stop();
    }
  });

  it('leaves nothing running', async () => {
    gpg.stop();
    expect(await world.stop()).toEqual([]);
  });
});
