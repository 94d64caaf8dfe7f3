// Scenario: Sigill's PGP/MIME Experiment (extension/experiments/pgpmime) in a real Thunderbird.
// 1. The built dist/sigill.xpi loads it (the background asks whether PGP/MIME can be sent) with no error
//    or warning in the console attributable to Sigill.
// 2. A message sent from a compose tab armed for it leaves as RFC 3156 multipart/encrypted: the relay
//    stores no canary of the subject, body, attachment name or bytes; gpg decrypts it and verifies the
//    signature; the core's read() finds the protected subject and the attachment by its real name. Until
//    the send path arms the Experiment, the test-only PGP/MIME probe (test/e2e/pgp-mime-probe, the
//    product's Experiment files plus extension/experiments/pgpmime/api.ts) stands in for it, in a
//    profile without Sigill (two add-ons cannot declare the same Experiment namespace).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePath } from '../../keys-fixtures/index.ts';
import { parseMime, read } from '../../src/core/index.ts';
import { createGpgHome, ok } from '../support/sop.ts';
import { describeWithTools } from '../support/tools.ts';
import { certificate, keyring, secretKey } from '../unit/core/incoming/mail.ts';
import { e2eTools, eventually, sigillConsoleProblems, World } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { repoRoot } from '../../src/testbed/paths.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';

const probeId = 'sigill-pgp-mime-probe@sigill.test';

function buildProbe(): string {
  execFileSync('npx', ['vite', 'build', '--config', join('test', 'e2e', 'pgp-mime-probe', 'vite.config.ts')], { cwd: repoRoot, stdio: ['ignore', process.stderr, 'inherit'], timeout: 120_000 });
  return join(repoRoot, 'dist', 'e2e', 'pgp-mime-probe');
}

describeWithTools(e2eTools(), 'e2e: the PGP/MIME Experiment', () => {
  let world: World | undefined;

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

  it('a send armed for Sigill leaves as multipart/encrypted that gpg decrypts and read() shows with protected subject and attachment name', async () => {
    if (!world) throw new Error('no world');
    const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
    const subject = `Plans ${secret} ✓`;
    const attachmentName = `Årsrapport ${secret}.pdf`;
    const attachment = Buffer.concat([Buffer.from(`%PDF-1.4 ${secret} `.repeat(200)), randomBytes(20_000)]);
    const probe = buildProbe();
    const dave = await world.launch('dave', {
      sigill: false,
      beforeStart: (profileDir) => {
        const target = join(profileDir, 'extensions', probeId);
        cpSync(probe, target, { recursive: true });
        const config = {
          from: 'dave@sigill.test',
          to: ['bob@sigill.test'],
          subject,
          body: `Hello Bob,\n${secret}\n`,
          attachment: { name: attachmentName, type: 'application/pdf', base64: attachment.toString('base64') },
          encrypt: true,
          sign: true,
          senderKey: readFileSync(fixturePath('dave', 'unprotected'), 'utf8'),
          recipientCertificates: [readFileSync(fixturePath('bob', 'pub'), 'utf8')],
        };
        writeFileSync(join(target, 'config.json'), JSON.stringify(config));
      },
    });
    await eventually(() => /pgp-mime-probe: (sent|failed)/.test(dave.console()), 90_000, 'the probe\'s send');
    expect(/pgp-mime-probe: [^"\n]*/.exec(dave.console())?.[0]).toMatch(/^pgp-mime-probe: sent \S+@\S+$/);
    const relay = world.relay;
    await eventually(async () => (await relay.messages('bob@sigill.test')).length > 0, 60_000, 'the message at the relay');
    const [stored] = await relay.messages('bob@sigill.test');
    if (!stored) throw new Error('no message at the relay');
    const raw = await relay.raw('bob@sigill.test', stored.id);
    // LEAK: nothing of the subject, body, attachment name or bytes in what the server stores.
    expect(raw.includes(secret)).toBe(false);
    expect(raw.includes(Buffer.from(secret).toString('base64').slice(0, 12))).toBe(false);
    expect(raw.includes(attachment.subarray(attachment.length - 64))).toBe(false);
    const root = parseMime(new Uint8Array(raw));
    expect(root.contentType.value).toBe('multipart/encrypted');
    expect(root.contentType.params.protocol).toBe('application/pgp-encrypted');
    expect(root.headers.find((field) => field.name === 'subject')?.value).toBe('...');
    // gpg decrypts encrypted.asc and verifies Dave's signature inside.
    const gpg = await createGpgHome();
    try {
      ok(await gpg.importKey(fixturePath('bob', 'unprotected')));
      ok(await gpg.importKey(fixturePath('dave', 'pub')));
      const decrypted = ok(await gpg.gpg(['--decrypt'], { stdin: Buffer.from(root.children[1]?.body ?? []) }));
      expect(decrypted.status.keywords.has('GOODSIG')).toBe(true);
      expect(decrypted.stdout.toString('utf8')).toContain('protected-headers="v1"');
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
    expect(sigillConsoleProblems(dave.console(), extensionUuids[probeId] ?? probeId)).toEqual([]);
  });

  it('leaves nothing running', async () => {
    expect(await world?.stop()).toEqual([]);
  });
});
