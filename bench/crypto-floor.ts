/**
 * The floor under `sigill sop encrypt` / `decrypt`: `npx tsx bench/crypto-floor.ts [--size 100M] [--rounds 5]`.
 *
 * bench/crypto.ts compares `sigill sop` with gpg. This bench says how much of sigill's time any
 * Node program doing the same unavoidable work would spend, by timing (CPU time, user + system,
 * from /usr/bin/time; paired in rounds like crypto.ts) minimal Node programs that do only that
 * work on the same files, with the same primitives (OpenSSL through node:crypto), and no OpenPGP:
 *
 * - `node start-up`: `node -e 0`.
 * - `node: read + AES-CFB + SHA-1 + write`: stdin in 512 KiB reads, AES-256-CFB and SHA-1 over
 *   every octet, stdout written (what SEIPDv1 encryption or decryption cannot do without).
 * - `… + quarantine`: the decryption's extra work of holding the plaintext back until the MDC is
 *   checked, as sigill does when stdout is a regular file (an unlinked file beside it, then copied).
 * - `sigill sop version` (start-up with OpenPGP.js loaded), `sigill sop encrypt` / `decrypt`, gpg.
 *
 * `--extra-ca-certs drop`: every process without NODE_EXTRA_CA_CERTS, as in bench/crypto.ts (Node
 * parses that file at each start: ~30 ms of CPU per process where it is set).
 *
 * Figures are printed, never asserted. The gap between "sigill" and the floor rows is what is left
 * to optimise in sigill itself; the gap between the floor and gpg is Node's start-up and OpenSSL's
 * serial CFB (libgcrypt decrypts CFB several blocks at a time).
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option, parseSize } from './args.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;

/**
 * The minimal programs, run with `node -e`. MODE: 'encrypt' (cipher), 'decrypt' (decipher), or
 * 'quarantine' (decipher, plaintext held in an unlinked file beside stdout until the end).
 */
const floorProgram = `
const { createCipheriv, createDecipheriv, createHash, randomBytes } = require('node:crypto');
const { closeSync, fstatSync, openSync, readSync, readlinkSync, unlinkSync, writeSync } = require('node:fs');
const { dirname, join } = require('node:path');
const mode = process.argv[1];
const key = randomBytes(32), iv = Buffer.alloc(16);
const cipher = mode === 'encrypt' ? createCipheriv('aes-256-cfb', key, iv) : createDecipheriv('aes-256-cfb', key, iv);
const hash = createHash('sha1');
const writeAll = (fd, bytes, position) => { for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at, position === undefined ? null : position + at); };
let held, heldSize = 0;
if (mode === 'quarantine') {
  const path = join(dirname(readlinkSync('/proc/self/fd/1')), '.floor-' + process.pid);
  held = openSync(path, 'wx+', 0o600);
  unlinkSync(path);
}
for (;;) {
  const chunk = Buffer.allocUnsafe(512 * 1024);
  const n = readSync(0, chunk, 0, chunk.length, null);
  if (n === 0) break;
  const input = chunk.subarray(0, n);
  const output = cipher.update(input);
  hash.update(mode === 'encrypt' ? input : output);
  if (held === undefined) writeAll(1, output);
  else { writeAll(held, output, heldSize); heldSize += output.length; }
}
hash.digest();
if (held !== undefined) {
  const buffer = Buffer.allocUnsafe(256 * 1024);
  for (let at = 0; at < heldSize; ) { const n = readSync(held, buffer, 0, Math.min(buffer.length, heldSize - at), at); writeAll(1, buffer.subarray(0, n)); at += n; }
  closeSync(held);
}
`;

const extraCaCerts = option('extra-ca-certs', 'keep');
if (extraCaCerts !== 'keep' && extraCaCerts !== 'drop') throw new Error('--extra-ca-certs is keep or drop');
const childEnv: NodeJS.ProcessEnv = { ...process.env };
if (extraCaCerts === 'drop') delete childEnv.NODE_EXTRA_CA_CERTS;

interface Measured {
  cpu: number;
  wall: number;
}

