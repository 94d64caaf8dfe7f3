/**
 * `sigill sop` key subcommands: generate-key, extract-cert, change-key-password, revoke-key
 * (draft-dkg-openpgp-stateless-cli), including a certificate GnuPG imports.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePassphrase } from '../../../keys-fixtures/index.ts';
import { readCertificates, readSecretKeys, keyStatus } from '../../../src/core/index.ts';
import { describeWithTools } from '../../support/tools.ts';
import { fixture, fixtureFingerprint, sop, temporaryDirectory } from '../../support/sop.ts';

const directory = temporaryDirectory('keys');
afterAll(() => directory.remove());
const message = 'signed by a fresh key\n';

function file(name: string, content: string | Uint8Array): string {
  const path = join(directory.path, name);
  writeFileSync(path, content);
  return path;
}

describe('sigill sop generate-key / extract-cert', () => {
  it('makes an armored v4 Ed25519 key by default that signs, and its certificate verifies', async () => {
    const key = await sop(['generate-key', 'Alice <alice@example.org>']);
    expect(key.status).toBe(0);
    expect(key.text).toMatch(/^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    const cert = await sop(['extract-cert'], { stdin: key.stdout });
    expect(cert.status).toBe(0);
    expect(cert.text).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const [status] = await Promise.all((await readCertificates(cert.text)).map((certificate) => keyStatus(certificate)));
    expect(status).toMatchObject({ version: 4, algorithm: 'ed25519', canEncrypt: true, canSign: true, userIDs: ['Alice <alice@example.org>'] });
    const keyPath = file('fresh.key', key.stdout);
    const signature = await sop(['sign', keyPath], { stdin: message });
    const verified = await sop(['verify', file('fresh.sig', signature.stdout), file('fresh.cert', cert.stdout)], { stdin: message });
    expect(verified.status).toBe(0);
  });

  it('honours --profile (rfc9580 gives a v6 key), --no-armor and --with-key-password', async () => {
    const password = file('new.pw', 'correct horse battery staple\n');
    const [v6, binary] = await Promise.all([
      sop(['generate-key', '--profile=rfc9580', 'Erin <erin@example.org>']),
      sop(['generate-key', '--no-armor', `--with-key-password=${password}`, 'Bob <bob@example.org>']),
    ]);
    expect(v6.status).toBe(0);
    const [v6Key] = await readSecretKeys(v6.text);
    expect(v6Key?.keyPacket.version).toBe(6);
    expect(binary.status).toBe(0);
    expect(binary.stdout[0]! & 0x80).toBe(0x80);
    const [locked] = await readSecretKeys(new Uint8Array(binary.stdout));
    expect(locked?.isDecrypted()).toBe(false);
    // The trailing newline of the password file is not part of the password.
    const keyPath = file('bob.key', binary.stdout);
    const [withoutPassword, withPassword, withExactText] = await Promise.all([
      sop(['sign', keyPath], { stdin: message }),
      sop(['sign', `--with-key-password=${password}`, keyPath], { stdin: message }),
      sop(['sign', '--with-key-password=@ENV:PW', keyPath], { stdin: message, env: { PW: 'correct horse battery staple' } }),
    ]);
    expect(withoutPassword.status).toBe(67);
    expect(withPassword.status).toBe(0);
    expect(withExactText.status).toBe(0);
  });

  it('extract-cert of several keys gives all their certificates; of a certificate is BAD_DATA (41)', async () => {
    const twoKeys = Buffer.concat([readFileSync(fixture('alice', 'sec')), readFileSync(fixture('erin', 'sec'))]);
    const [both, ofCertificate] = await Promise.all([sop(['extract-cert', '--no-armor'], { stdin: twoKeys }), sop(['extract-cert'], { stdin: readFileSync(fixture('alice', 'pub')) })]);
    expect(both.status).toBe(0);
    const certificates = await readCertificates(new Uint8Array(both.stdout));
    expect(certificates.map((certificate) => certificate.getFingerprint().toUpperCase())).toEqual([await fixtureFingerprint('alice'), await fixtureFingerprint('erin')]);
    expect(ofCertificate.status).toBe(41);
  });

  it('without USERID: a v6 key (rfc9580); a v4 profile is UNSUPPORTED_OPTION (37), not bad data', async () => {
    const [v4, v6] = await Promise.all([sop(['generate-key']), sop(['generate-key', '--profile=rfc9580'])]);
    expect(v4.status).toBe(37);
    expect(v4.stderr).toMatch(/rfc9580/);
    expect(v6.status).toBe(0);
    const [key] = await readSecretKeys(v6.text);
    expect(key?.getUserIDs()).toEqual([]);
  });

  it('--signing-only makes a key that signs and whose certificate cannot be encrypted to (17)', async () => {
    const [v4, v6] = await Promise.all([
      sop(['generate-key', '--signing-only', 'S <s@example.org>']),
      sop(['generate-key', '--signing-only', '--profile=rfc9580', 'S6 <s6@example.org>']),
    ]);
    for (const key of [v4, v6]) {
      expect(key.status).toBe(0);
      const keyFile = file(`signing-only-${key === v4 ? 'v4' : 'v6'}.key`, key.stdout);
      const cert = file(`signing-only-${key === v4 ? 'v4' : 'v6'}.cert`, (await sop(['extract-cert'], { stdin: key.stdout })).stdout);
      const signature = await sop(['sign', keyFile], { stdin: message });
      expect(signature.status).toBe(0);
      const [verified, encrypted] = await Promise.all([sop(['verify', file(`so-${cert.length}.sig`, signature.stdout), cert], { stdin: message }), sop(['encrypt', cert], { stdin: message })]);
      expect(verified.status).toBe(0);
      expect(encrypted.status).toBe(17);
    }
  });
});

describe('sigill sop change-key-password', () => {
  it('re-protects, removes the protection, and fails with KEY_IS_PROTECTED (67) on a wrong old password', async () => {
    const oldPassword = file('old.pw', fixturePassphrase('carol'));
    const newPassword = file('new2.pw', 'a new passphrase');
    const [changed, removed, wrong] = await Promise.all([
      sop(['change-key-password', `--old-key-password=${oldPassword}`, `--new-key-password=${newPassword}`], { stdin: readFileSync(fixture('carol', 'sec')) }),
      sop(['change-key-password', `--old-key-password=${oldPassword}`], { stdin: readFileSync(fixture('carol', 'sec')) }),
      sop(['change-key-password', `--old-key-password=${newPassword}`], { stdin: readFileSync(fixture('carol', 'sec')) }),
    ]);
    expect(changed.status).toBe(0);
    expect(removed.status).toBe(0);
    expect(wrong.status).toBe(67);
    const changedKey = file('carol-new.key', changed.stdout);
    const removedKey = file('carol-open.key', removed.stdout);
    const [signedNew, signedOld, signedOpen] = await Promise.all([
      sop(['sign', `--with-key-password=${newPassword}`, changedKey], { stdin: message }),
      sop(['sign', `--with-key-password=${oldPassword}`, changedKey], { stdin: message }),
      sop(['sign', removedKey], { stdin: message }),
    ]);
    expect(signedNew.status).toBe(0);
    expect(signedOld.status).toBe(67);
    expect(signedOpen.status).toBe(0);
  });
});

describe('sigill sop revoke-key', () => {
  it('outputs a revoked certificate, which encrypt then refuses (17); a locked key needs its password (67)', async () => {
    const [revoked, locked] = await Promise.all([
      sop(['revoke-key', '--with-key-password=@ENV:PW'], { stdin: readFileSync(fixture('dave', 'sec')), env: { PW: fixturePassphrase('dave') } }),
      sop(['revoke-key'], { stdin: readFileSync(fixture('dave', 'sec')) }),
    ]);
    expect(locked.status).toBe(67);
    expect(revoked.status).toBe(0);
    expect(revoked.text).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const [certificate] = await readCertificates(revoked.text);
    expect(certificate && (await keyStatus(certificate)).revoked).toBe(true);
    const encrypted = await sop(['encrypt', file('dave.rev.cert', revoked.stdout)], { stdin: message });
    expect(encrypted.status).toBe(17);
  });
});

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'generate-key | extract-cert is accepted by GnuPG', () => {
  it('gpg --import takes the certificate', async () => {
    const key = await sop(['generate-key', 'Alice <alice@example.org>']);
    const cert = await sop(['extract-cert'], { stdin: key.stdout });
    const home = temporaryDirectory('gnupg');
    try {
      const output = execFileSync('gpg', ['--homedir', home.path, '--batch', '--import'], { input: cert.stdout, stdio: ['pipe', 'pipe', 'pipe'] });
      expect(output).toBeDefined();
      const listing = execFileSync('gpg', ['--homedir', home.path, '--batch', '--with-colons', '--list-keys'], { encoding: 'utf8' });
      expect(listing).toContain('Alice <alice@example.org>');
    } finally {
      home.remove();
    }
  });
});
