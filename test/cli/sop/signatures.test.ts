/**
 * `sigill sop` signatures: sign / verify, inline-sign / inline-verify / inline-detach, their
 * verification lines and exit codes (draft-dkg-openpgp-stateless-cli).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, fixtureFingerprint, sop, temporaryDirectory, verificationLine } from '../../support/sop.ts';

const directory = temporaryDirectory('signatures');
afterAll(() => directory.remove());

const alice = { key: fixture('alice', 'unprotected'), cert: fixture('alice', 'pub') };
const dave = { key: fixture('dave', 'unprotected'), cert: fixture('dave', 'pub') };
const erin = { key: fixture('erin', 'unprotected'), cert: fixture('erin', 'pub') };
const message = 'Grüße aus Göteborg.\nSecond line.\n';

function file(name: string, content: string | Uint8Array): string {
  const path = join(directory.path, name);
  writeFileSync(path, content);
  return path;
}

describe('sigill sop sign / verify', () => {
  it('signs binary and text, and prints one verification line per good signature', async () => {
    const [binary, text] = await Promise.all([sop(['sign', alice.key], { stdin: message }), sop(['sign', '--as=text', '--no-armor', alice.key], { stdin: message })]);
    expect(binary.status).toBe(0);
    expect(binary.text).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    expect(text.stdout[0]! & 0x80).toBe(0x80);
    const [verifiedBinary, verifiedText] = await Promise.all([
      sop(['verify', file('binary.sig', binary.stdout), alice.cert], { stdin: message }),
      sop(['verify', file('text.sig', text.stdout), alice.cert, dave.cert], { stdin: message }),
    ]);
    expect(verifiedBinary.status).toBe(0);
    const [line, ...rest] = verifiedBinary.text.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(line).toMatch(verificationLine);
    expect(line).toContain(` ${await fixtureFingerprint('alice')} mode:binary`);
    expect(verifiedText.text).toMatch(/ mode:text/);
  });

  it('signs with several keys (RSA, v6) and writes --micalg-out', async () => {
    const micalg = join(directory.path, 'micalg');
    const signed = await sop(['sign', `--micalg-out=${micalg}`, alice.key, dave.key, erin.key], { stdin: message });
    expect(signed.status).toBe(0);
    expect(readFileSync(micalg, 'utf8')).toMatch(/^(pgp-sha\d+)?$/);
    const verified = await sop(['verify', file('three.sig', signed.stdout), alice.cert, dave.cert, erin.cert], { stdin: message });
    expect(verified.status).toBe(0);
    expect(verified.text.trimEnd().split('\n')).toHaveLength(3);
  });

  it('fails with NO_SIGNATURE (3) for modified data, a wrong certificate, or a window that excludes the signature', async () => {
    const signaturePath = file('window.sig', (await sop(['sign', alice.key], { stdin: message })).stdout);
    const results = await Promise.all([
      sop(['verify', signaturePath, alice.cert], { stdin: `${message}!` }),
      sop(['verify', signaturePath, dave.cert], { stdin: message }),
      sop(['verify', '--not-before=now', signaturePath, alice.cert], { stdin: message }),
      sop(['verify', '--not-after=2020-01-01T00:00:00Z', signaturePath, alice.cert], { stdin: message }),
      sop(['verify', '--not-before=2020-01-01', '--not-after=-', signaturePath, alice.cert], { stdin: message }),
    ]);
    expect(results.map((result) => result.status)).toEqual([3, 3, 3, 3, 0]);
    expect(results[0]!.text).toBe('');
  });

  it('needs KEYS / CERTS (19), a key that can sign (79), and UTF-8 for --as=text (53)', async () => {
    const signaturePath = file('needs.sig', (await sop(['sign', alice.key], { stdin: message })).stdout);
    const results = await Promise.all([
      sop(['verify', signaturePath], { stdin: message }),
      sop(['sign', fixture('expired', 'sec')], { stdin: message }),
      sop(['sign', '--as=text', alice.key], { stdin: new Uint8Array([0x66, 0xff, 0xfe, 0x0a]) }),
      sop(['sign', alice.cert], { stdin: message }),
      sop(['verify', file('garbage.sig', 'not a signature'), alice.cert], { stdin: message }),
    ]);
    expect(results.map((result) => result.status)).toEqual([19, 79, 53, 41, 41]);
  });
});

describe('sigill sop inline-sign / inline-verify / inline-detach', () => {
  it('round-trips binary, text and clearsigned messages with --verifications-out', async () => {
    const modes = ['binary', 'text', 'clearsigned'] as const;
    const signed = await Promise.all(modes.map((as) => sop(['inline-sign', `--as=${as}`, alice.key], { stdin: message })));
    expect(signed.map((result) => result.status)).toEqual([0, 0, 0]);
    expect(signed[2]!.text).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
    const verified = await Promise.all(
      signed.map((result, index) => sop(['inline-verify', `--verifications-out=${join(directory.path, `inline-${index}.verifications`)}`, alice.cert], { stdin: result.stdout })),
    );
    for (const [index, result] of verified.entries()) {
      expect(result.status).toBe(0);
      // Line endings are checked in the next test.
      expect(result.text.replace(/\r\n/g, '\n')).toBe(message);
      const lines = readFileSync(join(directory.path, `inline-${index}.verifications`), 'utf8');
      expect(lines.trimEnd()).toMatch(verificationLine);
      expect(lines).toContain(`mode:${modes[index] === 'binary' ? 'binary' : 'text'}`);
    }
  });

  it('--as=clearsigned keeps LF lines; --as=text stores CRLF (RFC 9580 §5.9)', async () => {
    const [text, clearsigned] = await Promise.all([sop(['inline-sign', '--as=text', alice.key], { stdin: message }), sop(['inline-sign', '--as=clearsigned', alice.key], { stdin: message })]);
    // RFC 9580 §7: the cleartext is shown as given; no CR added to LF lines.
    expect(clearsigned.text).toContain('\n\nGrüße aus Göteborg.\nSecond line.\n');
    const verified = await sop(['inline-verify', alice.cert], { stdin: text.stdout });
    expect(verified.text).toBe(message.replace(/\r?\n/g, '\r\n'));
  });

  it('outputs no data without a good signature (3), and never overwrites --verifications-out (59)', async () => {
    const signed = await sop(['inline-sign', alice.key], { stdin: message });
    const existing = file('exists.verifications', 'keep');
    const [wrongCert, exists] = await Promise.all([
      sop(['inline-verify', dave.cert], { stdin: signed.stdout }),
      sop(['inline-verify', `--verifications-out=${existing}`, alice.cert], { stdin: signed.stdout }),
    ]);
    expect(wrongCert.status).toBe(3);
    expect(wrongCert.text).toBe('');
    expect(exists.status).toBe(59);
    expect(readFileSync(existing, 'utf8')).toBe('keep');
  });

  it('inline-detach splits a clearsigned message into data and a signature that verifies', async () => {
    const signed = await sop(['inline-sign', '--as=clearsigned', alice.key], { stdin: message });
    const signaturesOut = join(directory.path, 'detached.sig');
    const [detached, missing] = await Promise.all([sop(['inline-detach', `--signatures-out=${signaturesOut}`], { stdin: signed.stdout }), sop(['inline-detach'], { stdin: signed.stdout })]);
    expect(missing.status).toBe(19);
    expect(detached.status).toBe(0);
    expect(existsSync(signaturesOut)).toBe(true);
    expect(readFileSync(signaturesOut, 'utf8')).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    const verified = await sop(['verify', signaturesOut, alice.cert], { stdin: detached.stdout });
    expect(verified.status).toBe(0);
    expect(verified.text).toMatch(/ mode:text/);
  });
});
