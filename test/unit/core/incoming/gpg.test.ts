/**
 * Mail made by GnuPG, read by Sigill: inline encrypted+signed, PGP/MIME, PGP/MIME with protected headers
 * laid out the way Thunderbird's own OpenPGP sends it, .pgp attachments, cleartext signatures, detached
 * signatures and multipart/signed. The MIME around gpg's output is assembled here as those clients do.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PublicKey } from 'openpgp';
import { fixturePath } from '../../../../keys-fixtures/index.ts';
import { read, type ReadOptions } from '../../../../src/core/index.ts';
import { createGpgHome, ok, type GpgHome } from '../../../support/sop.ts';
import { describeWithTools } from '../../../support/tools.ts';
import { CRLF, attachmentPart, canary, certificate, entity, envelope, keyring, multipart, pgpMime, secretKey, text } from './mail.ts';

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'read: mail made by gpg', () => {
  let gpg: GpgHome;
  let options: ReadOptions;
  let alicePublic: PublicKey;
  let carolPublic: PublicKey;

  const encryptSign = async (input: string | Buffer, signer: string, extra: string[] = ['--armor']): Promise<Buffer> => {
    const result = ok(await gpg.gpg(['--encrypt', '--sign', ...extra, '--recipient', 'bob@sigill.test', '--local-user', signer], { stdin: input }));
    return result.stdout;
  };

  beforeAll(async () => {
    gpg = await createGpgHome();
    for (const name of ['alice', 'carol'] as const) ok(await gpg.importKey(fixturePath(name, 'unprotected')));
    ok(await gpg.importKey(fixturePath('bob', 'pub')));
    [alicePublic, carolPublic] = await Promise.all([certificate('alice'), certificate('carol')]);
    options = keyring({ secret: [await secretKey('bob')], public: [alicePublic, carolPublic] });
  });

  afterAll(async () => {
    await gpg?.dispose();
  });

  it('inline: gpg --encrypt --sign --armor in a text/plain body', async () => {
    const secret = canary();
    const armored = (await encryptSign(`Hello Bob,\n${secret}\n`, 'alice@sigill.test')).toString('utf8');
    const view = await read(entity({ ...envelope('Alice <alice@sigill.test>', 'gpg inline'), 'Content-Type': 'text/plain; charset=us-ascii' }, armored), options);
    expect(view.errors).toEqual([]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
    expect(view.parts).toHaveLength(1);
    expect(view.parts[0]?.content).toBe(`Hello Bob,\n${secret}\n`);
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>', matchesFrom: true })]);
  });

  it('PGP/MIME: a gpg-encrypted and signed MIME entity with an attachment', async () => {
    const secret = canary();
    const file = Buffer.from(Array.from({ length: 5000 }, (_, index) => (index * 13) & 0xff));
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="inner-1"' }, multipart('inner-1', [text(`PGP/MIME body ${secret}${CRLF}`), attachmentPart('table.bin', file)]));
    const armored = (await encryptSign(inner, 'alice@sigill.test')).toString('utf8');
    const view = await read(pgpMime(envelope('Alice <alice@sigill.test>', 'gpg pgp/mime'), armored), options);
    expect(view.errors).toEqual([]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
    expect(view.parts.map((part) => part.content)).toEqual([`PGP/MIME body ${secret}${CRLF}`]);
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'table.bin', size: 5000, encrypted: true, signed: true })]);
    expect(Buffer.compare(Buffer.from((view.attachments[0]?.data as Uint8Array | undefined) ?? []), file)).toBe(0);
  });

  it("PGP/MIME with protected headers as Thunderbird's own OpenPGP sends it: real subject, body, attachment, Carol's key inside", async () => {
    const secret = canary();
    const { readFileSync } = await import('node:fs');
    const carolKey = readFileSync(fixturePath('carol', 'pub'), 'utf8');
    const inner = entity(
      {
        'Content-Type': 'multipart/mixed; boundary="------------tb-outer"; protected-headers="v1"',
        From: 'Carol <carol@sigill.test>',
        To: 'Bob <bob@sigill.test>',
        'Message-ID': '<tb-1@sigill.test>',
        Subject: `Quarterly numbers ${secret}`,
      },
      multipart('------------tb-outer', [
        entity(
          { 'Content-Type': 'multipart/mixed; boundary="------------tb-inner"' },
          multipart('------------tb-inner', [
            text(`Hi Bob, the numbers: ${secret}${CRLF}`, { 'Content-Type': 'text/plain; charset=UTF-8; format=flowed', 'Content-Transfer-Encoding': '7bit' }),
            attachmentPart('numbers.csv', Buffer.from(`q1,${secret}\n`), 'text/csv'),
          ]),
        ),
        entity({ 'Content-Type': 'application/pgp-keys; name="OpenPGP_0xBF21F4C99E74A3EB.asc"', 'Content-Disposition': 'attachment; filename="OpenPGP_0xBF21F4C99E74A3EB.asc"', 'Content-Description': 'OpenPGP public key' }, carolKey),
      ]),
    );
    const armored = (await encryptSign(inner, 'carol@sigill.test')).toString('utf8');
    const outer = pgpMime(envelope('Carol <carol@sigill.test>', '...'), armored, '------------tb-enc');
    const view = await read(outer, options);
    expect(view.errors).toEqual([]);
    expect(view.subject).toBe('...');
    expect(view.protectedSubject).toBe(`Quarterly numbers ${secret}`);
    // format=flowed, unwrapped for display (RFC 3676).
    expect(view.parts.map((part) => part.content)).toEqual([`Hi Bob, the numbers: ${secret}\n`]);
    expect(view.attachments.map((attachment) => [attachment.name, attachment.encrypted, attachment.signed])).toEqual([['numbers.csv', true, true]]);
    expect(view.offeredKeys).toEqual([expect.objectContaining({ fingerprint: carolPublic.getFingerprint().toUpperCase(), encrypted: true })]);
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Carol <carol@sigill.test>', matchesFrom: true })]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
  });

  it('large PGP/MIME streamed into the Blob sink, which keeps the decryption\'s arrays without a copy: every compression gpg writes, signed or not, gives the exact bytes', async () => {
    const { randomBytes } = await import('node:crypto');
    const file = randomBytes(400 * 1024);
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="inner-2"' }, multipart('inner-2', [text(`large${CRLF}`), attachmentPart('random.bin', file)]));
    for (const compression of ['zip', 'zlib', 'bzip2', 'none']) {
      for (const signed of [true, false]) {
        const args = ['--encrypt', ...(signed ? ['--sign', '--local-user', 'alice@sigill.test'] : []), '--armor', '--compress-algo', compression, '--recipient', 'bob@sigill.test'];
        const armored = ok(await gpg.gpg(args, { stdin: inner })).stdout.toString('utf8');
        const mail = new Blob([Buffer.from(pgpMime(envelope('Alice <alice@sigill.test>', 'large'), armored), 'utf8')]);
        // Low thresholds: the plaintext goes into a Blob from its first 64 KiB, read in 4 KiB windows.
        const view = await read(mail, { ...options, streaming: { inMemoryBelow: 64 * 1024, windowSize: 4096 } });
        const what = `${compression}, ${signed ? 'signed' : 'not signed'}`;
        expect(view.errors, what).toEqual([]);
        expect(view.signature, what).toBe(signed ? 'signed' : 'not-signed');
        const data = view.attachments[0]?.data;
        expect(data, what).toBeInstanceOf(Blob);
        expect(Buffer.from(await (data as Blob).arrayBuffer()).equals(file), what).toBe(true);
      }
    }
  });

  it('a binary .pgp attachment made with gpg decrypts byte-identical', async () => {
    const file = Buffer.from(Array.from({ length: 100_000 }, (_, index) => (index * 31 + 7) & 0xff));
    const body = (await encryptSign('see the file\n', 'alice@sigill.test')).toString('utf8');
    const binary = await encryptSign(file, 'alice@sigill.test', ['--set-filename', 'archive.tar']);
    const mail = entity({ ...envelope('Alice <alice@sigill.test>', 'file'), 'Content-Type': 'multipart/mixed; boundary="m"' }, multipart('m', [text(body), attachmentPart('archive.tar.pgp', binary)]));
    const view = await read(mail, options);
    expect(view.errors).toEqual([]);
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'archive.tar', size: file.length, encrypted: true, signed: true })]);
    expect(Buffer.compare(Buffer.from((view.attachments[0]?.data as Uint8Array | undefined) ?? []), file)).toBe(0);
    expect(view.encryption).toBe('encrypted');
  });

  it('gpg --clearsign in the body, and a gpg detached signature of an attachment', async () => {
    const signed = ok(await gpg.gpg(['--clearsign', '--local-user', 'alice@sigill.test'], { stdin: 'I agree.\n' })).stdout.toString('utf8');
    const file = Buffer.from('the contract\n');
    const signature = ok(await gpg.gpg(['--detach-sign', '--local-user', 'alice@sigill.test'], { stdin: file })).stdout;
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'clear'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [text(signed), attachmentPart('contract.txt', file, 'text/plain'), attachmentPart('contract.txt.sig', signature, 'application/pgp-signature')]),
    );
    const view = await read(mail, options);
    expect(view.errors).toEqual([]);
    expect(view.parts).toEqual([expect.objectContaining({ content: 'I agree.', signed: true, source: 'cleartext-signed' })]);
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'contract.txt', signed: true })]);
    expect(view.signature).toBe('signed');
  });

  it('multipart/signed with a gpg detached signature over the canonical signed part', async () => {
    const signedPart = entity({ 'Content-Type': 'multipart/mixed; boundary="s"' }, multipart('s', [text('Signed with gpg\r\n'), attachmentPart('a.bin', Buffer.from([0, 1, 2]))]));
    const signature = ok(await gpg.gpg(['--detach-sign', '--armor', '--digest-algo', 'SHA256', '--local-user', 'alice@sigill.test'], { stdin: signedPart })).stdout.toString('utf8');
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'signed'), 'Content-Type': 'multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="outer"' },
      multipart('outer', [signedPart, entity({ 'Content-Type': 'application/pgp-signature; name="OpenPGP_signature.asc"', 'Content-Disposition': 'attachment; filename="OpenPGP_signature.asc"' }, signature)]),
    );
    const view = await read(mail, options);
    expect(view.errors).toEqual([]);
    expect(view.signature).toBe('signed');
    expect(view.attachments.map((attachment) => attachment.name)).toEqual(['a.bin']);
  });
});
