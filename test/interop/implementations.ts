/**
 * One interface over the OpenPGP implementations the interop suites drive: SOP binaries (sigill sop,
 * sqop, gosop, pgpainless-cli — each with the dialect of the draft version it speaks) and GnuPG's own CLI.
 * Every operation throws CommandFailed (exact command line + stderr) when the tool fails.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyFromArmor, kindOf, type InteropKey } from './keys.ts';
import {
  CommandFailed,
  createGpgHome,
  ok,
  parseVerifications,
  runSop,
  sigillSop,
  type GpgHome,
  type GpgResult,
  type SopBinary,
  type TempDir,
  type Verification,
} from '../support/sop.ts';

export type DataMode = 'binary' | 'text';
export type InlineMode = 'binary' | 'text' | 'clearsigned';

export interface Verified {
  data: Buffer;
  verifications: Verification[];
}

export interface Implementation {
  readonly name: string;
  encrypt(data: Buffer, mode: DataMode, recipients: InteropKey[], signer?: InteropKey): Promise<Buffer>;
  decrypt(ciphertext: Buffer, key: InteropKey, verifyWith: InteropKey[]): Promise<Verified>;
  sign(data: Buffer, mode: DataMode, signer: InteropKey): Promise<Buffer>;
  verify(data: Buffer, signature: Buffer, certs: InteropKey[]): Promise<Verification[]>;
  inlineSign(data: Buffer, mode: InlineMode, signer: InteropKey): Promise<Buffer>;
  inlineVerify(message: Buffer, certs: InteropKey[]): Promise<Verified>;
  /** Keys made by this implementation's own key generation (read by sigill in the suites). */
  generateKeys(): Promise<InteropKey[]>;
  dispose(): Promise<void>;
}

/** Where SOP implementations differ (older drafts). */
export interface SopDialect {
  /** `--with-key-password` exists; otherwise the unlocked copies of secret keys are passed. */
  keyPassword: boolean;
  /** Name of decrypt's verification output option (`--verify-out` before draft 06). */
  decryptVerificationsOut: '--verifications-out' | '--verify-out';
}

export const modernSop: SopDialect = { keyPassword: true, decryptVerificationsOut: '--verifications-out' };

let counter = 0;
const unique = (stem: string) => `${stem}-${process.pid}-${(counter += 1)}`;

export class SopImplementation implements Implementation {
  constructor(
    readonly name: string,
    private readonly binary: SopBinary,
    private readonly dialect: SopDialect,
    private readonly scratch: TempDir,
    /** Extra environment for the binary (e.g. JVM start-up options). */
    private readonly env: Record<string, string> = {},
  ) {}

  /** Secret key file + password options for one signing/decryption key. */
  private keyArgs(key: InteropKey): { path: string; options: string[] } {
    if (!this.dialect.keyPassword) return { path: key.unlockedSecretPath, options: [] };
    return { path: key.secretPath, options: key.passwordPath ? [`--with-key-password=${key.passwordPath}`] : [] };
  }

  private async sop(args: string[], stdin?: Buffer | string): Promise<Buffer> {
    return ok(await runSop(this.binary, args, { stdin, env: this.env })).stdout;
  }

  async encrypt(data: Buffer, mode: DataMode, recipients: InteropKey[], signer?: InteropKey): Promise<Buffer> {
    const signing = signer ? this.keyArgs(signer) : undefined;
    const args = ['encrypt', `--as=${mode}`];
    if (signing) args.push(`--sign-with=${signing.path}`, ...signing.options);
    return this.sop([...args, ...recipients.map((r) => r.certPath)], data);
  }

  async decrypt(ciphertext: Buffer, key: InteropKey, verifyWith: InteropKey[]): Promise<Verified> {
    const out = join(this.scratch.path, unique('verifications'));
    const { path, options } = this.keyArgs(key);
    const verify = verifyWith.length ? [`${this.dialect.decryptVerificationsOut}=${out}`, ...verifyWith.map((c) => `--verify-with=${c.certPath}`)] : [];
    const data = await this.sop(['decrypt', ...options, ...verify, path], ciphertext);
    return { data, verifications: verifyWith.length ? parseVerifications(await readFile(out, 'utf8')) : [] };
  }

  async sign(data: Buffer, mode: DataMode, signer: InteropKey): Promise<Buffer> {
    const { path, options } = this.keyArgs(signer);
    return this.sop(['sign', `--as=${mode}`, ...options, path], data);
  }

