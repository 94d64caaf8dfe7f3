/**
 * The default profile exists so that GnuPG 2.2 users can read Sigill keys: gpg must import a
 * generated certificate and passphrase-protected secret key and see the same key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportKey, generateKey, type KeyProfile } from '../../../../src/core/index.ts';
import { describeWithTools } from '../../../support/tools.ts';

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'gpg imports generated keys', () => {
  let home = '';
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'sigill-keys-gnupg-'));
  });
  afterAll(() => {
    // gpg-agent may have been started for this throwaway home; stop it before removing the directory.
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home }, stdio: 'ignore' });
    } catch {
      // no agent running
    }
    rmSync(home, { recursive: true, force: true });
  });

  function gpg(args: string[]): string {
    return execFileSync('gpg', ['--batch', '--no-tty', '--with-colons', ...args], {
      env: { ...process.env, GNUPGHOME: home },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  it.each(['default', 'rsa3072'] as KeyProfile[])('%s: certificate, secret key and revocation', async (profile) => {
    const userID = `Gpg Test ${profile} <gpg-${profile}@example.org>`;
    const { secretKey, publicKey, revocationCertificate } = await generateKey({ userIDs: [userID], profile, passphrase: 'gpg test passphrase' });
    const fingerprint = publicKey.getFingerprint().toUpperCase();
    const file = join(home, `${profile}.asc`);

    writeFileSync(file, exportKey(publicKey, { armor: true }));
    gpg(['--import', file]);
    const listing = gpg(['--list-keys', fingerprint]);
    expect(listing).toContain(`fpr:::::::::${fingerprint}:`);
    expect(listing).toContain(`::${userID}:`);
    // a usable encryption subkey (capability "e") was accepted
    expect(listing).toMatch(/^sub:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:e:/m);

    writeFileSync(file, exportKey(secretKey, { armor: true, secret: true }));
    gpg(['--pinentry-mode', 'loopback', '--passphrase', 'gpg test passphrase', '--import', file]);
    expect(gpg(['--list-secret-keys', fingerprint])).toContain(`fpr:::::::::${fingerprint}:`);

    writeFileSync(file, revocationCertificate);
    gpg(['--import', file]);
    expect(gpg(['--list-keys', fingerprint])).toMatch(/^pub:r:/m);
  });
});
