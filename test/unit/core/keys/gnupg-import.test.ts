/**
 * The default profile exists so that GnuPG 2.2 users can read Sigill keys: gpg must import a
 * generated certificate and passphrase-protected secret key and see the same key.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportKey, generateKey, type KeyProfile } from '../../../../src/core/index.ts';
import { createGpgHome, ok, type GpgHome } from '../../../support/sop.ts';
import { describeWithTools } from '../../../support/tools.ts';

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'gpg imports generated keys', () => {
  let home: GpgHome | undefined;
  beforeAll(async () => {
    home = await createGpgHome();
  });
  afterAll(async () => {
    await home?.dispose(); // stops the gpg-agent of the throwaway home, then removes it
  });

  async function gpg(args: string[]): Promise<string> {
    if (!home) throw new Error('no gpg home');
    // GnuPG's own trust model rather than the home's "always": importing a revocation updates the trustdb.
    return ok(await home.gpg(['--trust-model', 'pgp', '--with-colons', ...args])).stdout.toString('utf8');
  }

  it.each(['default', 'rsa3072'] as KeyProfile[])('%s: certificate, secret key and revocation', async (profile) => {
    const userID = `Gpg Test ${profile} <gpg-${profile}@example.org>`;
    const { secretKey, publicKey, revocationCertificate } = await generateKey({ userIDs: [userID], profile, passphrase: 'gpg test passphrase' });
    const fingerprint = publicKey.getFingerprint().toUpperCase();
    const file = join(home?.home ?? '', `${profile}.asc`);

    await writeFile(file, exportKey(publicKey, { armor: true }));
    await gpg(['--import', file]);
    const listing = await gpg(['--list-keys', fingerprint]);
    expect(listing).toContain(`fpr:::::::::${fingerprint}:`);
    expect(listing).toContain(`::${userID}:`);
    // a usable encryption subkey (capability "e") was accepted
    expect(listing).toMatch(/^sub:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:e:/m);

    await writeFile(file, exportKey(secretKey, { armor: true, secret: true }));
    await gpg(['--passphrase', 'gpg test passphrase', '--import', file]);
    expect(await gpg(['--list-secret-keys', fingerprint])).toContain(`fpr:::::::::${fingerprint}:`);

    await writeFile(file, revocationCertificate);
    await gpg(['--import', file]);
    expect(await gpg(['--list-keys', fingerprint])).toMatch(/^pub:r:/m);
  });
});
