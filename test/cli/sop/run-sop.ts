/**
 * Runs the real `bin/sigill sop ...` as a child process, feeding stdin and collecting stdout, stderr
 * and the exit code. Shared by the test/cli/sop suites.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath, loadCertificate, type FixtureKind, type FixtureName } from '../../../keys-fixtures/index.ts';

export const sigillBin = fileURLToPath(new URL('../../../bin/sigill', import.meta.url));

export interface SopRunOptions {
  stdin?: string | Uint8Array;
  /** Working directory (relative file arguments resolve here). */
  cwd?: string;
  env?: Record<string, string>;
  /** Written to the child's file descriptor 3 (for `@FD:3`). */
  fd3?: string;
}

export interface SopResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8. */
  text: string;
}

export function sop(args: readonly string[], options: SopRunOptions = {}): Promise<SopResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [sigillBin, 'sop', ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: options.fd3 === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      const out = Buffer.concat(stdout);
      resolve({ status, stdout: out, stderr: Buffer.concat(stderr).toString('utf8'), text: out.toString('utf8') });
    });
    // A child that exits before reading its input is fine (e.g. a usage error).
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.stdin ?? '');
    if (options.fd3 !== undefined) {
      const fd3 = child.stdio[3] as NodeJS.WritableStream;
      fd3.on('error', () => undefined);
      fd3.end(options.fd3);
    }
  });
}

/** A fresh temporary directory and its cleanup. */
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
