// Scenario (issue 11): alice sends bob her public key attached, bob imports it from the status popup and
// replies encrypted. Both run Sigill in real Thunderbirds, through the relay. alice's Sigill holds her key
// pair and bob's accepted certificate; bob's holds only his own key pair, nothing of alice. alice turns
// "Attach my public key" on for this one message in the compose popup and sends encrypted and signed; bob's
// status popup says the signer's key is unknown and offers the attached key; he clicks "Import and accept"
// and the status then says "Signed by Alice". His reply's compose popup shows alice's key accepted and
// Encrypt on; the relay stores the reply (quoting alice's text) without its canary, and alice's Sigill decrypts it and verifies bob.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase } from '../../keys-fixtures/index.ts';
import { describeWithTools } from '../support/tools.ts';
import type { ComposeSendResult } from './driver/commands.ts';
import { e2eTools, eventually, World, type Client } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { openMessage, openStatus } from './harness/reading.ts';
import { SigillPage } from './harness/sigill.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;

/** Sends the compose tab, typing `passphrase` into Sigill's prompt if it asks (it does not while the key is unlocked). */
async function sendTyping(client: Client, tabId: number, passphrase: string): Promise<string> {
  let result: ComposeSendResult | undefined;
  let failure: unknown;
  const sending = client.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000).then(
    (value) => (result = value),
    (error: unknown) => (failure = error),
  );
  let typed = false;
  await eventually(
    async () => {
      if (result !== undefined || failure !== undefined) return true;
      if (!typed) {
        const state = await client
          .call('pageAction', { addonId: sigillId, path: 'prompt/prompt.html', action: { op: 'query', selector: '#user-id' }, timeoutMs: 500 }, 20_000)
          .catch(() => undefined);
        if ((state as { exists?: boolean } | undefined)?.exists === true) {
          const prompt = await SigillPage.prompt(client);
          await prompt.type('#passphrase', passphrase, ['Enter']);
          typed = true;
        }
      }
      return false;
    },
    360_000,
    'the send to finish',
  );
  await sending;
  if (failure !== undefined) throw failure;
  const sent = result as ComposeSendResult;
  if (!sent.ok) throw new Error(`the send failed: ${sent.error}`);
  return sent.headerMessageId;
}