  async verify(data: Buffer, signature: Buffer, certs: InteropKey[]): Promise<Verification[]> {
    const sig = await this.scratch.file(unique('sig.asc'), signature);
    return parseVerifications((await this.sop(['verify', sig, ...certs.map((c) => c.certPath)], data)).toString('utf8'));
  }

  async inlineSign(data: Buffer, mode: InlineMode, signer: InteropKey): Promise<Buffer> {
    const { path, options } = this.keyArgs(signer);
    return this.sop(['inline-sign', `--as=${mode}`, ...options, path], data);
  }

  async inlineVerify(message: Buffer, certs: InteropKey[]): Promise<Verified> {
    const out = join(this.scratch.path, unique('verifications'));
    const data = await this.sop(['inline-verify', `--verifications-out=${out}`, ...certs.map((c) => c.certPath)], message);
    return { data, verifications: parseVerifications(await readFile(out, 'utf8')) };
  }

  async generateKeys(): Promise<InteropKey[]> {
    const name = this.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const email = `${name}@example.net`;
    const password = this.dialect.keyPassword ? `${name} made this` : undefined;
    const pwFile = password === undefined ? [] : [`--with-key-password=${await this.scratch.file(unique('pw'), password)}`];
    const secret = (await this.sop(['generate-key', ...pwFile, `${this.name} Made <${email}>`])).toString('utf8');
    const cert = (await this.sop(['extract-cert'], secret)).toString('utf8');
    const key = await keyFromArmor(this.scratch.path, `${name}-made`, await kindOf(secret), `made by ${this.name}`, secret, password, cert);
    return [key];
  }

  async dispose(): Promise<void> {}
}

/** GnuPG through its own CLI, in a throwaway GNUPGHOME; keys are imported on first use. */
export class GpgImplementation implements Implementation {
  readonly name = 'gpg';
  private readonly imported = new Set<string>();

  private constructor(
    private readonly home: GpgHome,
    private readonly scratch: TempDir,
  ) {}

  static async create(scratch: TempDir): Promise<GpgImplementation> {
    return new GpgImplementation(await createGpgHome(), scratch);
  }

  get gnupgHome(): string {
    return this.home.home;
  }

  async gpg(args: string[], stdin?: Buffer | string): Promise<GpgResult> {
    return this.home.gpg(args, { stdin });
  }

  /** Imports a certificate (or the secret key) unless already done; throws when gpg fails. */
  async ensure(key: InteropKey, secret: boolean): Promise<void> {
    const id = `${key.fingerprint}:${secret ? 'sec' : 'pub'}`;
    if (this.imported.has(id)) return;
    const result = await this.home.importKey(secret ? key.secretPath : key.certPath, key.passwordPath);
    // gpg 2.2 exits 0 on "no valid OpenPGP data" for some unknown packets: check that the key arrived.
    if (result.code !== 0 || !result.status.lines.some((l) => l.startsWith('[GNUPG:] IMPORT_OK'))) throw new CommandFailed(result);
    this.imported.add(id);
  }

  private passphrase(key: InteropKey): string[] {
    return key.passwordPath ? ['--passphrase-file', key.passwordPath] : [];
  }

  private static verifications(result: GpgResult): Verification[] {
    return result.status.validSigs.map((v) => ({
      when: new Date(v.created * 1000).toISOString(),
      signingFingerprint: v.signingFingerprint,
      primaryFingerprint: v.primaryFingerprint,
      rest: '',
    }));
  }

  async encrypt(data: Buffer, mode: DataMode, recipients: InteropKey[], signer?: InteropKey): Promise<Buffer> {
    for (const r of recipients) await this.ensure(r, false);
    const args = ['--armor', '--encrypt', ...recipients.flatMap((r) => ['--recipient', r.fingerprint])];
    if (signer) {
      await this.ensure(signer, true);
      args.push('--sign', '--local-user', signer.fingerprint, ...this.passphrase(signer));
    }
    if (mode === 'text') args.push('--textmode');
    return ok(await this.gpg([...args, '--output', '-'], data)).stdout;
  }

  async decrypt(ciphertext: Buffer, key: InteropKey, verifyWith: InteropKey[]): Promise<Verified> {
    await this.ensure(key, true);
    for (const c of verifyWith) await this.ensure(c, false);
    const result = ok(await this.gpg([...this.passphrase(key), '--decrypt', '--output', '-'], ciphertext));
    return { data: result.stdout, verifications: GpgImplementation.verifications(result) };
  }

