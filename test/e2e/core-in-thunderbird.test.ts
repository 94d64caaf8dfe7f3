// Scenario: the core decrypts and verifies real messages INSIDE Thunderbird's extension realm, and signs
// and encrypts messages there that other implementations read back, through
// the test-only core probe (built by vite from the same src/core/index.ts and extension/platform/ as
// Sigill's background, for the same target). The messages are made at test time from the persona
// fixtures by other implementations' command lines: GnuPG 2.2 (SEIPDv1, signed, v4 keys) and
// `sigill sop` in Node (SEIPDv2, signed, erin's v6 key; no packaged tool here writes v6 yet).
// Times measured inside Thunderbird are printed, never asserted.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase, fixturePath, loadCertificate, readFixture, type Persona } from '../../keys-fixtures/index.ts';
import { armor, readAll } from '../../src/core/index.ts';
import { createGpgHome, ok, parseVerifications, runSop, sigillSop, type GpgHome } from '../support/sop.ts';
import { tempDir, type TempDir } from '../support/temp.ts';
import { describeWithTools } from '../support/tools.ts';
import type { DecryptProbeRequest, ProbePlatform, ProbeRequest, ProbeResponse, ProbeResults } from './core-probe/protocol.ts';
import { e2eTools, World, type Client } from './harness/index.ts';

const canary = `secret-canary-${randomBytes(8).toString('hex')}`;
const smallText = `Hello from the core in Thunderbird.\nåäö ✓ ${canary}\n`;
/** 1 MiB of text for the timing figures (compressible like mail, unlike random bytes). */
const largeText = Array.from({ length: 16_384 }, (_, line) => `${String(line).padStart(6, '0')} ${canary} ${'x'.repeat(24)}\n`).join('');

interface Fixture {
  label: string;
  message: string;
  recipient: Persona;
  signer: Persona;
  plaintext: string;
}

/** The SEIPD packet version of a message (1: RFC 9580 §5.13.1, CFB + MDC; 2: §5.13.2, AEAD). */
async function seipdVersion(armored: string): Promise<number | undefined> {
  const message = await openpgp.readMessage({ armoredMessage: armored });
  // `version` is public on the packet object but not in OpenPGP.js's typings.
  const packet = message.packets.findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { version?: number } | undefined;
  return packet?.version;
}

async function gpgSignEncrypt(gpg: GpgHome, text: string, options: { armor: boolean }): Promise<Buffer> {
  const result = ok(
    await gpg.gpg(
      ['--passphrase', fixturePassphrase('alice'), '--local-user', 'alice@sigill.test', '--recipient', 'bob@sigill.test', ...(options.armor ? ['--armor'] : []), '--sign', '--encrypt'],
      { stdin: text },
    ),
  );
  return result.stdout;
}

