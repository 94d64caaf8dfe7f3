/**
 * SIG-ID — the signer is not who From says: another key, display-name tricks, several From headers.
 * Must hold: the signer's user ID always comes from the certificate and is shown; a mismatch with the
 * From address is warned about; with several senders no signer is matched to "the" sender.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { read } from '../../src/core/index.ts';
import { CRLF, certificate, clearsign, encryptArmored, keyring, secretKey } from '../unit/core/incoming/mail.ts';

let alice: PrivateKey;
let mallory: PrivateKey;
let bob: PrivateKey;
let keys: PublicKey[];
beforeAll(async () => {
  [alice, mallory, bob] = await Promise.all([secretKey('alice'), secretKey('mallory'), secretKey('bob')]);
  keys = await Promise.all([certificate('alice'), certificate('mallory'), certificate('bob')]);
});
const options = () => keyring({ secret: [bob], public: keys });
const mail = (fromLines: string[], body: string) =>
  [...fromLines.map((from) => `From: ${from}`), 'To: bob@sigill.test', 'Subject: identity', 'MIME-Version: 1.0', 'Content-Type: text/plain', '', body].join(CRLF);
const codes = (warnings: Array<{ code: string }>) => warnings.map((warning) => warning.code);

describe('SIG-ID', () => {
  it('From says Alice, Mallory signed: signer is Mallory, mismatch warned', async () => {
    const view = await read(mail(['Alice <alice@sigill.test>'], await clearsign('Transfer the money.\n', mallory)), options());
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Mallory <mallory@sigill.test>', matchesFrom: false })]);
    expect(codes(view.warnings)).toContain('SIGNER_NOT_FROM');
  });

  it('the display name shows Alice\'s address, the real address is Mallory\'s: warned, signer Mallory', async () => {
    const view = await read(mail(['"alice@sigill.test" <mallory@sigill.test>'], await clearsign('hi\n', mallory)), options());
    expect(codes(view.warnings)).toContain('FROM_NAME_HAS_OTHER_ADDRESS');
    expect(view.signers[0]).toMatchObject({ userID: 'Mallory <mallory@sigill.test>', matchesFrom: true });
  });

  it('an encoded display name naming Alice does not make Mallory Alice', async () => {
    const view = await read(mail(['=?utf-8?B?QWxpY2UgPGFsaWNlQHNpZ2lsbC50ZXN0Pg==?= <mallory@sigill.test>'], await clearsign('hi\n', mallory)), options());
    expect(codes(view.warnings)).toContain('FROM_NAME_HAS_OTHER_ADDRESS');
    expect(view.fromAddresses).toEqual(['mallory@sigill.test']);
    expect(view.signers[0]?.userID).toBe('Mallory <mallory@sigill.test>');
  });

  it('several From headers: warned, and no signer is matched to a sender', async () => {
    const view = await read(mail(['Alice <alice@sigill.test>', 'Mallory <mallory@sigill.test>'], await clearsign('hi\n', alice)), options());
    expect(codes(view.warnings)).toContain('MULTIPLE_FROM');
    expect(view.signers[0]).toMatchObject({ status: 'good', userID: 'Alice <alice@sigill.test>', matchesFrom: undefined });
    expect(codes(view.warnings)).not.toContain('SIGNER_NOT_FROM');
  });

  it('several addresses in one From header count the same', async () => {
    const view = await read(mail(['Alice <alice@sigill.test>, Mallory <mallory@sigill.test>'], await clearsign('hi\n', alice)), options());
    expect(codes(view.warnings)).toContain('MULTIPLE_FROM');
    expect(view.signers[0]?.matchesFrom).toBeUndefined();
  });

  it('no From header: warned, signer still named', async () => {
    const view = await read(mail([], await clearsign('hi\n', alice)), options());
    expect(codes(view.warnings)).toContain('NO_FROM');
    expect(view.signers[0]?.userID).toBe('Alice <alice@sigill.test>');
  });

  it('the address comparison ignores case; a matching signer raises no warning', async () => {
    const view = await read(mail(['ALICE <Alice@Sigill.Test>'], await clearsign('hi\n', alice)), options());
    expect(view.signers[0]?.matchesFrom).toBe(true);
    expect(view.warnings).toEqual([]);
  });

  it('inside an encrypted mail the same rules hold', async () => {
    const armored = await encryptArmored('signed inside', { to: [keys[2] as PublicKey], signer: mallory });
    const view = await read(mail(['Alice <alice@sigill.test>'], armored), options());
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Mallory <mallory@sigill.test>', matchesFrom: false })]);
    expect(codes(view.warnings)).toContain('SIGNER_NOT_FROM');
  });

  it('the user ID comes from the certificate, whatever the mail says about the signer', async () => {
    const body = await clearsign('Signed by: Alice <alice@sigill.test>\n', mallory);
    const view = await read(mail(['Mallory <mallory@sigill.test>'], body), options());
    expect(view.signers.map((signer) => signer.userID)).toEqual(['Mallory <mallory@sigill.test>']);
  });
});

describe('SIG-ID: protected headers', () => {
  it('a From inside the encryption that differs from the outer From is warned about', async () => {
    const { encryptArmored: encryptTo, entity, envelope, pgpMime } = await import('../unit/core/incoming/mail.ts');
    const inner = entity({ 'Content-Type': 'text/plain; protected-headers="v1"', From: 'Mallory <mallory@sigill.test>', Subject: 'real' }, 'hello');
    const armored = await encryptTo(inner, { to: [keys[2] as PublicKey], signer: mallory, format: 'binary' });
    const view = await read(pgpMime(envelope('Alice <alice@sigill.test>', '...'), armored), options());
    expect(codes(view.warnings)).toEqual(expect.arrayContaining(['PROTECTED_FROM_DIFFERS', 'SIGNER_NOT_FROM']));
    expect(view.signers[0]?.userID).toBe('Mallory <mallory@sigill.test>');
  });
});
