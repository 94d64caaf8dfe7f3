// Unlocking a v6 key (Argon2, RFC 9580 §3.7.1.4) where WebAssembly is refused, as an extension page's
// content security policy without 'wasm-unsafe-eval' does in Thunderbird (seen there: "call to
// WebAssembly.instantiate() blocked by CSP"). Simulated here by refusing WebAssembly compilation in
// this test file's realm only (vitest isolates files), since Node has no CSP.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { unlockKey } from '../../../../src/core/index.ts';
import { fixturePassphrase, loadSecretKey } from '../../../../keys-fixtures/index.ts';

const refused = () => Promise.reject(new WebAssembly.CompileError('call to WebAssembly.instantiate() blocked by CSP (simulated)'));
const names = ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming'] as const;
const originals = Object.fromEntries(names.map((name) => [name, WebAssembly[name]]));

beforeAll(() => {
  for (const name of names) Object.assign(WebAssembly, { [name]: refused });
});
afterAll(() => {
  Object.assign(WebAssembly, originals);
});

it('reports that WebAssembly was refused (INTERNAL), not that the key was tampered with', async () => {
  const locked = await loadSecretKey('erin');
  const failure = await unlockKey(locked, [fixturePassphrase('erin')]).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('needs WebAssembly (Argon2)') });
});
