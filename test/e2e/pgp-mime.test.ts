// Scenario: Sigill's PGP/MIME Experiment (extension/experiments/pgpmime) in a real Thunderbird.
// 1. The built dist/sigill.xpi loads it (the background asks whether PGP/MIME can be sent) with no error
//    or warning in the console attributable to Sigill.
// 2. Messages sent from compose tabs armed for it: encrypted, it leaves as RFC 3156 multipart/encrypted
//    with outer Subject "...", the relay stores no canary of the subject, body, attachment name or bytes,
//    gpg decrypts it and verifies the signature, the core's read() and Thunderbird's own OpenPGP (carol)
//    show the protected subject and the attachment by its real name; signed only, it is multipart/signed
//    that gpg and read() verify; to a recipient without key, the send fails inside Thunderbird and
//    nothing reaches the relay (fail closed). Until
//    the send path arms the Experiment, the test-only PGP/MIME probe (test/e2e/pgp-mime-probe, the
//    product's Experiment files plus extension/experiments/pgpmime/api.ts) stands in for it, in a
//    profile without Sigill (two add-ons cannot declare the same Experiment namespace).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePath } from '../../keys-fixtures/index.ts';
import { parseMime, read } from '../../src/core/index.ts';
import { createGpgHome, ok, run, tempDir } from '../support/sop.ts';
import { describeWithTools } from '../support/tools.ts';
import { certificate, keyring, secretKey } from '../unit/core/incoming/mail.ts';
import { e2eTools, eventually, sigillConsoleProblems, type Client, World } from './harness/index.ts';
import type { OpenPgpKey } from '../../src/testbed/openpgp.ts';
import { sigillId } from './harness/paths.ts';
import { repoRoot } from '../../src/testbed/paths.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';

const probeId = 'sigill-pgp-mime-probe@sigill.test';

function buildProbe(): string {
  execFileSync('npx', ['vite', 'build', '--config', join('test', 'e2e', 'pgp-mime-probe', 'vite.config.ts')], { cwd: repoRoot, stdio: ['ignore', process.stderr, 'inherit'], timeout: 120_000 });
  return join(repoRoot, 'dist', 'e2e', 'pgp-mime-probe');
}

/** The first message stored for an address with this Content-Type. */
async function storedWith(address: string, type: string): Promise<Buffer> {
  if (!world) throw new Error('no world');
  for (const stored of await world.relay.messages(address)) {
    const raw = await world.relay.raw(address, stored.id);
    if (parseMime(new Uint8Array(raw)).contentType.value === type) return raw;
  }
  throw new Error(`no ${type} message for ${address}`);
}

/** Every attachment name in a messages.getFull part tree. */
function partNames(part: unknown): string[] {
  const node = part as { name?: string; parts?: unknown[] };
  return [...(node.name ? [node.name] : []), ...(node.parts ?? []).flatMap(partNames)];
}

