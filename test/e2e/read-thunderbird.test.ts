// Scenario: Thunderbird's own OpenPGP writes, Sigill reads. carol's Thunderbird (its built-in OpenPGP,
// with carol's fixture key) sends bob a PGP/MIME message, encrypted and signed, with a protected subject
// and an attachment; bob's Thunderbird with Sigill shows the body, the real subject, the attachment
// (saved byte-identical) and "signed by Carol" in Sigill's status popup.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase } from '../../keys-fixtures/index.ts';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually, type Client, type SendResult, World } from './harness/index.ts';
import { downloadPrefs, Gpg, openMessage, openStatus } from './harness/reading.ts';

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]), "e2e: Sigill reads what Thunderbird's own OpenPGP sends", () => {
  let world: World;
  let carol: Client;
  let bob: Client;
  let downloads: string;
  let sent: SendResult;
  const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
  const subjectSecret = `secret-canary-${randomBytes(6).toString('hex')}`;
  const attachment = randomBytes(40_000);

  beforeAll(async () => {
    world = await World.start('read-thunderbird');
    const gpg = Gpg.create(world, {});
    const [carolKey, bobKey] = [gpg.builtinKey('carol'), gpg.builtinKey('bob')];
    gpg.stop();
    downloads = join(world.artifacts, 'bob-downloads');
    mkdirSync(downloads, { recursive: true });
    [carol, bob] = await Promise.all([
      world.launch('carol', { sigill: false, openpgp: { own: carolKey, correspondents: [bobKey] } }),
      world.launch('bob', { sigill: { ownKey: 'bob', correspondents: ['carol'] }, prefs: downloadPrefs(downloads) }),
    ]);
  });

  afterAll(async () => {
    await world?.stop();
  });

  it("carol's Thunderbird sends PGP/MIME with a protected subject and an attachment; the relay stores ciphertext", async () => {
    sent = await carol.send({
      to: [bob.user.address],
      subject: `Plans ${subjectSecret}`,
      body: `Meet at noon by the fountain. ${secret}`,
      openpgp: { encrypt: true, encryptSubject: true, sign: true },
      attachments: [{ name: 'route.bin', base64: attachment.toString('base64') }],
    });
    await eventually(async () => (await world.relay.messages(bob.user.address)).length > 0, 60_000, "the message in bob's mailbox");
    const [stored] = await world.relay.messages(bob.user.address);
    const raw = (await world.relay.raw(bob.user.address, stored!.id)).toString('latin1');
    expect(raw).toMatch(/^Content-Type: multipart\/encrypted;/im);
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain(subjectSecret);
    expect(raw).not.toContain('route.bin');
  });

  it("bob's Sigill shows the body, the real subject, the attachment and who signed", async () => {
    const header = await bob.receive({ headerMessageId: sent.headerMessageId });
    const pane = await openMessage(bob, header.id, fixturePassphrase('bob'));
    expect(pane.sigill).toBe('shown');
    expect(pane.text).toContain(`Meet at noon by the fountain. ${secret}`);
    expect(pane.text).toContain(`Plans ${subjectSecret}`);
    await bob.screenshot('thunderbird-display');
    const status = await openStatus(bob);
    expect(await status.text('#headline')).toBe('Encrypted and signed');
    expect(await status.text('.signer')).toContain('Signed by Carol <carol@sigill.test>');
    expect(await status.text('#protected-subject')).toContain(`Plans ${subjectSecret}`);
    expect(await status.text('.attachment .name')).toBe('route.bin');
    await bob.screenshot('thunderbird-status');
    await status.click('.attachment .save');
    const saved = join(downloads, 'route.bin');
    await eventually(() => existsSync(saved) && readFileSync(saved).length === attachment.length, 120_000, 'the attachment in the download folder');
    expect(readFileSync(saved).equals(attachment)).toBe(true);
  });

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
