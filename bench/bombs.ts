/**
 * Bomb benchmark: `npx tsx bench/bombs.ts [--timeout 300]`.
 *
 * Decrypts each password or key-packet bomb (test/support/bombs.ts: 100 SKESKs with the maximum
 * iterated S2K count, one Argon2 SKESK with t = 255 and m = 2 GiB, 1,000 wildcard RSA-3072 PKESKs)
 * with `bin/sigill sop decrypt` and `sqop decrypt` in the same run, each process under GNU time
 * (`/usr/bin/time`) for its peak RSS and wall time, and prints exit code, time, peak RSS and the
 * sigill/sqop time ratio. A run past --timeout seconds is killed and shown as such. Figures are
 * printed, never asserted (test/security/bombs.test.ts asserts the outcomes and memory bounds).
 */
import { loadavg } from 'node:os';
import * as openpgp from 'openpgp';
import { readFixture, fixturePath } from '../keys-fixtures/index.ts';
import { argon2Bomb, iteratedS2kBomb, wildcardPkeskBomb } from '../test/support/bombs.ts';
import { runMeasured, sigillSop, tempDir, type MeasuredResult, type SopBinary } from '../test/support/sop.ts';
import { option } from './args.ts';

const timeoutMs = Number(option('timeout', '300')) * 1000;
const password = 'bench-bomb-password';

interface Bomb {
  name: string;
  message: Uint8Array;
  /** Arguments after `decrypt`, given the scratch files. */
  args: (files: { password: string; wrongPassword: string; daveKey: string }) => string[];
}

const dave = await openpgp.readKey({ armoredKey: readFixture('dave', 'pub') });
const bombs: Bomb[] = [
  { name: '100 SKESK, max S2K count, wrong password', message: await iteratedS2kBomb({ count: 100, password }), args: (f) => [`--with-password=${f.wrongPassword}`] },
  { name: '100 SKESK, max S2K count, right password', message: await iteratedS2kBomb({ count: 100, password }), args: (f) => [`--with-password=${f.password}`] },
  { name: 'Argon2 SKESK t=255 m=2 GiB (v6)', message: await argon2Bomb({ passes: 255, memoryExponent: 21, password }), args: (f) => [`--with-password=${f.password}`] },
  { name: '1,000 wildcard RSA PKESK, valid', message: await wildcardPkeskBomb({ count: 1000, recipient: dave }), args: (f) => [f.daveKey] },
  { name: '1,000 wildcard RSA PKESK, corrupted', message: await wildcardPkeskBomb({ count: 1000, recipient: dave, corrupt: true }), args: (f) => [f.daveKey] },
];

const tools: Array<[string, SopBinary]> = [
  ['sigill sop', sigillSop],
  ['sqop', 'sqop'],
];

const scratch = await tempDir('sigill-bench-bombs-');
try {
  const files = {
    password: await scratch.file('password', password),
    wrongPassword: await scratch.file('wrong', 'wrong'),
    daveKey: fixturePath('dave', 'unprotected'),
  };
  console.log(`bombs: decrypt each with ${tools.map(([name]) => name).join(' and ')} (load average ${loadavg()[0]?.toFixed(2)}, timeout ${timeoutMs / 1000} s)\n`);
  const header = ['bomb', 'size', 'tool', 'exit', 'time', 'peak RSS', 'time ratio'];
  const rows: string[][] = [];
  for (const bomb of bombs) {
    const results: Array<[string, MeasuredResult]> = [];
    for (const [name, binary] of tools) {
      const result = await runMeasured(binary, ['decrypt', ...bomb.args(files)], { stdin: Buffer.from(bomb.message), timeoutMs });
      results.push([name, result]);
    }
    const sqopSeconds = results.find(([name]) => name === 'sqop')?.[1].seconds;
    for (const [name, result] of results) {
      const killed = result.signal !== null || result.code === -1 || /terminated by signal/.test(result.stderr);
      const ratio = name !== 'sqop' && sqopSeconds !== undefined ? `${(result.seconds / Math.max(sqopSeconds, 0.01)).toFixed(1)}x` : '';
      rows.push([bomb.name, `${bomb.message.length} B`, name, killed ? 'killed' : String(result.code), `${result.seconds.toFixed(2)} s`, `${(result.peakRssKiB / 1024).toFixed(0)} MiB`, ratio]);
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log('\nexit 29 = CANNOT_DECRYPT (sigill: TOO_EXPENSIVE past its limits, or a wrong key/password); 41 = BAD_DATA (sqop: no v6/Argon2 support).');
  console.log('time ratio: sigill time / sqop time (sqop below 10 ms counts as 10 ms).');
} finally {
  await scratch.dispose();
}
