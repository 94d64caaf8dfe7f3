/**
 * `sigill sop encrypt` / `decrypt`: certificates, passwords, session keys, signing inside encryption,
 * verification output and the exit codes of each failure (draft-dkg-openpgp-stateless-cli).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePassphrase } from '../../../keys-fixtures/index.ts';
import { describeWithTools } from '../../support/tools.ts';
import { fixture, fixtureFingerprint, sigillSop, sop, temporaryDirectory, verificationLine } from '../../support/sop.ts';

const directory = temporaryDirectory('encryption');
afterAll(() => directory.remove());

const message = 'The meeting moved to Thursday. — A.\n';

function file(name: string, content: string | Uint8Array): string {
  const path = join(directory.path, name);
  writeFileSync(path, content);
  return path;
}

function out(name: string): string {
  return join(directory.path, name);
}

describe('sigill sop encrypt / decrypt', () => {
  it('encrypts to several certificates (v4, RSA, v6) and each recipient decrypts', async () => {
    const encrypted = await sop(['encrypt', fixture('alice', 'pub'), fixture('dave', 'pub'), fixture('erin', 'pub')], { stdin: message });
    expect(encrypted.status).toBe(0);
    expect(encrypted.text).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const decrypted = await Promise.all(['alice', 'dave', 'erin'].map((name) => sop(['decrypt', fixture(name as 'alice', 'unprotected')], { stdin: encrypted.stdout })));
    expect(decrypted.map((result) => [result.status, result.text])).toEqual([
      [0, message],
      [0, message],
      [0, message],
    ]);
  });

  it('with stdin and stdout redirected to files (read in chunks with synchronous calls), binary data survives both ways', () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const input = file('big.bin', data);
    /** `sigill sop ARGS < from > to`, with real file descriptors rather than pipes. */
    const run = (args: string[], from: string, to: string): void => {
      const [stdin, stdout] = [openSync(from, 'r'), openSync(to, 'w')];
      try {
        const [node = '', ...rest] = sigillSop;
        execFileSync(node, [...rest, ...args], { stdio: [stdin, stdout, 'pipe'] });
      } finally {
        closeSync(stdin);
        closeSync(stdout);
      }
    };
    run(['encrypt', '--no-armor', fixture('alice', 'pub')], input, out('big.pgp'));
    run(['decrypt', fixture('alice', 'unprotected')], out('big.pgp'), out('big.out'));
    expect(Buffer.compare(readFileSync(out('big.out')), data)).toBe(0);
  });

  it('past 16 MiB with stdout a regular file: the plaintext waits in an unnamed file beside it, released only if the MDC matches', () => {
    // Past the CLI's 16 MiB held in memory, so the plaintext goes to a file (plaintext-output.ts).
    const data = randomBytes(17 * 1024 * 1024 + 3);
    const outputs = temporaryDirectory('decrypt-to-file');
    try {
      const input = file('spill.bin', data);
      const run = (args: string[], from: string, to: string): number => {
        const [stdin, stdout] = [openSync(from, 'r'), openSync(to, 'w')];
        try {
          const [node = '', ...rest] = sigillSop;
          execFileSync(node, [...rest, ...args], { stdio: [stdin, stdout, 'pipe'] });
          return 0;
        } catch (error) {
          return (error as { status: number }).status;
        } finally {
          closeSync(stdin);
          closeSync(stdout);
        }
      };
      const encrypted = out('spill.pgp');
      expect(run(['encrypt', '--no-armor', fixture('alice', 'pub')], input, encrypted)).toBe(0);
      const decrypted = join(outputs.path, 'spill.out');
      expect(run(['decrypt', fixture('alice', 'unprotected')], encrypted, decrypted)).toBe(0);
      expect(Buffer.compare(readFileSync(decrypted), data)).toBe(0);
      // One flipped octet near the end (inside the last plaintext, long after the spill) or near the
      // start (a message this large goes to the file from its first octet): exit 29, the output file
      // stays empty and nothing is left beside it.
      for (const [name, fromEnd] of [['tampered-end', 1000], ['tampered-start', data.length - 300]] as const) {
        const tampered = readFileSync(encrypted);
        tampered[tampered.length - fromEnd]! ^= 0x01;
        const tamperedPath = file(`${name}.pgp`, tampered);
        const refused = join(outputs.path, `${name}.out`);
        expect(run(['decrypt', fixture('alice', 'unprotected')], tamperedPath, refused)).toBe(29);
        expect(readFileSync(refused).length).toBe(0);
      }
      expect(readdirSync(outputs.path).sort()).toEqual(['spill.out', 'tampered-end.out', 'tampered-start.out']);
    } finally {
      outputs.remove();
    }
  });

  it('signs inside the encryption and reports the signature in --verifications-out', async () => {
    const encrypted = await sop(['encrypt', '--as=text', `--sign-with=${fixture('bob', 'sec')}`, `--with-key-password=@ENV:PW`, fixture('alice', 'pub')], {
      stdin: message,
      env: { PW: fixturePassphrase('bob') },
    });
    expect(encrypted.status).toBe(0);
    const [verified, wrongCert] = await Promise.all([
      sop(['decrypt', `--verifications-out=${out('signed.verifications')}`, `--verify-with=${fixture('bob', 'pub')}`, fixture('alice', 'unprotected')], { stdin: encrypted.stdout }),
      sop(['decrypt', `--verify-out=${out('wrong.verifications')}`, `--verify-with=${fixture('carol', 'pub')}`, fixture('alice', 'unprotected')], { stdin: encrypted.stdout }),
    ]);
    expect(verified.status).toBe(0);
    const line = readFileSync(out('signed.verifications'), 'utf8').trimEnd();
    expect(line).toMatch(verificationLine);
    expect(line).toContain(`${await fixtureFingerprint('bob')} mode:text`);
    // Decryption still succeeds; the verifications are simply empty (section "decrypt").
    expect(wrongCert.status).toBe(0);
    expect(readFileSync(out('wrong.verifications'), 'utf8')).toBe('');
  });

  it('encrypt --as=text stores the text with CRLF line endings (RFC 9580 §5.9), as GnuPG needs', async () => {
    const text = 'line one\nline two\r\nline three\n';
    const encrypted = await sop(['encrypt', '--as=text', fixture('alice', 'pub')], { stdin: text });
    const decrypted = await sop(['decrypt', fixture('alice', 'unprotected')], { stdin: encrypted.stdout });
    expect(decrypted.status).toBe(0);
    expect(decrypted.text).toBe('line one\r\nline two\r\nline three\r\n');
  });

  it('encrypts with a password and decrypts with it (trailing newline of the file ignored)', async () => {
    const encrypted = await sop(['encrypt', '--no-armor', `--with-password=${file('pw', 'open sesame\n')}`], { stdin: message });
    expect(encrypted.status).toBe(0);
    expect(encrypted.stdout[0]! & 0x80).toBe(0x80);
    const [right, exact, wrong] = await Promise.all([
      sop(['decrypt', `--with-password=${file('pw2', 'open sesame\n')}`], { stdin: encrypted.stdout }),
      sop(['decrypt', '--with-password=@ENV:PW'], { stdin: encrypted.stdout, env: { PW: 'open sesame' } }),
      sop(['decrypt', '--with-password=@ENV:PW'], { stdin: encrypted.stdout, env: { PW: 'close sesame' } }),
    ]);
    expect([right.status, right.text]).toEqual([0, message]);
    expect([exact.status, exact.text]).toEqual([0, message]);
    expect(wrong.status).toBe(29);
    expect(wrong.text).toBe('');
  });

  it('writes --session-key-out as ALGO:HEX and decrypts again --with-session-key (SEIPDv1 and v2)', async () => {
    const [v1, v2] = await Promise.all([sop(['encrypt', fixture('alice', 'pub')], { stdin: message }), sop(['encrypt', fixture('erin', 'pub')], { stdin: message })]);
    const [first, second] = await Promise.all([
      sop(['decrypt', `--session-key-out=${out('v1.sk')}`, fixture('alice', 'unprotected')], { stdin: v1.stdout }),
      sop(['decrypt', `--session-key-out=${out('v2.sk')}`, fixture('erin', 'unprotected')], { stdin: v2.stdout }),
    ]);
    expect([first.status, second.status]).toEqual([0, 0]);
    const sessionKey = readFileSync(out('v1.sk'), 'utf8');
    expect(sessionKey).toMatch(/^\d+:[0-9A-F]+\n$/);
    const again = await Promise.all([
      sop(['decrypt', `--with-session-key=${out('v1.sk')}`], { stdin: v1.stdout }),
      sop(['decrypt', `--with-session-key=${out('v2.sk')}`], { stdin: v2.stdout }),
      sop(['decrypt', '--with-session-key=@ENV:SK'], { stdin: v1.stdout, env: { SK: `9:${'00'.repeat(32)}` } }),
    ]);
    expect(again.map((result) => [result.status, result.text])).toEqual([
      [0, message],
      [0, message],
      [29, ''],
    ]);
  });

  it('encrypt --session-key-out reports the session key, which decrypts (SEIPDv1 and v2) and equals decrypt\'s', async () => {
    const [v1, v2] = await Promise.all([
      sop(['encrypt', `--session-key-out=${out('enc-v1.sk')}`, fixture('alice', 'pub')], { stdin: message }),
      sop(['encrypt', `--session-key-out=${out('enc-v2.sk')}`, fixture('erin', 'pub')], { stdin: message }),
    ]);
    expect([v1.status, v2.status]).toEqual([0, 0]);
    for (const [name, encrypted, key] of [['v1', v1, 'alice'], ['v2', v2, 'erin']] as const) {
      const sessionKey = readFileSync(out(`enc-${name}.sk`), 'utf8');
      expect(sessionKey).toMatch(/^9:[0-9A-F]{64}\n$/);
      const [withSessionKey, withKey] = await Promise.all([
        sop(['decrypt', `--with-session-key=${out(`enc-${name}.sk`)}`], { stdin: encrypted.stdout }),
        sop(['decrypt', `--session-key-out=${out(`dec-${name}.sk`)}`, fixture(key, 'unprotected')], { stdin: encrypted.stdout }),
      ]);
      expect([withSessionKey.status, withSessionKey.text]).toEqual([0, message]);
      expect(withKey.status).toBe(0);
      expect(readFileSync(out(`dec-${name}.sk`), 'utf8')).toBe(sessionKey);
    }
    const exists = await sop(['encrypt', `--session-key-out=${out('enc-v1.sk')}`, fixture('alice', 'pub')], { stdin: message });
    expect([exists.status, exists.text]).toEqual([59, '']);
  });

  it('decrypt tries every --with-session-key, not only the first; all wrong is one error (29)', async () => {
    const encrypted = await sop(['encrypt', `--session-key-out=${out('many.sk')}`, fixture('alice', 'pub')], { stdin: message });
    const right = readFileSync(out('many.sk'), 'utf8');
    const wrong = [`9:${'00'.repeat(32)}`, `9:${'11'.repeat(32)}`, `7:${'22'.repeat(16)}`];
    const env = { W0: wrong[0]!, W1: wrong[1]!, W2: wrong[2]!, R: right };
    const [lastRight, allWrong] = await Promise.all([
      sop(['decrypt', '--with-session-key=@ENV:W0', '--with-session-key=@ENV:W2', '--with-session-key=@ENV:W1', '--with-session-key=@ENV:R'], { stdin: encrypted.stdout, env }),
      sop(['decrypt', '--with-session-key=@ENV:W0', '--with-session-key=@ENV:W1', '--with-session-key=@ENV:W2'], { stdin: encrypted.stdout, env }),
    ]);
    expect([lastRight.status, lastRight.text]).toEqual([0, message]);
    expect([allWrong.status, allWrong.text]).toEqual([29, '']);
  });

  it('streams a 5 MB binary message through encrypt and decrypt unchanged', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const encrypted = await sop(['encrypt', '--no-armor', fixture('alice', 'pub')], { stdin: data });
    expect(encrypted.status).toBe(0);
    const decrypted = await sop(['decrypt', fixture('alice', 'unprotected')], { stdin: encrypted.stdout });
    expect(decrypted.status).toBe(0);
    expect(decrypted.stdout.equals(data)).toBe(true);
  });
});