describeWithTools(e2eTools([]), 'e2e: alice sends bob her key attached; bob imports it from the status popup and replies encrypted', () => {
  let world: World;
  let alice: Client;
  let bob: Client;
  const subject = `Key ${randomBytes(4).toString('hex')}`;
  let headerMessageId = '';
  let bobMessageId = 0;

  beforeAll(async () => {
    world = await World.start('key-exchange');
    alice = await world.launch('alice', { sigill: { ownKey: 'alice', correspondents: ['bob'], settings: { unlockMinutes: 5 } } });
    bob = await world.launch('bob', { sigill: { ownKey: 'bob', correspondents: [], settings: { unlockMinutes: 5 } } });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('alice sends encrypted and signed with "Attach my public key" turned on for this message', async () => {
    const { tabId } = await alice.call('composeBegin', { to: ['Bob <bob@sigill.test>'], subject, body: `Hi Bob,\nhere is my public key, so that you can write back encrypted.\n${canary}\nAlice\n` });
    await alice.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(alice, 'compose/compose.html');
    await popup.waitFor('#recipients li[data-address="bob@sigill.test"]', (state) => state.attributes?.['data-state'] === 'accepted');
    if ((await popup.query('#encrypt')).checked !== true) await popup.click('#encrypt');
    await popup.waitFor('#encrypt', (state) => state.checked === true);
    expect((await popup.query('#sign')).checked).toBe(true);
    // Off by default (the setting), on for this message only.
    expect((await popup.query('#attach-public-key')).checked).toBe(false);
    await popup.click('#attach-public-key');
    await popup.waitFor('#attach-public-key', (state) => state.checked === true);
    await alice.screenshot('compose-popup-attach-key');

    headerMessageId = await sendTyping(alice, tabId, fixturePassphrase('alice'));
    await eventually(async () => (await world.relay.messages('bob@sigill.test')).length > 0, 120_000, "a message in bob's mailbox");
    const stored = await world.relay.messages('bob@sigill.test');
    expect(stored).toHaveLength(1);
    const raw = (await world.relay.raw('bob@sigill.test', stored[0]!.id)).toString('latin1');
    expect(raw).not.toContain(canary);
    expect(raw).toMatch(/^Content-Type: multipart\/encrypted;/im);
    // The key travels inside the encryption: no armored public key in the clear.
    expect(raw).not.toContain('BEGIN PGP PUBLIC KEY');
  }, 600_000);

  it('bob sees an unknown signer and alice\'s attached key, imports and accepts it: "Signed by Alice"', async () => {
    const header = await bob.receive({ headerMessageId }, 120_000);
    bobMessageId = header.id;
    const pane = await openMessage(bob, header.id, fixturePassphrase('bob'));
    expect(pane.sigill).toBe('shown');
    expect(pane.text).toContain(canary);

    const status = await openStatus(bob);
    // Signed, by a key bob's Sigill does not have: not "not signed".
    expect(await status.text('#headline')).toBe('Encrypted; the signature could not be checked');
    const signer = await status.query('.signer');
    expect(signer.attributes?.['data-status']).toBe('unknown-key');
    expect(await status.text('.signer')).toContain('import and accept the sender\'s key');
    const offered = await status.query('.offered');
    expect(offered.attributes?.['data-source']).toBe('attachment');
    expect(await status.text('.offered')).toContain('Alice <alice@sigill.test>');
    expect(await status.text('.offered .import-accept')).toBe('Import and accept');
    // The popup's height is capped and its content scrolls: End brings the offered key's buttons into view.
    await status.type('.offered .import-accept', '', ['End']);
    await bob.screenshot('status-key-offered');

    await status.click('.offered .import-accept');
    await status.waitFor('.signer', (state) => state.attributes?.['data-status'] === 'good').catch(async (error: unknown) => {
      await bob.screenshot('status-after-import');
      throw new Error(`${String(error)}; the popup shows: ${await status.text('body').catch(() => '(nothing)')}`);
    });
    expect(await status.text('#headline')).toBe('Encrypted and signed');
    expect(await status.text('.signer')).toContain('Signed by Alice <alice@sigill.test>');
    expect(await status.text('.offered .offered-state')).toContain('(Accepted)');
    expect((await status.queryAll('.offered button')).length).toBe(0);
    await bob.screenshot('status-key-imported');
  }, 600_000);

  it('bob replies: alice\'s key accepted and Encrypt on in the popup; the relay stores ciphertext; alice\'s Sigill decrypts it, "Signed by Bob"', async () => {
    const { tabId } = await bob.call('beginReply', { messageId: bobMessageId });
    await eventually(
      async () => {
        const composer = await bob.call('composeBody', { tabId });
        return (composer.isPlainText ? composer.plainTextBody : composer.body).includes(canary);
      },
      60_000,
      'the decrypted quote in the reply',
    );
    await bob.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(bob, 'compose/compose.html');
    await popup
      .waitFor('#recipients li[data-address="alice@sigill.test"]', (state) => state.attributes?.['data-state'] === 'accepted')
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)}; the popup shows: ${await popup.text('body').catch(() => '(nothing)')}`);
      });
    await popup.waitFor('#encrypt', (state) => state.checked === true);
    await bob.screenshot('reply-compose-popup');

    const replyId = await sendTyping(bob, tabId, fixturePassphrase('bob'));
    await eventually(async () => (await world.relay.messages('alice@sigill.test')).length > 0, 120_000, "the reply in alice's mailbox");
    const stored = await world.relay.messages('alice@sigill.test');
    expect(stored).toHaveLength(1);
    const raw = (await world.relay.raw('alice@sigill.test', stored[0]!.id)).toString('latin1');
    // The reply quotes alice's decrypted text: none of it in the clear.
    expect(raw).not.toContain(canary);
    expect(raw).toMatch(/^Content-Type: multipart\/encrypted;/im);

    const header = await alice.receive({ headerMessageId: replyId }, 120_000);
    const pane = await openMessage(alice, header.id, fixturePassphrase('alice'));
    expect(pane.sigill).toBe('shown');
    expect(pane.text).toContain(canary);
    const status = await openStatus(alice);
    expect(await status.text('#headline')).toBe('Encrypted and signed');
    expect(await status.text('.signer')).toContain('Signed by Bob <bob@sigill.test>');
    await alice.screenshot('alice-reads-reply');
  }, 900_000);

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