  async sign(data: Buffer, mode: DataMode, signer: InteropKey): Promise<Buffer> {
    await this.ensure(signer, true);
    const text = mode === 'text' ? ['--textmode'] : [];
    return ok(await this.gpg(['--armor', ...text, '--detach-sign', '--local-user', signer.fingerprint, ...this.passphrase(signer), '--output', '-'], data)).stdout;
  }

  async verify(data: Buffer, signature: Buffer, certs: InteropKey[]): Promise<Verification[]> {
    for (const c of certs) await this.ensure(c, false);
    const sig = await this.scratch.file(unique('sig.asc'), signature);
    return GpgImplementation.verifications(ok(await this.gpg(['--verify', sig, '-'], data)));
  }

  async inlineSign(data: Buffer, mode: InlineMode, signer: InteropKey): Promise<Buffer> {
    await this.ensure(signer, true);
    const how = mode === 'clearsigned' ? ['--clearsign'] : mode === 'text' ? ['--textmode', '--sign'] : ['--sign'];
    return ok(await this.gpg(['--armor', ...how, '--local-user', signer.fingerprint, ...this.passphrase(signer), '--output', '-'], data)).stdout;
  }

  async inlineVerify(message: Buffer, certs: InteropKey[]): Promise<Verified> {
    for (const c of certs) await this.ensure(c, false);
    const result = ok(await this.gpg(['--decrypt', '--output', '-'], message));
    return { data: result.stdout, verifications: GpgImplementation.verifications(result) };
  }

  /** gpg --quick-gen-key: an Ed25519 key with a Cv25519 subkey, and an RSA-3072 key with an RSA-3072 subkey. */
  async generateKeys(): Promise<InteropKey[]> {
    const password = 'gpg made this';
    const pw = await this.scratch.file(unique('pw'), password);
    const make = async (name: string, primary: string, sub: string, kind: InteropKey['kind']): Promise<InteropKey> => {
      const uid = `GnuPG Made ${name} <gpg-${name}@example.net>`;
      const created = ok(await this.gpg(['--passphrase-file', pw, '--quick-gen-key', uid, primary, 'sign,cert', 'never']));
      const fpr = created.status.lines.map((l) => /KEY_CREATED [BP] ([0-9A-F]+)/.exec(l)?.[1]).find(Boolean);
      if (!fpr) throw new CommandFailed(created);
      ok(await this.gpg(['--passphrase-file', pw, '--quick-add-key', fpr, sub, 'encr', 'never']));
      const secret = ok(await this.gpg(['--passphrase-file', pw, '--armor', '--export-secret-keys', fpr])).stdout.toString('utf8');
      const cert = ok(await this.gpg(['--armor', '--export', fpr])).stdout.toString('utf8');
      const key = await keyFromArmor(this.scratch.path, `gpg-${name}`, kind, 'made by gpg', secret, password, cert);
      this.imported.add(`${key.fingerprint}:sec`).add(`${key.fingerprint}:pub`);
      return key;
    };
    return [await make('ed25519', 'ed25519', 'cv25519', 'cv25519'), await make('rsa3072', 'rsa3072', 'rsa3072', 'rsa3072')];
  }

  async dispose(): Promise<void> {
    await this.home.dispose();
  }
}

/** The implementation under test: `bin/sigill sop`, or (to prove the harness) another SOP binary. */
export function subjectImplementation(scratch: TempDir): Implementation {
  const stand_in = process.env.SIGILL_INTEROP_SUBJECT;
  if (stand_in === 'sqop') return new SopImplementation('sqop (standing in for sigill)', 'sqop', sqopDialect, scratch);
  if (stand_in === 'pgpainless-cli') return new SopImplementation('pgpainless-cli (standing in for sigill)', 'pgpainless-cli', modernSop, scratch, quickJvm);
  return new SopImplementation('sigill', sigillSop, modernSop, scratch);
}

/** sqop 0.27 (sop-rs 0.4): the current option names. */
export const sqopDialect: SopDialect = modernSop;
/** gosop 0.0.0 / GopenPGP 2.5.2 (Debian): no --with-key-password, `--verify-out` (and no inline-*). */
export const gosopDialect: SopDialect = { keyPassword: false, decryptVerificationsOut: '--verify-out' };
/** pgpainless-cli 1.3 accepts `--verifications-out` (and the older `--verify-out`). */
export const pgpainlessDialect: SopDialect = modernSop;
/** A JVM per call: the client compiler only and the serial GC start ~30% faster for these short runs. */
export const quickJvm: Record<string, string> = { JAVA_TOOL_OPTIONS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto' };
