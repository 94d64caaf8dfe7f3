// Scenario: alice (Sigill, inline format chosen in her settings; PGP/MIME to carol is
// test/e2e/pgp-mime.test.ts) writes to carol, who uses Thunderbird's own OpenPGP (with alice's key accepted).
// An encrypted, signed body: carol's Thunderbird decrypts it (messages.getFull) and shows alice's
// signature as good in the message header. A sign-only message (Encrypt turned off in Sigill's compose
// popup): its cleartext signature verifies there too.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase } from '../../keys-fixtures/index.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';
import { describeWithTools } from '../support/tools.ts';
import type { MessageSecurity } from './driver/commands.ts';
import { e2eTools, eventually, sigillConsoleProblems, World, type Client } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { fixtureBuiltinKey } from './harness/reading.ts';
import { SigillPage } from './harness/sigill.ts';

describeWithTools(e2eTools(), "e2e: Sigill's mail read by Thunderbird's own OpenPGP", () => {
  let world: World;
  let alice: Client;
  let carol: Client;

  beforeAll(async () => {
    world = await World.start('send-builtin');
    const [aliceKey, carolKey] = await Promise.all([fixtureBuiltinKey('alice'), fixtureBuiltinKey('carol')]);
    [alice, carol] = await Promise.all([
      world.launch('alice', { sigill: { ownKey: 'alice', correspondents: ['carol'], settings: { unlockMinutes: 5, sendFormat: 'inline' } } }),
      world.launch('carol', { sigill: false, openpgp: { own: carolKey, correspondents: [aliceKey] } }),
    ]);
  }, 300_000);

  afterAll(async () => {
    await world?.stop();
  });

  async function securityOf(headerMessageId: string): Promise<MessageSecurity> {
    const header = await carol.receive({ headerMessageId });
    await carol.open(header.id);
    let security: MessageSecurity | undefined;
    await eventually(async () => {
      security = await carol.call('messageSecurity', {});
      return !security.signed.hidden && security.signed.src !== '';
    }, 60_000, "the signature status in carol's message header");
    return security!;
  }

  it("an encrypted, signed body: carol's Thunderbird decrypts it and shows alice's signature as good", async () => {
    const canary = `secret-canary-${randomBytes(6).toString('hex')}`;
    const { tabId } = await alice.call('composeBegin', { to: ['carol@sigill.test'], subject: 'For carol', body: `Hello Carol,\n${canary}\n` });
    const sending = alice.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    const prompt = await SigillPage.prompt(alice);
    await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
    const sent = await sending;
    if (!sent.ok) throw new Error(sent.error);
    const security = await securityOf(sent.headerMessageId);
    await carol.screenshot('reads-sigill-encrypted');
    expect(security.tech).toBe('OpenPGP');
    expect(security.encrypted).toMatchObject({ hidden: false, src: expect.stringMatching(/message-encrypted-ok\.svg$/) });
    expect(security.signed.src).toMatch(/message-signed-(ok|verified)\.svg$/);
    const header = await carol.receive({ headerMessageId: sent.headerMessageId });
    expect((await carol.getFull(header.id)).text).toContain(canary);
  }, 600_000);

  it("a sign-only message (Encrypt off in Sigill's popup) verifies in carol's Thunderbird", async () => {
    const note = `signed-note-${randomBytes(6).toString('hex')}`;
    const { tabId } = await alice.call('composeBegin', { to: ['carol@sigill.test'], subject: 'Signed for carol', body: `Public note ${note}\nFrom the garden, with a line long enough to be wrapped by the plain-text composer at seventy-two columns.\n` });
    await alice.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(alice, 'compose/compose.html');
    await popup.waitFor('#encrypt', (state) => state.checked === true);
    await popup.click('#encrypt');
    await popup.waitFor('#summary', (state) => /signed, NOT encrypted/.test(state.text ?? ''));
    const sent = await alice.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    if (!sent.ok) throw new Error(sent.error);
    const security = await securityOf(sent.headerMessageId);
    await carol.screenshot('reads-sigill-signed');
    expect(security.encrypted.hidden).toBe(true);
    expect(security.signed.src).toMatch(/message-signed-(ok|verified)\.svg$/);
  }, 600_000);

  it("alice's console holds no error attributable to Sigill", () => {
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
