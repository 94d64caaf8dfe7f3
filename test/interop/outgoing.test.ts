// What Sigill's send transform produces, read by GnuPG and by `sigill sop`: the armored body and each
// name.ext.asc attachment decrypt byte-identical with a good signature by the sender; Bcc recipients
// (anonymous PKESKs) decrypt too; sign-only bodies and .sig files verify.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixtureAddress, fixturePath, loadCertificate, loadSecretKey, type FixtureName } from '../../keys-fixtures/index.ts';
import { planOutgoing, readAll, transformOutgoing, type OutgoingKeySource, type TransformResult } from '../../src/core/index.ts';
import { ok, parseGpgStatus, parseVerifications, run, runSop, sigillSop, tempDir, type TempDir } from '../support/sop.ts';
import { describeWithTools } from '../support/tools.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;
const binary = randomBytes(2 * 1024 * 1024 + 17);
const textFile = Buffer.from(`Ärende: ${canary}\r\nline two\n`, 'utf8');

async function keySource(): Promise<OutgoingKeySource> {
  const accepted = async (name: FixtureName) => ({ state: 'accepted' as const, keys: [await loadCertificate(name)] });
  const table = new Map([
    ['bob@sigill.test', await accepted('bob')],
    ['carol@sigill.test', await accepted('carol')],
  ]);
  const alice = { certificate: await loadCertificate('alice'), secretKey: await loadSecretKey('alice', { unlocked: true }) };
  return {
    recipient: async (address) => table.get(address) ?? { state: 'missing', keys: [] },
    sender: async (address) => (address === fixtureAddress('alice') ? alice : undefined),
  };
}

