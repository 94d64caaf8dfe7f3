// native/aes-cfb: the vendored OpenSSL files are the ones its README lists (unmodified), and the
// committed WebAssembly (extension/platform/aes-cfb.wasm and its base64 module) is what build.sh
// makes from them today, so what ships is what the sources say.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/sop.ts';
import { describeWithTools } from '../../support/tools.ts';
import { aesCfbWasmBase64 } from '../../../extension/platform/aes-cfb-wasm.ts';

const native = join(repoRoot, 'native', 'aes-cfb');
const committedWasm = join(repoRoot, 'extension', 'platform', 'aes-cfb.wasm');

describe('native/aes-cfb sources', () => {
  it('are the OpenSSL files the README lists, unmodified (SHA-256)', () => {
    const readme = readFileSync(join(native, 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)].map(([, digest, path]) => ({ digest, path }));
    expect(listed.map((file) => file.path)).toEqual(expect.arrayContaining(['crypto/aes/aes_core.c', 'crypto/modes/cfb128.c', 'LICENSE.txt']));
    for (const { digest, path } of listed) {
      expect({ path, digest: createHash('sha256').update(readFileSync(join(native, 'openssl', path as string))).digest('hex') }).toEqual({ path, digest });
    }
  });

  it('ship as one module: the base64 the extension imports is the committed .wasm', () => {
    expect(Buffer.from(aesCfbWasmBase64, 'base64').equals(readFileSync(committedWasm))).toBe(true);
  });
});

describeWithTools(
  [
    { command: 'clang', debianPackage: 'clang' },
    { command: 'wasm-ld', debianPackage: 'lld' },
  ],
  'native/aes-cfb build',
  () => {
    const out = mkdtempSync(join(tmpdir(), 'aes-cfb-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('rebuilds to exactly the committed bytes (build.sh is deterministic)', () => {
      execFileSync('bash', [join(native, 'build.sh'), out], { stdio: 'pipe' });
      const clang = execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0];
      const rebuilt = readFileSync(join(out, 'aes-cfb.wasm'));
      // A different clang may emit other (equally correct) bytes; the committed ones are from Debian 12's clang 14.
      expect({ clang, same: rebuilt.equals(readFileSync(committedWasm)) }).toEqual({ clang, same: true });
      expect(readFileSync(join(out, 'aes-cfb-wasm.ts'), 'utf8')).toBe(readFileSync(join(repoRoot, 'extension', 'platform', 'aes-cfb-wasm.ts'), 'utf8'));
    });
  },
);