let world: World | undefined;
let carol: Client;
let dave: Client;
const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
const subject = `Plans ${secret} ✓`;
const attachmentName = `Årsrapport ${secret}.pdf`;
const attachment = Buffer.concat([Buffer.from(`%PDF-1.4 ${secret} `.repeat(200)), randomBytes(20_000)]);
/** The signed-only message is not secret: no canary in it. */
const publicReport = Buffer.concat([Buffer.from('%PDF-1.4 public '.repeat(100)), randomBytes(5_000)]);

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }, { command: 'sqop', debianPackage: 'sqop' }]), 'e2e: the PGP/MIME Experiment', () => {

  beforeAll(async () => {
    world = await World.start('pgp-mime');
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('loads with Sigill and finds the send pipeline it needs (nsIMsgComposeSecure), without console problems', async () => {
    if (!world) throw new Error('no world');
    const alice = await world.launch('alice');
    await eventually(() => /sigill: PGP\/MIME (available|not available.*)/.test(alice.console()), 60_000, "Sigill's PGP/MIME line");
    const line = /sigill: PGP\/MIME [^"\n]*/.exec(alice.console())?.[0];
    expect(line).toBe('sigill: PGP/MIME available');
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('dave sends three messages through the Experiment: encrypted to bob and carol (a draft saved first), signed only to bob, HTML to bob, and one to a recipient without key', async () => {
    if (!world) throw new Error('no world');
    const keys = world.openPgpKeys(['carol']);
    if (!keys.carol) throw new Error('gpg made no key for carol');
    const daveCertificate = await certificate('dave');
    const daveForCarol: OpenPgpKey = {
      address: 'dave@sigill.test',
      fingerprint: daveCertificate.getFingerprint().toUpperCase(),
      keyId: daveCertificate.getKeyID().toHex().toUpperCase(),
      publicKey: Buffer.from(daveCertificate.write()),
      secretKey: Buffer.alloc(0),
      passphrase: '',
    };
    // carol reads with Thunderbird's own OpenPGP (RNP), her key made by gpg, dave's accepted.
    carol = await world.launch('carol', { sigill: false, openpgp: { own: keys.carol, correspondents: [daveForCarol] } });
    const carolArmored = (await openpgp.readKey({ binaryKey: new Uint8Array(keys.carol.publicKey) })).armor();
    const attachmentOf = (name: string, bytes: Buffer = attachment) => ({ name, type: 'application/pdf', base64: bytes.toString('base64') });
    const probe = buildProbe();
    dave = await world.launch('dave', {
      sigill: false,
      beforeStart: (profileDir) => {
        const target = join(profileDir, 'extensions', probeId);
        cpSync(probe, target, { recursive: true });
        const config = {
          from: 'dave@sigill.test',
          sends: [
            { label: 'encrypted', to: ['bob@sigill.test', 'carol@sigill.test'], subject, body: `Hello,\n${secret}\n`, attachment: attachmentOf(attachmentName), encrypt: true, sign: true, saveDraftFirst: true },
            { label: 'signed', to: ['bob@sigill.test'], subject: 'Signed, not secret', body: 'Grüße from Dave\nFrom here on, signed.\n', attachment: attachmentOf('signed-report.pdf', publicReport), encrypt: false, sign: true },
            { label: 'html', to: ['bob@sigill.test'], subject: `HTML ${secret}`, body: `<p>Hello <b>Bob</b>, ${secret}</p>`, html: true, attachment: attachmentOf('chart.pdf'), encrypt: true, sign: true },
            { label: 'no-key', to: ['alice@sigill.test'], subject: `No key ${secret}`, body: `${secret}\n`, attachment: attachmentOf('x.pdf'), encrypt: true, sign: true },
          ],
          senderKey: readFileSync(fixturePath('dave', 'unprotected'), 'utf8'),
          recipientCertificates: [readFileSync(fixturePath('bob', 'pub'), 'utf8'), carolArmored],
        };
        writeFileSync(join(target, 'config.json'), JSON.stringify(config));
      },
    });
    await eventually(() => /pgp-mime-probe: no-key (encapsulation failed|sent|failed)/.test(dave.console()), 120_000, "the probe's three sends");
    const lines = dave.console().match(/pgp-mime-probe: [^"\n]*/g) ?? [];
    // A draft saved after arming passes by the Experiment, and the send after it is still Sigill's.
    expect(lines[0]).toBe('pgp-mime-probe: encrypted draft saved');
    expect(lines[1]).toMatch(/^pgp-mime-probe: encrypted sent \S+@\S+ in \d+ ms$/);
    expect(lines[2]).toMatch(/^pgp-mime-probe: signed sent \S+@\S+ in \d+ ms$/);
    expect(lines[3]).toMatch(/^pgp-mime-probe: html sent \S+@\S+ in \d+ ms$/);
    expect(lines[4]).toBe('pgp-mime-probe: no-key encapsulation failed KEY_NOT_FOUND');
    // The only problems on the console are Thunderbird reporting the failed send (fail closed).
    const problems = sigillConsoleProblems(dave.console(), extensionUuids[probeId] ?? probeId);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.filter((line) => !line.includes('Sigill PGP/MIME: No matching key was found. (Recipient alice@sigill.test'))).toEqual([]);
  });

  it('the encrypted one is multipart/encrypted with outer Subject "...", and the relay stores no canary of subject, body, attachment name or bytes', async () => {
    if (!world) throw new Error('no world');
    const relay = world.relay;
    await eventually(async () => (await relay.messages('bob@sigill.test')).length >= 3 && (await relay.messages('carol@sigill.test')).length >= 1, 60_000, 'the messages at the relay');
    for (const address of ['bob@sigill.test', 'carol@sigill.test']) {
      for (const stored of await relay.messages(address)) {
        const raw = await relay.raw(address, stored.id);
        expect(raw.includes(secret)).toBe(false);
        expect(raw.includes(Buffer.from(secret).toString('base64').slice(0, 12))).toBe(false);
        expect(raw.includes(attachmentName)).toBe(false);
      }
    }
    const encrypted = await storedWith('bob@sigill.test', 'multipart/encrypted');
    expect(encrypted.includes(attachment.subarray(attachment.length - 48).toString('base64').slice(0, 40))).toBe(false);
    const root = parseMime(new Uint8Array(encrypted));
    expect(root.contentType.params.protocol).toBe('application/pgp-encrypted');
    expect(root.headers.find((field) => field.name === 'subject')?.value).toBe('...');
    expect(root.children.map((child) => child.contentType.value)).toEqual(['application/pgp-encrypted', 'application/octet-stream']);
  });

  it('gpg and sqop decrypt it and verify dave; read() shows the protected subject and the attachment by its real name', async () => {
    const raw = await storedWith('bob@sigill.test', 'multipart/encrypted');
    const root = parseMime(new Uint8Array(raw));
    const gpg = await createGpgHome();
    try {
      ok(await gpg.importKey(fixturePath('bob', 'unprotected')));
      ok(await gpg.importKey(fixturePath('dave', 'pub')));
      const armored = Buffer.from(root.children[1]?.body ?? []);
      const decrypted = ok(await gpg.gpg(['--decrypt'], { stdin: armored }));
      expect(decrypted.status.keywords.has('GOODSIG')).toBe(true);
      expect(decrypted.stdout.toString('utf8')).toContain('protected-headers="v1"');
      // sqop too: the same plaintext, and a verification by dave's certificate.
      const verifications = join(gpg.home, 'sqop-verifications');
      const bySqop = ok(await run('sqop', ['decrypt', `--verifications-out=${verifications}`, `--verify-with=${fixturePath('dave', 'pub')}`, fixturePath('bob', 'unprotected')], { stdin: armored }));
      expect(bySqop.stdout.equals(decrypted.stdout)).toBe(true);
      expect(readFileSync(verifications, 'utf8')).toMatch(/^\d{4}-\d{2}-\d{2}T\S+ [0-9A-F]{40}/m);
    } finally {
      await gpg.dispose();
    }
    const view = await read(new Uint8Array(raw), keyring({ secret: [await secretKey('bob')], public: [await certificate('dave')] }));
    expect(view.errors).toEqual([]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
    expect(view.protectedSubject).toBe(subject);
    expect(view.parts.map((part) => part.content).join('\n')).toContain(secret);
    expect(view.attachments.map((file) => file.name)).toEqual([attachmentName]);
    expect(Buffer.from(view.attachments[0]?.data ?? []).equals(attachment)).toBe(true);
  });

  it("Thunderbird's own OpenPGP (carol) decrypts it in place: protected subject, text, the attachment by its real name", async () => {
    const [stored] = await world!.relay.messages('carol@sigill.test');
    const messageId = /^Message-ID:\s*<([^>]+)>/im.exec((await world!.relay.raw('carol@sigill.test', stored!.id)).toString('latin1'))?.[1];
    if (!messageId) throw new Error('no Message-ID');
    const header = await carol.receive({ headerMessageId: messageId });
    await carol.open(header.id);
    const full = await carol.getFull(header.id);
    expect(full.decryptionStatus).toBe('success');
    expect(full.text).toContain(secret);
    expect(partNames(full.part)).toContain(attachmentName);
    await eventually(async () => (await carol.getFull(header.id)).subject === subject, 30_000, 'the protected subject');
    await carol.screenshot('pgp-mime-from-sigill');
  });

  it('the HTML one carries the HTML and plain alternatives inside the encryption', async () => {
    const bob = await secretKey('bob');
    const daveCertificate = await certificate('dave');
    let found = false;
    for (const stored of await world!.relay.messages('bob@sigill.test')) {
      const raw = await world!.relay.raw('bob@sigill.test', stored.id);
      if (parseMime(new Uint8Array(raw)).contentType.value !== 'multipart/encrypted') continue;
      const view = await read(new Uint8Array(raw), { ...keyring({ secret: [bob], public: [daveCertificate] }), sanitizeHtml: (html) => html });
      if (view.protectedSubject !== `HTML ${secret}`) continue;
      found = true;
      expect(view.errors).toEqual([]);
      expect(view.signature).toBe('signed');
      expect(view.parts.map((part) => part.kind)).toEqual(['html']);
      expect(view.parts[0]?.content).toContain('<b>Bob</b>');
      expect(view.parts[0]?.plainText).toContain(secret);
      expect(view.attachments.map((file) => file.name)).toEqual(['chart.pdf']);
    }
    expect(found).toBe(true);
  });

  it('the signed one is multipart/signed (7-bit) that gpg and read() verify', async () => {
    const raw = await storedWith('bob@sigill.test', 'multipart/signed');
    const root = parseMime(new Uint8Array(raw));
    expect(root.contentType.params.protocol).toBe('application/pgp-signature');
    expect(root.contentType.params.micalg).toMatch(/^pgp-sha(256|384|512)$/);
    expect([...(root.children[0]?.raw ?? [])].every((byte) => byte < 0x80)).toBe(true);
    const gpg = await createGpgHome();
    const temp = await tempDir();
    try {
      ok(await gpg.importKey(fixturePath('dave', 'pub')));
      const signed = await temp.file('signed-part', Buffer.from(root.children[0]?.raw ?? []));
      const signature = await temp.file('signature.asc', Buffer.from(root.children[1]?.body ?? []));
      expect(ok(await gpg.gpg(['--verify', signature, signed])).status.keywords.has('GOODSIG')).toBe(true);
    } finally {
      await gpg.dispose();
      await temp.dispose();
    }
    const view = await read(new Uint8Array(raw), keyring({ public: [await certificate('dave')] }));
    expect(view.errors).toEqual([]);
    expect(view.signature).toBe('signed');
    expect(view.parts.map((part) => part.content).join('\n')).toContain('Grüße from Dave');
    expect(view.attachments.map((file) => file.name)).toEqual(['signed-report.pdf']);
    expect(Buffer.from(view.attachments[0]?.data ?? []).equals(publicReport)).toBe(true);
  });

  it('fails closed: the send to a recipient without key stopped inside Thunderbird and nothing reached the relay', async () => {
    // The encapsulation threw before Thunderbird wrote the message: no SMTP transaction was started.
    expect(await world!.relay.messages('alice@sigill.test')).toEqual([]);
  });

  it('leaves nothing running', async () => {
    expect(await world?.stop()).toEqual([]);
  });
});