async function transform(options: { encrypt: boolean; sign: boolean }): Promise<{ body: string; files: { name: string; data: Buffer }[] }> {
  const plan = await planOutgoing({ from: 'Alice <alice@sigill.test>', to: ['bob@sigill.test'], bcc: ['carol@sigill.test'], keys: await keySource(), ...options });
  const result: TransformResult = await transformOutgoing({
    plan,
    body: `Dear Bob,\n${canary}\n-- \nAlice\n`,
    attachments: [
      { name: 'random.bin', data: () => binary },
      { name: 'notes.txt', data: () => textFile },
    ],
  });
  const files = [];
  for (const attachment of result.attachments) files.push({ name: attachment.name, data: Buffer.from(await readAll(await attachment.open())) });
  return { body: result.body, files };
}

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'interop: the send transform, read by gpg and sigill sop', () => {
  let scratch: TempDir;
  let encrypted: Awaited<ReturnType<typeof transform>>;
  const aliceFingerprint = async () => (await loadCertificate('alice')).getFingerprint().toUpperCase();

  async function gpg(home: string, args: string[], stdin?: Buffer | string) {
    return run('gpg', ['--homedir', home, '--batch', '--no-tty', '--status-fd', '3', ...args], { stdin, captureFd3: true });
  }

  async function gpgHome(name: string, secret: FixtureName): Promise<string> {
    const home = `${scratch.path}/${name}`;
    await run('mkdir', ['-m', '700', home]);
    ok(await gpg(home, ['--import', fixturePath(secret, 'unprotected'), fixturePath('alice', 'pub')]));
    return home;
  }

  beforeAll(async () => {
    scratch = await tempDir('sigill-outgoing-');
    encrypted = await transform({ encrypt: true, sign: true });
  });
  afterAll(async () => {
    await scratch?.dispose();
  });

  it('gpg (bob) decrypts the body and every attachment byte-identical, with a valid signature by alice', async () => {
    const home = await gpgHome('bob', 'bob');
    const body = await gpg(home, ['--decrypt'], encrypted.body);
    expect(body.code, body.stderr).toBe(0);
    expect(body.stdout.toString('utf8').replace(/\r\n/g, '\n')).toBe(`Dear Bob,\n${canary}\n-- \nAlice\n`);
    expect(parseGpgStatus(body.fd3).validSigs.map((sig) => sig.primaryFingerprint)).toEqual([await aliceFingerprint()]);
    const expected = [binary, textFile];
    for (const [index, file] of encrypted.files.entries()) {
      const path = await scratch.file(file.name, file.data);
      const out = `${scratch.path}/out-${index}`;
      const result = await gpg(home, ['--output', out, '--decrypt', path]);
      expect(result.code, result.stderr).toBe(0);
      const status = parseGpgStatus(result.fd3);
      expect(status.validSigs.map((sig) => sig.primaryFingerprint)).toEqual([await aliceFingerprint()]);
      // the literal data packet carries the original name (gpg reports it as PLAINTEXT ... <name>)
      expect(status.lines.find((line) => line.includes(' PLAINTEXT '))).toContain(file.name.replace(/\.asc$/, ''));
      const { readFile } = await import('node:fs/promises');
      expect((await readFile(out)).equals(expected[index] ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it('gpg (carol, Bcc) decrypts through the anonymous recipient', async () => {
    const home = await gpgHome('carol', 'carol');
    const result = await gpg(home, ['--decrypt'], encrypted.body);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.toString('utf8')).toContain(canary);
  });

  it('sigill sop (bob) decrypts and verifies the body', async () => {
    const key = fixturePath('bob', 'unprotected');
    const cert = fixturePath('alice', 'pub');
    const out = `${scratch.path}/verifications-sop`;
    const result = ok(await runSop(sigillSop, ['decrypt', '--verifications-out', out, '--verify-with', cert, key], { stdin: encrypted.body }));
    expect(result.stdout.toString('utf8')).toContain(canary);
    const { readFile } = await import('node:fs/promises');
    expect(parseVerifications(await readFile(out, 'utf8')).map((line) => line.primaryFingerprint)).toEqual([await aliceFingerprint()]);
  });

  it('gpg verifies the sign-only body and each detached .sig', async () => {
    const home = await gpgHome('verifier', 'bob');
    const signed = await transform({ encrypt: false, sign: true });
    const body = await gpg(home, ['--verify'], signed.body);
    expect(body.code, body.stderr).toBe(0);
    expect(parseGpgStatus(body.fd3).validSigs.map((sig) => sig.primaryFingerprint)).toEqual([await aliceFingerprint()]);
    const originals = [binary, textFile];
    for (const [index, file] of signed.files.entries()) {
      const signature = await scratch.file(file.name, file.data);
      const data = await scratch.file(`signed-${index}`, originals[index] ?? Buffer.alloc(0));
      const result = await gpg(home, ['--verify', signature, data]);
      expect(result.code, result.stderr).toBe(0);
      expect(parseGpgStatus(result.fd3).keywords.has('GOODSIG')).toBe(true);
    }
  });
  it('a sign-only body with long lines, "From " lines and leading spaces is one format=flowed leaves alone, and gpg verifies it', async () => {
    const home = await gpgHome('flowed', 'bob');
    const long = 'This sentence is deliberately much longer than the seventy-two columns a plain-text composer wraps at, so it would be soft-broken.';
    const plan = await planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], keys: await keySource(), encrypt: false, sign: true });
    const { body } = await transformOutgoing({ plan, body: `Hi Bob,\r\n${long}\r\nFrom the garden, with love\r\n  indented line   \r\n-- \r\nAlice\r\n` });
    // What RFC 3676 would change: lines over 72 columns with a space, trailing spaces, lines to space-stuff.
    const lines = body.split(/\r?\n/);
    expect(lines.filter((line) => (line.length > 72 && line.includes(' ')) || / $/.test(line) || line.startsWith('From ') || line.startsWith(' '))).toEqual([]);
    expect(lines).toContain('- From the garden, with love');
    const result = await gpg(home, ['--decrypt'], body);
    expect(result.code, result.stderr).toBe(0);
    expect(parseGpgStatus(result.fd3).validSigs.map((sig) => sig.primaryFingerprint)).toEqual([await aliceFingerprint()]);
    const text = result.stdout.toString('utf8').replace(/\r\n/g, '\n');
    expect(text).toContain('From the garden, with love\n  indented line\n');
    expect(text.replace(/\n/g, ' ')).toContain(long);
  });
});