async function timed(command: string, args: string[], stdin: string | undefined, stdout: string | undefined, dir: string): Promise<Measured> {
  const timeFile = join(dir, 'time.txt');
  const input = stdin ? openSync(stdin, 'r') : 'ignore';
  const output = stdout ? openSync(stdout, 'w') : 'ignore';
  try {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', '-o', timeFile, command, ...args], { stdio: [input, output, 'pipe'], env: childEnv });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? -1)));
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(0, 500)}`);
    const report = await readFile(timeFile, 'utf8');
    const user = Number(/User time \(seconds\): ([\d.]+)/.exec(report)?.[1]);
    const system = Number(/System time \(seconds\): ([\d.]+)/.exec(report)?.[1]);
    return { cpu: user + system, wall };
  } finally {
    if (typeof input === 'number') closeSync(input);
    if (typeof output === 'number') closeSync(output);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function main(): Promise<void> {
  const size = parseSize(option('size', '100M'));
  const rounds = Math.max(1, Number(option('rounds', '5')) || 5);
  const dir = await mkdtemp(join(tmpdir(), 'sigill-floor-'));
  const gnupg = await mkdtemp(join(tmpdir(), 'gpgf-'));
  const cert = join(root, 'keys-fixtures', 'alice.pub.asc');
  const key = join(root, 'keys-fixtures', 'alice.unprotected.sec.asc');
  const gpgBase = ['--homedir', gnupg, '--batch', '--yes', '--no-tty', '--trust-model', 'always', '--quiet'];
  const sigill = [join(root, 'bin', 'sigill'), 'sop'];
  try {
    const input = join(dir, 'input.bin');
    const ciphertext = join(dir, 'input.gpg');
    const output = join(dir, 'output.bin');
    const out = createWriteStream(input);
    const chunk = Buffer.alloc(4 * MiB);
    for (let left = size; left > 0; left -= chunk.length) {
      if (!out.write(Buffer.from(randomFillSync(chunk).subarray(0, Math.min(left, chunk.length))))) await new Promise<void>((done) => out.once('drain', () => done()));
    }
    await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
    await writeFile(join(gnupg, 'gpg-agent.conf'), 'allow-loopback-pinentry\n');
    await timed('gpg', [...gpgBase, '--import', key], undefined, undefined, dir);
    await timed('gpg', [...gpgBase, '-z', '0', '--recipient', 'alice@sigill.test', '--encrypt'], input, ciphertext, dir);
    // Warm up: the CLI bundle and its code caches are built by the first runs.
    await timed(process.execPath, [...sigill, 'encrypt', '--no-armor', cert], input, output, dir);
    await timed(process.execPath, [...sigill, 'decrypt', key], ciphertext, output, dir);

    const rows: Array<{ label: string; args: [string, string[], string | undefined] }> = [
      { label: 'node start-up (node -e 0)', args: [process.execPath, ['-e', '0'], undefined] },
      { label: 'sigill start-up (sop version)', args: [process.execPath, [...sigill, 'version'], undefined] },
      { label: 'floor encrypt: node read + AES-CFB + SHA-1 + write', args: [process.execPath, ['-e', floorProgram, 'encrypt'], input] },
      { label: 'sigill sop encrypt', args: [process.execPath, [...sigill, 'encrypt', '--no-armor', cert], input] },
      { label: 'gpg encrypt', args: ['gpg', [...gpgBase, '-z', '0', '--recipient', 'alice@sigill.test', '--encrypt'], input] },
      { label: 'floor decrypt: node read + AES-CFB + SHA-1 + write', args: [process.execPath, ['-e', floorProgram, 'decrypt'], ciphertext] },
      { label: 'floor decrypt + quarantine (unlinked file, copied)', args: [process.execPath, ['-e', floorProgram, 'quarantine'], ciphertext] },
      { label: 'sigill sop decrypt (gpg ciphertext)', args: [process.execPath, [...sigill, 'decrypt', key], ciphertext] },
      { label: 'gpg decrypt', args: ['gpg', [...gpgBase, '--decrypt'], ciphertext] },
    ];
    const figures = rows.map(() => [] as Measured[]);
    for (let round = 0; round < rounds; round += 1) {
      for (const [index, row] of rows.entries()) {
        const [command, args, stdin] = row.args;
        (figures[index] as Measured[]).push(await timed(command, args, stdin, output, dir));
      }
      process.stderr.write(`  round ${round + 1} of ${rounds}\n`);
    }
    console.log(`sigill crypto floor — ${size / MiB} MiB of random data, medians of ${rounds} rounds (CPU = user + system)`);
    console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
    console.log(`NODE_EXTRA_CA_CERTS: ${process.env.NODE_EXTRA_CA_CERTS === undefined ? 'not set' : extraCaCerts === 'drop' ? 'set here, dropped for the measured processes' : 'set here and kept (--extra-ca-certs drop)'}`);
    const gpgOf = (label: string): number => median((figures[rows.findIndex((row) => row.label === label)] as Measured[]).map((m) => m.cpu));
    const width = Math.max(...rows.map((row) => row.label.length));
    console.log(`\n| ${'run'.padEnd(width)} | cpu s | wall s | cpu vs gpg |`);
    console.log(`|${'-'.repeat(width + 2)}|-------|--------|------------|`);
    for (const [index, row] of rows.entries()) {
      const cpu = median((figures[index] as Measured[]).map((m) => m.cpu));
      const wall = median((figures[index] as Measured[]).map((m) => m.wall));
      const gpg = row.label.includes('encrypt') ? gpgOf('gpg encrypt') : row.label.includes('decrypt') ? gpgOf('gpg decrypt') : undefined;
      console.log(`| ${row.label.padEnd(width)} | ${cpu.toFixed(3)} | ${wall.toFixed(3)}  | ${gpg ? `${(cpu / gpg).toFixed(2)}x` : ''.padEnd(5)}      |`);
    }
  } finally {
    await new Promise((done) => spawn('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { stdio: 'ignore' }).on('close', done));
    await rm(gnupg, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