async function sopSignEncrypt(dir: TempDir, text: string): Promise<string> {
  const signer = await dir.file('erin.sec.asc', readFixture('erin', 'unprotected'));
  const result = ok(await runSop(sigillSop, ['encrypt', '--sign-with', signer, fixturePath('erin', 'pub')], { stdin: text }));
  return result.stdout.toString('utf8');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The driver's `probe` command, typed by the request's kind. */
function probe<K extends ProbeRequest['kind']>(client: Client, request: Extract<ProbeRequest, { kind: K }>): Promise<ProbeResponse<K>> {
  return client.call('probe', request, 180_000) as Promise<ProbeResponse<K>>;
}

async function probeDecrypt(client: Client, fixture: Fixture, returnPlaintext: boolean, platform?: ProbePlatform): Promise<ProbeResponse<'decrypt'>> {
  const request: DecryptProbeRequest = {
    kind: 'decrypt',
    ...(platform === undefined ? {} : { platform }),
    message: fixture.message,
    secretKey: readFixture(fixture.recipient, 'sec'),
    passphrase: fixturePassphrase(fixture.recipient),
    verificationKeys: [readFixture(fixture.signer, 'pub')],
    returnPlaintext,
  };
  return probe(client, request);
}

function expectOk<K extends ProbeRequest['kind']>(response: ProbeResponse<K>): ProbeResults[K] {
  if (!response.ok) throw new Error(`the probe failed: ${response.code ?? 'no code'}: ${response.message}`);
  return response.result;
}

function report(label: string, fixture: Fixture, result: ProbeResults['decrypt']): void {
  const size = `${(fixture.message.length / 1024).toFixed(0)} KiB armored`;
  console.log(`core in Thunderbird: ${label} (${size}): key unlock ${result.unlockMs.toFixed(0)} ms, decrypt + verify ${result.decryptMs.toFixed(0)} ms`);
}

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]), 'e2e: the core inside Thunderbird', () => {
  let world: World | undefined;
  let alice: Client;
  let gpg: GpgHome | undefined;
  let dir: TempDir | undefined;
  const fixtures: Record<'seipdV1' | 'seipdV2' | 'largeV1' | 'largeV2' | 'tamperedV1', Fixture> = {} as never;

  beforeAll(async () => {
    gpg = await createGpgHome();
    dir = await tempDir('sigill-core-probe-');
    const passphraseFile = await dir.file('alice.pass', fixturePassphrase('alice'));
    ok(await gpg.importKey(fixturePath('alice', 'sec'), passphraseFile));
    ok(await gpg.importKey(fixturePath('bob', 'sec'), await dir.file('bob.pass', fixturePassphrase('bob'))));
    const fromGpg = { recipient: 'bob', signer: 'alice' } as const;
    const fromSop = { recipient: 'erin', signer: 'erin' } as const;
    fixtures.seipdV1 = { label: 'gpg SEIPDv1', ...fromGpg, plaintext: smallText, message: (await gpgSignEncrypt(gpg, smallText, { armor: true })).toString() };
    fixtures.largeV1 = { label: 'gpg SEIPDv1 1 MiB', ...fromGpg, plaintext: largeText, message: (await gpgSignEncrypt(gpg, largeText, { armor: true })).toString() };
    fixtures.seipdV2 = { label: 'v6 SEIPDv2', ...fromSop, plaintext: smallText, message: await sopSignEncrypt(dir, smallText) };
    fixtures.largeV2 = { label: 'v6 SEIPDv2 1 MiB', ...fromSop, plaintext: largeText, message: await sopSignEncrypt(dir, largeText) };
    // One ciphertext octet changed near the end (inside the encrypted data, before the MDC).
    const binary = await gpgSignEncrypt(gpg, smallText, { armor: false });
    binary[binary.length - 30] = (binary[binary.length - 30] ?? 0) ^ 0x01;
    const tampered = new TextDecoder().decode(await readAll(armor(new Uint8Array(binary), 'message')));
    fixtures.tamperedV1 = { label: 'gpg SEIPDv1, one octet changed', ...fromGpg, plaintext: smallText, message: tampered };

    world = await World.start('core-in-thunderbird', { relay: false });
    alice = await world.launch('alice', { coreProbe: true });
  });

  afterAll(async () => {
    await world?.stop();
    await gpg?.dispose();
    await dir?.dispose();
  });

  it('the fixtures are what they claim: SEIPDv1 with AES from gpg, SEIPDv2 from the v6 key', async () => {
    if (!gpg) throw new Error('no gpg home');
    expect(await seipdVersion(fixtures.seipdV1.message)).toBe(1);
    // DECRYPTION_INFO <mdc method> <cipher>: AES-128/192/256 are 7/8/9 (RFC 9580 §9.3), the ciphers the
    // core decrypts as a stream in Thunderbird with the extension platform's AES-CFB (extension/platform/cfb.ts).
    const decrypted = ok(await gpg.gpg(['--passphrase', fixturePassphrase('bob'), '--decrypt'], { stdin: fixtures.seipdV1.message }));
    const info = decrypted.status.lines.find((line) => line.startsWith('[GNUPG:] DECRYPTION_INFO '))?.split(' ');
    expect(['7', '8', '9']).toContain(info?.[3]);
    expect(await seipdVersion(fixtures.largeV1.message)).toBe(1);
    expect(await seipdVersion(fixtures.seipdV2.message)).toBe(2);
    expect(await seipdVersion(fixtures.largeV2.message)).toBe(2);
    expect((await loadCertificate('erin')).keyPacket.version).toBe(6);
  });

  it("decrypts a gpg SEIPDv1 message and verifies alice's signature", async () => {
    const alicePrimary = (await loadCertificate('alice')).getFingerprint().toUpperCase();
    const result = expectOk(await probeDecrypt(alice, fixtures.seipdV1, true));
    report('gpg SEIPDv1, signed', fixtures.seipdV1, result);
    expect(result.plaintext).toBe(smallText);
    expect(result.plaintextSha256).toBe(sha256(smallText));
    expect(result.verifications).toEqual([expect.objectContaining({ status: 'good', certificateFingerprint: alicePrimary })]);
  });

  it("decrypts a v6 SEIPDv2 message and verifies erin's signature", async () => {
    const erinPrimary = (await loadCertificate('erin')).getFingerprint().toUpperCase();
    const result = expectOk(await probeDecrypt(alice, fixtures.seipdV2, true));
    report('v6 SEIPDv2, signed', fixtures.seipdV2, result);
    expect(result.plaintext).toBe(smallText);
    expect(result.verifications).toEqual([expect.objectContaining({ status: 'good', certificateFingerprint: erinPrimary, userID: 'Erin <erin@sigill.test>' })]);
  });

  it('decrypts 1 MiB in each format (times printed)', async () => {
    for (const fixture of [fixtures.largeV1, fixtures.largeV2]) {
      const result = expectOk(await probeDecrypt(alice, fixture, false));
      report(fixture.label, fixture, result);
      expect(result.plaintextLength).toBe(largeText.length);
      expect(result.plaintextSha256).toBe(sha256(largeText));
      expect(result.verifications.map((verification) => verification.status)).toEqual(['good']);
    }
  });

  it("Sigill's WebAssembly AES-CFB (OpenSSL's C code) gives exactly what OpenSSL gives in Node, inside Thunderbird", async () => {
    const algorithms = [
      { algorithm: 'aes128', openssl: 'aes-128-cfb', keySize: 16 },
      { algorithm: 'aes192', openssl: 'aes-192-cfb', keySize: 24 },
      { algorithm: 'aes256', openssl: 'aes-256-cfb', keySize: 32 },
    ] as const;
    for (const { algorithm, openssl, keySize } of algorithms) {
      const key = randomBytes(keySize);
      const iv = randomBytes(16);
      const data = randomBytes(200_003);
      const pieces = [1, 15, 16, 17, 4095, 65_537, 100_000];
      const expected = createCipheriv(openssl, key, iv).update(data).toString('hex');
      const request = { kind: 'aes-cfb', algorithm, keyHex: key.toString('hex'), ivHex: iv.toString('hex'), pieces } as const;
      const encrypted = expectOk(await probe(alice, { ...request, dataHex: data.toString('hex'), encrypt: true }));
      expect(encrypted.outputHex === expected, `${algorithm} encryption`).toBe(true);
      const decrypted = expectOk(await probe(alice, { ...request, dataHex: expected, encrypt: false }));
      expect(decrypted.outputHex === data.toString('hex'), `${algorithm} decryption`).toBe(true);
    }
  });

  it("Sigill's compiled primitives (WebAssembly AES-CFB and hashes, native base64) give what the JavaScript defaults give", async () => {
    for (const fixture of [fixtures.largeV1, fixtures.largeV2]) {
      const compiled = expectOk(await probeDecrypt(alice, fixture, false, 'compiled'));
      const javascript = expectOk(await probeDecrypt(alice, fixture, false, 'pure-js'));
      console.log(`core in Thunderbird: ${fixture.label}: compiled primitives ${compiled.decryptMs.toFixed(0)} ms, JavaScript defaults ${javascript.decryptMs.toFixed(0)} ms`);
      expect(compiled.plaintextSha256).toBe(sha256(largeText));
      expect(javascript.plaintextSha256).toBe(compiled.plaintextSha256);
      expect(javascript.verifications).toEqual(compiled.verifications);
    }
    const tampered = await probeDecrypt(alice, fixtures.tamperedV1, true, 'pure-js');
    expect(tampered).toMatchObject({ ok: false, code: 'INTEGRITY_FAILURE' });
  });

  it('refuses a SEIPDv1 message with one octet changed (INTEGRITY_FAILURE) and releases nothing', async () => {
    const response = await probeDecrypt(alice, fixtures.tamperedV1, true);
    expect(response).toMatchObject({ ok: false, code: 'INTEGRITY_FAILURE' });
    expect(JSON.stringify(response)).not.toContain(canary);
  });

  it('signs and encrypts inside Thunderbird (v4) so that gpg decrypts it and verifies alice', async () => {
    if (!gpg) throw new Error('no gpg home');
    const response = await probe(alice, {
      kind: 'encrypt',
      plaintext: smallText,
      recipients: [readFixture('bob', 'pub')],
      signingKey: readFixture('alice', 'sec'),
      passphrase: fixturePassphrase('alice'),
    });
    const { message, encryptMs } = expectOk(response);
    console.log(`core in Thunderbird: sign + encrypt to bob (v4) ${encryptMs.toFixed(0)} ms`);
    expect(message).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const decrypted = ok(await gpg.gpg(['--passphrase', fixturePassphrase('bob'), '--decrypt'], { stdin: message }));
    expect(decrypted.stdout.toString('utf8')).toBe(smallText);
    const alicePrimary = (await loadCertificate('alice')).getFingerprint().toUpperCase();
    expect(decrypted.status.keywords).toContain('GOODSIG');
    expect(decrypted.status.validSigs.map((signature) => signature.primaryFingerprint)).toEqual([alicePrimary]);
  });

  it('signs and encrypts inside Thunderbird (v6) so that sigill sop in Node decrypts it and verifies erin', async () => {
    if (!dir) throw new Error('no scratch directory');
    const response = await probe(alice, {
      kind: 'encrypt',
      plaintext: smallText,
      recipients: [readFixture('erin', 'pub')],
      signingKey: readFixture('erin', 'sec'),
      passphrase: fixturePassphrase('erin'),
    });
    const { message } = expectOk(response);
    expect(await seipdVersion(message)).toBe(2);
    const key = await dir.file('erin-decrypt.sec.asc', readFixture('erin', 'unprotected'));
    const verificationsFile = join(dir.path, 'verifications.txt');
    const decrypted = ok(await runSop(sigillSop, ['decrypt', '--verifications-out', verificationsFile, '--verify-with', fixturePath('erin', 'pub'), key], { stdin: message }));
    expect(decrypted.stdout.toString('utf8')).toBe(smallText);
    const erinPrimary = (await loadCertificate('erin')).getFingerprint().toUpperCase();
    expect(parseVerifications(await readFile(verificationsFile, 'utf8')).map((line) => line.primaryFingerprint)).toEqual([erinPrimary]);
  });

  it('leaves nothing running', async () => {
    expect(await world?.stop()).toEqual([]);
  });
});
