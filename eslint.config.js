// ESLint flat config: typescript-eslint's recommended type-aware rules for all TypeScript.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'artifacts/', '.sigill-relay/', '.sigill-demo/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // src/core runs in Thunderbird and Node alike: it must not reach for either platform.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: 'src/core is platform-neutral: inject what you need.' },
          { group: ['**/extension/**', '**/relay/**', '**/cli/**'], message: 'src/core imports nothing of the others.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'browser', message: 'src/core is platform-neutral.' },
        { name: 'messenger', message: 'src/core is platform-neutral.' },
        { name: 'process', message: 'src/core is platform-neutral.' },
        { name: 'Buffer', message: 'src/core is platform-neutral: use Uint8Array.' },
      ],
    },
  },
  {
    // The relay never needs keys or crypto of the core.
    files: ['src/relay/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/core/**', 'openpgp'], message: 'a relay never needs keys' }] }],
    },
  },
  // ---- relay: protocol folders (smtp/, pop3/, http/) only through the relay's public entry ----
  // Outside src/relay, nothing imports them (src/relay/index.ts is the way in); inside, only the
  // assembly (server.ts) and the entry do, and no protocol folder imports another. The relay's own
  // tests (test/relay/) mirror the source tree and test the internals directly. Each block repeats
  // the relay's core ban above, since a later no-restricted-imports replaces an earlier one.
  ...(() => {
    const folders = ['smtp', 'pop3', 'http'];
    const coreBan = { group: ['**/core/**', 'openpgp'], message: 'a relay never needs keys' };
    const ban = (names) => ({
      group: names.flatMap((name) => [`**/relay/${name}/**`, `./${name}/**`, `../${name}/**`, `../../${name}/**`]),
      message: "relay protocol folders are internals: import src/relay/index.ts (the relay's public entry)",
    });
    return [
      {
        // (src/core and extension/ have their own, stricter bans on any relay import.)
        files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts'],
        ignores: ['test/relay/**', 'test/e2e/driver/**'],
        rules: { 'no-restricted-imports': ['error', { patterns: [ban(folders)] }] },
      },
      {
        files: ['src/relay/**/*.ts'],
        ignores: ['src/relay/index.ts', 'src/relay/server.ts', ...folders.map((name) => `src/relay/${name}/**`)],
        rules: { 'no-restricted-imports': ['error', { patterns: [coreBan, ban(folders)] }] },
      },
      ...folders.map((name) => ({
        files: [`src/relay/${name}/**/*.ts`],
        rules: { 'no-restricted-imports': ['error', { patterns: [coreBan, ban(folders.filter((other) => other !== name))] }] },
      })),
    ];
  })(),
  // ---- end of the relay protocol-folder rule ----
  {
    files: ['**/*.js', '**/*.mjs', 'bin/*'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
