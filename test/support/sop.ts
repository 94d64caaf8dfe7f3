/**
 * The one typed runner for any Stateless OpenPGP (SOP) binary — `bin/sigill sop`, `sqop`, `gosop`,
 * `pgpainless-cli` — used by the interop, CLI and security suites and bench/bombs.ts: `run` / `runSop`
 * for any binary, `sop` for `bin/sigill sop` in its own suites, `runMeasured` for peak RSS; plus
 * GnuPG helpers that work in a throwaway GNUPGHOME.
 *
 * Everything here spawns real processes; nothing is mocked. Inputs go in on stdin, outputs are collected
 * as Buffers (the interop suites use at most a few MiB; the benchmark streams through files instead).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath, loadCertificate, type FixtureKind, type FixtureName } from '../../keys-fixtures/index.ts';

/** The repository root (test/support/ is two levels down). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A SOP binary: its command, and the leading arguments that select the SOP interface (`sigill sop`). */
export type SopBinary = string | readonly string[];

/** `bin/sigill sop`, run by the same node as the tests (no PATH lookup, no global install). */
export const sigillSop: readonly string[] = [process.execPath, join(repoRoot, 'bin', 'sigill'), 'sop'];

export interface RunOptions {
  /** Bytes for the child's stdin; stdin is closed empty when absent. */
  stdin?: Buffer | string;
  /** Or a file streamed to the child's stdin (large inputs, never held in memory). */
  stdinFile?: string;
  /** Extra environment variables, merged over process.env. */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the child after this long (default 120 s) and report code -1. */
  timeoutMs?: number;
  /** Also capture file descriptor 3 of the child (gpg --status-fd 3). */
  captureFd3?: boolean;
  /** Or feed this to the child's file descriptor 3 (an `@FD:3` input). */
  fd3Input?: string;
  /** Called once the child is spawned (e.g. to signal it). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface RunResult {
  /** Exit code; -1 when killed by a signal or the timeout. */
  code: number;
  /** The signal that ended the child, if one did. */
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** What the child wrote to fd 3, when captureFd3 was asked for. */
  fd3: string;
  /** The command line, quoted for humans (for failure messages and reports). */
  commandLine: string;
}