describe('failures of encrypt / decrypt', () => {
  it('encrypt: 19 without recipients, 17 for expired / revoked / signing-only certificates, 41 for garbage, 79 for an expired signer', async () => {
    const results = await Promise.all([
      sop(['encrypt'], { stdin: message }),
      sop(['encrypt', fixture('expired', 'pub')], { stdin: message }),
      sop(['encrypt', fixture('revoked', 'pub')], { stdin: message }),
      sop(['encrypt', fixture('signing-only', 'pub')], { stdin: message }),
      sop(['encrypt', file('garbage.cert', 'no certificate here')], { stdin: message }),
      sop(['encrypt', `--sign-with=${fixture('expired', 'sec')}`, fixture('alice', 'pub')], { stdin: message }),
      sop(['encrypt', '--profile=rfc4880-only', fixture('alice', 'pub')], { stdin: message }),
    ]);
    expect(results.map((result) => result.status)).toEqual([19, 17, 17, 17, 41, 79, 89]);
    for (const result of results) expect(result.text).toBe('');
  });

  it('decrypt: 19 without keys, 29 for the wrong key, 67 for a locked key, 41 for garbage, 23 / 59 for bad verification output', async () => {
    const encrypted = (await sop(['encrypt', fixture('alice', 'pub')], { stdin: message })).stdout;
    const existing = file('exists.verifications', 'keep');
    const results = await Promise.all([
      sop(['decrypt'], { stdin: encrypted }),
      sop(['decrypt', fixture('bob', 'unprotected')], { stdin: encrypted }),
      sop(['decrypt', fixture('alice', 'sec')], { stdin: encrypted }),
      sop(['decrypt', fixture('alice', 'unprotected')], { stdin: 'this is not OpenPGP data' }),
      sop(['decrypt', `--verify-with=${fixture('alice', 'pub')}`, fixture('alice', 'unprotected')], { stdin: encrypted }),
      sop(['decrypt', `--verifications-out=${existing}`, `--verify-with=${fixture('alice', 'pub')}`, fixture('alice', 'unprotected')], { stdin: encrypted }),
    ]);
    expect(results.map((result) => result.status)).toEqual([19, 29, 67, 41, 23, 59]);
    for (const result of results) expect(result.text).toBe('');
    expect(readFileSync(existing, 'utf8')).toBe('keep');
  });

  it('decrypt releases no plaintext of a modified message (29)', async () => {
    const encrypted = (await sop(['encrypt', '--no-armor', fixture('alice', 'pub')], { stdin: message.repeat(200) })).stdout;
    const tampered = Buffer.from(encrypted);
    tampered[tampered.length - 30]! ^= 0x01;
    const result = await sop(['decrypt', fixture('alice', 'unprotected')], { stdin: tampered });
    expect(result.status).toBe(29);
    expect(result.text).toBe('');
  });
});

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'sigill sop decrypt of GnuPG password messages', () => {
  it('tries every --with-password: gpg --symmetric derives the session key from the password itself (RFC 9580 §5.3)', async () => {
    const home = temporaryDirectory('gnupg-symmetric');
    try {
      // A v4 SKESK without an encrypted session key: any password gives *a* key; only the MDC tells.
      const encrypted = execFileSync('gpg', ['--homedir', home.path, '--batch', '--pinentry-mode', 'loopback', '--passphrase', 'right one', '--symmetric', '--output', '-'], { input: message });
      const [wrongFirst, onlyWrong] = await Promise.all([
        sop(['decrypt', '--with-password=@ENV:W', '--with-password=@ENV:R'], { stdin: encrypted, env: { W: 'wrong one', R: 'right one' } }),
        sop(['decrypt', '--with-password=@ENV:W', '--with-password=@ENV:X'], { stdin: encrypted, env: { W: 'wrong one', X: 'another wrong one' } }),
      ]);
      expect([wrongFirst.status, wrongFirst.text]).toEqual([0, message]);
      expect([onlyWrong.status, onlyWrong.text]).toEqual([29, '']);
    } finally {
      home.remove();
    }
  });
});
