/**
 * `sigill sop`: version, list-profiles, argument parsing, special designators, armor / dearmor and the
 * exit codes of usage errors (draft-dkg-openpgp-stateless-cli).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePassphrase } from '../../../keys-fixtures/index.ts';
import { fixture, sop, temporaryDirectory } from '../../support/sop.ts';

const directory = temporaryDirectory('cli');
afterAll(() => directory.remove());
const message = 'Hello, sealed world.\n';

describe('sigill sop version', () => {
  it('prints the name and version, and --backend, --extended, --sop-spec, --sopv', async () => {
    const [plain, backend, extended, spec, sopv] = await Promise.all([
      sop(['version']),
      sop(['version', '--backend']),
      sop(['version', '--extended']),
      sop(['version', '--sop-spec']),
      sop(['version', '--sopv']),
    ]);
    expect(plain.status).toBe(0);
    expect(plain.text).toMatch(/^sigill \d+\.\d+\.\d+\n$/);
    expect(backend.text).toMatch(/^OpenPGP\.js 6\./);
    expect(extended.text.split('\n')[0]).toBe(plain.text.trim());
    expect(extended.text.split('\n').length).toBeGreaterThan(2);
    // Section "version": `~` marks partial compliance with the named draft.
    expect(spec.text.split('\n')[0]).toMatch(/^~?draft-dkg-openpgp-stateless-cli-\d+$/);
    expect(sopv.text).toBe('1.0\n');
  });

  it('refuses two of its flags together (83)', async () => {
    const result = await sop(['version', '--backend', '--extended']);
    expect(result.status).toBe(83);
    expect(result.stderr).toMatch(/^sigill sop: .*\n$/);
  });
});

describe('sigill sop list-profiles', () => {
  it('lists the generate-key profiles, the default first, and the encrypt profile', async () => {
    const [generate, encrypt] = await Promise.all([sop(['list-profiles', 'generate-key']), sop(['list-profiles', 'encrypt'])]);
    expect(generate.status).toBe(0);
    const names = generate.text.trim().split('\n').map((line) => line.split(':')[0]);
    expect(names).toEqual(['default', 'rsa3072', 'rsa4096', 'rfc9580']);
    expect(generate.text).toContain('(aliases: rfc4880)');
    expect(encrypt.text).toMatch(/^default: /);
  });

  it('fails with UNSUPPORTED_PROFILE (89) for a subcommand without profiles, MISSING_ARG (19) without one', async () => {
    const [sign, none] = await Promise.all([sop(['list-profiles', 'sign']), sop(['list-profiles'])]);
    expect(sign.status).toBe(89);
    expect(none.status).toBe(19);
  });
});

describe('usage errors', () => {
  it('maps each to its exit code with one line on stderr', async () => {
    const results = await Promise.all([
      sop(['frobnicate']), // UNSUPPORTED_SUBCOMMAND
      sop(['armor', '--frobnicate']), // UNSUPPORTED_OPTION
      sop(['sign', '--as=poetry', fixture('alice', 'unprotected')]), // UNSUPPORTED_OPTION (unknown --as)
      sop(['generate-key', '--profile=quantum', 'X <x@sigill.test>']), // UNSUPPORTED_PROFILE
      sop(['sign']), // MISSING_ARG: no KEYS
      sop(['decrypt', '--with-password']), // MISSING_ARG: option without its value
      sop(['inline-sign', '--as=clearsigned', '--no-armor', fixture('alice', 'unprotected')]), // INCOMPATIBLE_OPTIONS
    ]);
    expect(results.map((result) => result.status)).toEqual([69, 37, 37, 89, 19, 19, 83]);
    for (const result of results) expect(result.stderr).toMatch(/^sigill sop: [^\n]+\n$/);
  });

  it('prints usage with --help and exits 0', async () => {
    const [top, sign] = await Promise.all([sop(['--help']), sop(['sign', '--help'])]);
    expect(top.status).toBe(0);
    expect(top.text).toContain('inline-detach');
    expect(sign.status).toBe(0);
    expect(sign.text).toContain('--micalg-out');
  });
});

describe('special designators and indirect files', () => {
  it('reads a password from @ENV:, @FD: and a file, with its trailing newline stripped', async () => {
    const passwordFile = join(directory.path, 'alice.pw');
    writeFileSync(passwordFile, `${fixturePassphrase('alice')}\n`);
    const results = await Promise.all([
      sop(['sign', '--with-key-password=@ENV:SOP_PW', fixture('alice', 'sec')], { stdin: message, env: { SOP_PW: fixturePassphrase('alice') } }),
      sop(['sign', '--with-key-password=@FD:3', fixture('alice', 'sec')], { stdin: message, fd3: `${fixturePassphrase('alice')}\n` }),
      sop(['sign', `--with-key-password=${passwordFile}`, fixture('alice', 'sec')], { stdin: message }),
    ]);
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.text).toContain('-----BEGIN PGP SIGNATURE-----');
    }
  });

  it('fails with 71 for an unknown prefix, 73 when a file has the designator name, 61 for a missing file', async () => {
    writeFileSync(join(directory.path, '@ENV:SOP_PW'), 'shadowing file');
    const results = await Promise.all([
      sop(['sign', '--with-key-password=@PIPE:7', fixture('alice', 'sec')], { stdin: message }),
      sop(['sign', '--with-key-password=@ENV:SOP_PW', fixture('alice', 'sec')], { stdin: message, cwd: directory.path, env: { SOP_PW: 'x' } }),
      sop(['sign', join(directory.path, 'no-such-key.asc')], { stdin: message }),
      sop(['sign', '--with-key-password=@ENV:SIGILL_UNSET_VARIABLE', fixture('alice', 'sec')], { stdin: message }),
    ]);
    expect(results.map((result) => result.status)).toEqual([71, 73, 61, 61]);
  });

  it('never overwrites an output file (59) and refuses @ENV: as an output (71)', async () => {
    const existing = join(directory.path, 'micalg-exists');
    writeFileSync(existing, 'keep me');
    const [exists, envOut] = await Promise.all([
      sop(['sign', `--micalg-out=${existing}`, fixture('alice', 'unprotected')], { stdin: message }),
      sop(['sign', '--micalg-out=@ENV:X', fixture('alice', 'unprotected')], { stdin: message }),
    ]);
    expect(exists.status).toBe(59);
    expect(exists.text).toBe('');
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    expect(envOut.status).toBe(71);
  });

  it('writes an indirect output to @FD:', async () => {
    // fd 1 is stdout: the micalg lands there right before the signature.
    const result = await sop(['sign', '--micalg-out=@FD:1', fixture('alice', 'unprotected')], { stdin: message });
    expect(result.status).toBe(0);
    expect(result.text).toMatch(/^pgp-sha\d+-----BEGIN PGP SIGNATURE-----/);
  });
});

describe('sigill sop armor / dearmor', () => {
  it('round-trips, is idempotent on armored input, and labels from the first packet', async () => {
    const armoredCertificate = readFileSync(fixture('bob', 'pub'));
    const binary = await sop(['dearmor'], { stdin: armoredCertificate });
    expect(binary.status).toBe(0);
    expect(binary.stdout[0]! & 0x80).toBe(0x80);
    const [rearmored, again, binaryAgain] = await Promise.all([
      sop(['armor'], { stdin: binary.stdout }),
      sop(['armor'], { stdin: armoredCertificate }),
      sop(['dearmor'], { stdin: binary.stdout }),
    ]);
    expect(rearmored.text).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(again.stdout.equals(armoredCertificate)).toBe(true);
    expect(binaryAgain.stdout.equals(binary.stdout)).toBe(true);
    const rebinary = await sop(['dearmor'], { stdin: rearmored.stdout });
    expect(rebinary.stdout.equals(binary.stdout)).toBe(true);
  });

  it('fails with BAD_DATA (41) on broken armor', async () => {
    const result = await sop(['dearmor'], { stdin: '-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESS\n' });
    expect(result.status).toBe(41);
  });

  // Text, random bytes (starting with and without the high bit a packet header has) and bytes that
  // start like a packet header but end inside the "packet": none is OpenPGP, none is wrapped or echoed.
  const notOpenpgp: Array<[string, Buffer]> = [
    ['plain text', Buffer.from('Just some text, no armor here.\n')],
    ['random bytes (no high bit first)', Buffer.concat([Buffer.from([0x26]), seededBytes(4000, 1)])],
    ['random bytes (a packet tag first)', Buffer.concat([Buffer.from([0xcb, 0xff, 0x00, 0x00, 0x10, 0x00]), seededBytes(300, 2)])],
    ['a tag-0 packet header', Buffer.from([0x80, 0x03, 1, 2, 3])],
  ];
  for (const [what, input] of notOpenpgp) {
    it(`armor and dearmor refuse ${what} with BAD_DATA (41), saying it is not OpenPGP`, async () => {
      for (const command of ['armor', 'dearmor']) {
        const result = await sop([command], { stdin: input });
        expect(result.status, `${command}: ${result.stderr}`).toBe(41);
        expect(result.stderr).toMatch(/not OpenPGP data/);
        if (what !== 'random bytes (a packet tag first)') expect(result.stdout.length, command).toBe(0);
      }
    });
  }

  it('armor keeps accepting packets with a legacy indeterminate length (GnuPG writes compressed data so)', async () => {
    // Old-format compressed data packet (tag 8, length type 3), ZIP, as `gpg --store -z 6` writes it.
    const compressed = Buffer.concat([Buffer.from([0xa3, 0x01]), seededBytes(100, 3)]);
    const armored = await sop(['armor'], { stdin: compressed });
    expect(armored.status, armored.stderr).toBe(0);
    expect((await sop(['dearmor'], { stdin: armored.stdout })).stdout.equals(compressed)).toBe(true);
  });
});

describe('sigill sop decrypt on input that is not OpenPGP', () => {
  it('says the input is not OpenPGP data (41), not that the armor is malformed', async () => {
    const password = join(directory.path, 'password-not-openpgp');
    writeFileSync(password, 'password');
    for (const input of [seededBytes(1000, 4), Buffer.from([0x26, ...seededBytes(1000, 5)]), Buffer.from('hello world, just text\n')]) {
      const result = await sop(['decrypt', `--with-password=${password}`], { stdin: input });
      expect(result.status, result.stderr).toBe(41);
      expect(result.stderr).toMatch(/not OpenPGP data/);
      expect(result.stderr).not.toMatch(/armor is malformed/);
    }
  });
});

/** Deterministic pseudo-random bytes (an LCG), so a failure reproduces. */
function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}