/** The SOP result shape: exit code, raw stdout, stderr as text. */
export type SopResult = RunResult;

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Spawns `command args`, feeds stdin, and collects stdout/stderr (and fd 3) until the child exits. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const commandLine = [command, ...args].map(quote).join(' ');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: options.captureFd3 || options.fd3Input !== undefined ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const fd3: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (options.captureFd3) {
      const status = child.stdio[3];
      // stdio[3] is a Readable when 'pipe' was asked for; typed as the wider Readable | Writable union.
      (status as NodeJS.ReadableStream | null)?.on('data', (chunk: Buffer) => fd3.push(chunk));
    }
    // A child that exits before reading all of stdin (an unsupported operation) must not crash the test.
    child.stdin?.on('error', () => undefined);
    if (options.stdinFile !== undefined && child.stdin) createReadStream(options.stdinFile).on('error', () => child.stdin?.end()).pipe(child.stdin);
    else child.stdin?.end(options.stdin ?? '');
    if (options.fd3Input !== undefined) {
      const fd3 = child.stdio[3] as NodeJS.WritableStream;
      fd3.on('error', () => undefined);
      fd3.end(options.fd3Input);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${commandLine}: ${error.message}`));
    });
    options.onSpawn?.(child);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8'),
        fd3: Buffer.concat(fd3).toString('utf8'),
        commandLine,
      });
    });
  });
}

/** Runs one SOP subcommand: `runSop('sqop', ['encrypt', 'bob.cert'], { stdin })`. */
export function runSop(binary: SopBinary, args: readonly string[], options: RunOptions = {}): Promise<SopResult> {
  const [command, ...prefix] = typeof binary === 'string' ? [binary] : binary;
  if (command === undefined) throw new Error('runSop: empty binary');
  return run(command, [...prefix, ...args], options);
}

// ---------------------------------------------------------------------------------------------------
// `bin/sigill sop` for its own suites (test/cli/sop)

export interface SigillSopResult extends RunResult {
  /** The exit code (as `code`). */
  status: number;
  /** stdout as UTF-8. */
  text: string;
}

/** Runs `bin/sigill sop ARGS`: `sop(['armor'], { stdin })`. */
export async function sop(args: readonly string[], options: { stdin?: string | Uint8Array; cwd?: string; env?: Record<string, string>; fd3?: string } = {}): Promise<SigillSopResult> {
  const stdin = options.stdin instanceof Uint8Array ? Buffer.from(options.stdin.buffer, options.stdin.byteOffset, options.stdin.byteLength) : options.stdin;
  const result = await runSop(sigillSop, args, {
    ...(stdin !== undefined ? { stdin } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.fd3 !== undefined ? { fd3Input: options.fd3 } : {}),
  });
  return { ...result, status: result.code, text: result.stdout.toString('utf8') };
}

/** A fresh temporary directory, created at once (for module scope), and its cleanup. */
export function temporaryDirectory(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `sigill-sop-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function fixture(name: FixtureName, kind: FixtureKind): string {
  return fixturePath(name, kind);
}

/** One verification line of the draft: DATE SIGNING-FPR PRIMARY-FPR mode:MODE [free text]. */
export const verificationLine = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z [0-9A-F]{40,64} [0-9A-F]{40,64} mode:(?:binary|text)(?: .*)?$/;

/** A fixture's primary key fingerprint as sop prints it (upper-case hex, no spaces). */
export async function fixtureFingerprint(name: FixtureName): Promise<string> {
  return (await loadCertificate(name)).getFingerprint().toUpperCase();
}

/** A run measured by GNU time (Debian package `time`): peak resident set size and wall-clock time. */
export interface MeasuredResult extends RunResult {
  /** Peak RSS of the child in KiB, from the kernel (getrusage), not sampled. */
  peakRssKiB: number;
  seconds: number;
}

/** The GNU time binary `runMeasured` needs (for describeWithTools). */
export const gnuTime = { command: '/usr/bin/time', debianPackage: 'time' } as const;

const MEASURE_MARK = 'sigill-measured:';

/** Runs a SOP subcommand under `/usr/bin/time`, which reports the child's peak RSS and run time on stderr. */
export async function runMeasured(binary: SopBinary, args: readonly string[], options: RunOptions = {}): Promise<MeasuredResult> {
  const [command, ...prefix] = typeof binary === 'string' ? [binary] : binary;
  if (command === undefined) throw new Error('runMeasured: empty binary');
  const result = await run(gnuTime.command, ['-f', `${MEASURE_MARK}%M %e`, command, ...prefix, ...args], options);
  const lines = result.stderr.split('\n');
  const markAt = lines.findLastIndex((line) => line.startsWith(MEASURE_MARK));
  if (markAt < 0) throw new Error(`no measurement from ${gnuTime.command}: ${result.stderr.slice(-500)}`);
  const [rss = '', seconds = ''] = (lines[markAt] ?? '').slice(MEASURE_MARK.length).split(' ');
  // GNU time also notes "Command exited with non-zero status N" / "terminated by signal": not the child's output.
  const stderr = lines.filter((line, index) => index !== markAt && !/^Command (exited with non-zero status|terminated by signal)/.test(line)).join('\n');
  return { ...result, stderr, peakRssKiB: Number(rss), seconds: Number(seconds) };
}

/** A process that failed, carrying the exact command line and stderr for the report. */
export class CommandFailed extends Error {
  constructor(readonly result: RunResult) {
    super(`exit ${result.code}: ${result.commandLine}\n${result.stderr.trim().slice(0, 2000)}`);
    this.name = 'CommandFailed';
  }
}

/** Returns the result when the exit code is 0, throws CommandFailed otherwise. */
export function ok<T extends RunResult>(result: T): T {
  if (result.code !== 0) throw new CommandFailed(result);
  return result;
}

/** One line of SOP verification output: `WHEN SIGNING-FPR PRIMARY-FPR [mode:text] [description]`. */
export interface Verification {
  when: string;
  signingFingerprint: string;
  primaryFingerprint: string;
  /** Everything after the primary fingerprint (mode, description), possibly empty. */
  rest: string;
}

export function parseVerifications(text: string): Verification[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [when = '', signing = '', primary = '', ...rest] = line.split(/\s+/);
      return {
        when,
        signingFingerprint: signing.toUpperCase(),
        primaryFingerprint: primary.toUpperCase(),
        rest: rest.join(' '),
      };
    });
}

// Throwaway directories live in ./temp.ts; re-exported for the suites that import them from here.
export { tempDir, type TempDir } from './temp.ts';

// ---------------------------------------------------------------------------------------------------
// GnuPG

/** A `[GNUPG:] VALIDSIG` status line: the signing (sub)key and its primary key. */
export interface GpgValidSig {
  signingFingerprint: string;
  primaryFingerprint: string;
  /** Signature creation time (seconds since the epoch). */
  created: number;
}

export interface GpgStatus {
  lines: string[];
  validSigs: GpgValidSig[];
  /** Keywords seen (GOODSIG, BADSIG, DECRYPTION_OKAY, ...). */
  keywords: Set<string>;
}

export function parseGpgStatus(text: string): GpgStatus {
  const lines = text.split('\n').filter((line) => line.startsWith('[GNUPG:] '));
  const validSigs: GpgValidSig[] = [];
  const keywords = new Set<string>();
  for (const line of lines) {
    const fields = line.slice('[GNUPG:] '.length).split(' ');
    const keyword = fields[0] ?? '';
    keywords.add(keyword);
    if (keyword === 'VALIDSIG') {
      // VALIDSIG <fpr> <date> <timestamp> <expire> <version> <reserved> <pk-algo> <hash-algo> <class> [<primary-fpr>]
      const signing = (fields[1] ?? '').toUpperCase();
      validSigs.push({
        signingFingerprint: signing,
        primaryFingerprint: (fields[10] ?? signing).toUpperCase(),
        created: Number(fields[3] ?? 0),
      });
    }
  }
  return { lines, validSigs, keywords };
}

export interface GpgResult extends RunResult {
  status: GpgStatus;
}

/** A GnuPG home in a fresh temporary directory: batch mode, loopback pinentry, always-trust. */
export interface GpgHome {
  home: string;
  /** Runs gpg with the home's base options and `--status-fd 3`. */
  gpg(args: readonly string[], options?: { stdin?: Buffer | string }): Promise<GpgResult>;
  /** Imports an armored or binary key (certificate or secret key), unlocking it with `passwordFile`. */
  importKey(path: string, passwordFile?: string): Promise<GpgResult>;
  /** Stops the agent and removes the home. */
  dispose(): Promise<void>;
}

export async function createGpgHome(): Promise<GpgHome> {
  // Short prefix: gpg-agent's socket path must stay under the sun_path limit.
  const home = await mkdtemp(join(tmpdir(), 'gpgh-'));
  await writeFile(join(home, 'gpg.conf'), 'no-auto-key-retrieve\nno-auto-key-locate\n');
  await writeFile(join(home, 'gpg-agent.conf'), 'allow-loopback-pinentry\n');
  const base = ['--homedir', home, '--batch', '--no-tty', '--yes', '--pinentry-mode', 'loopback', '--trust-model', 'always', '--status-fd', '3'];
  const gpg = async (args: readonly string[], options: { stdin?: Buffer | string } = {}): Promise<GpgResult> => {
    const result = await run('gpg', [...base, ...args], { stdin: options.stdin, captureFd3: true, env: { LC_ALL: 'C' } });
    return { ...result, status: parseGpgStatus(result.fd3) };
  };
  // Create the keyring before any concurrent use: two first imports at once race to create
  // pubring.kbx and one fails with "no writable keyring found".
  await gpg(['--list-keys']);
  return {
    home,
    gpg,
    importKey: (path, passwordFile) =>
      gpg([...(passwordFile ? ['--passphrase-file', passwordFile] : []), '--import', path]),
    async dispose() {
      await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}
