// ESLint flat config: typescript-eslint's recommended rules for all TypeScript, then the import
// boundaries between the layers (docs/architecture.md, "Import rules"). The core is at the bottom: it
// imports nothing of the others, and everything above reaches it only through src/core/index.ts.
//
// One block per layer, each owning the layer's `no-restricted-imports` (in a flat config a later block
// that sets the same rule for the same file replaces the earlier options instead of adding to them).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Everything of the core except its one public entry point. */
const coreInternals = {
  group: ['**/src/core/**', '../core/**', '../../core/**', '!**/core/index.ts'],
  message: 'Import the core through src/core/index.ts, its one public entry point.',
};
const nodeBuiltins = { group: ['node:*'], message: 'Node built-ins do not exist in Thunderbird: use a seam of src/core/platform.ts.' };
const nodeOnlyLayers = {
  group: ['**/relay/**', '**/cli/**', '**/platform/node/**', '**/testbed/**', '**/test/**', '**/keys-fixtures/**'],
  message: 'Node-only code (relay, CLI, Node platform, test-bed, tests) does not run in Thunderbird.',
};
const cryptoLibraries = {
  group: ['openpgp', 'openpgp/*', '@noble/*'],
  message: 'Crypto goes through the core (src/core/index.ts), never around it.',
};
const nodeGlobals = [
  { name: 'process', message: 'Node only.' },
  { name: 'Buffer', message: 'Node only: use Uint8Array.' },
  { name: 'require', message: 'Node only.' },
];

/** The relay's protocol folders: reached from outside the relay only through src/relay/index.ts. */
const relayProtocolFolders = ['smtp', 'pop3', 'http'];
const relayInternals = (names) => ({
  group: names.flatMap((name) => [`**/relay/${name}/**`, `./${name}/**`, `../${name}/**`, `../../${name}/**`]),
  message: "relay protocol folders are internals: import src/relay/index.ts (the relay's public entry)",
});

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
          { group: ['node:*'], message: 'src/core is platform-neutral: inject what you need (src/core/platform.ts).' },
          { group: ['**/extension/**', '**/relay/**', '**/cli/**', '**/platform/**', '**/testbed/**', '**/test/**'], message: 'src/core imports nothing of the others.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'browser', message: 'src/core is platform-neutral.' },
        { name: 'messenger', message: 'src/core is platform-neutral.' },
        { name: 'process', message: 'src/core is platform-neutral.' },
        { name: 'Buffer', message: 'src/core is platform-neutral: use Uint8Array.' },
        { name: 'window', message: 'src/core is platform-neutral.' },
        { name: 'document', message: 'src/core is platform-neutral.' },
      ],
    },
  },
  {
    // The MailExtension, and the test-only extensions built the same way: Thunderbird, never Node.
    files: ['extension/**/*.ts', 'test/e2e/core-probe/**/*.ts', 'test/e2e/driver/**/*.js'],
    ignores: ['test/e2e/core-probe/vite.config.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [nodeBuiltins, nodeOnlyLayers, coreInternals, cryptoLibraries] }],
      'no-restricted-globals': ['error', ...nodeGlobals],
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
  // Inside the relay only the assembly (server.ts) and the entry import them, and no protocol folder
  // imports another; outside it, the last block below bans them. The relay's own tests (test/relay/)
  // mirror the source tree and test the internals directly. Each block repeats the relay's core ban
  // above, since a later no-restricted-imports replaces an earlier one.
  ...(() => {
    const coreBan = { group: ['**/core/**', 'openpgp'], message: 'a relay never needs keys' };
    return [
      {
        files: ['src/relay/**/*.ts'],
        ignores: ['src/relay/index.ts', 'src/relay/server.ts', ...relayProtocolFolders.map((name) => `src/relay/${name}/**`)],
        rules: { 'no-restricted-imports': ['error', { patterns: [coreBan, relayInternals(relayProtocolFolders)] }] },
      },
      ...relayProtocolFolders.map((name) => ({
        files: [`src/relay/${name}/**/*.ts`],
        rules: { 'no-restricted-imports': ['error', { patterns: [coreBan, relayInternals(relayProtocolFolders.filter((other) => other !== name))] }] },
      })),
    ];
  })(),
  // ---- end of the relay protocol-folder rule ----
  {
    // Node platform: implements the core's seams, serves the CLI; knows nothing of the layers above it.
    files: ['src/platform/node/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [coreInternals, { group: ['**/cli/**', '**/relay/**', '**/testbed/**', '**/extension/**'], message: 'the Node platform sits right above the core' }],
      }],
    },
  },
  {
    // The Thunderbird test-bed (profiles, processes, the relay as a child process): used by the demo
    // command and the e2e harness, so it must not depend on the command line itself.
    files: ['src/testbed/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [coreInternals, { group: ['**/cli/**'], message: 'the test-bed is below the CLI' }] }],
    },
  },
  {
    // Everything else above the core and the relay (CLI, tests, benchmarks, fixtures) uses their entry
    // points. Unit tests of the core (test/unit/core) may reach the internal module they test; the relay's
    // tests (test/relay) its protocol folders.
    files: ['src/cli/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'keys-fixtures/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['test/unit/core/**', 'test/relay/**', 'test/e2e/core-probe/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [coreInternals, relayInternals(relayProtocolFolders)] }],
    },
  },
  {
    files: ['test/unit/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [relayInternals(relayProtocolFolders)] }],
    },
  },
  {
    files: ['test/relay/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [coreInternals] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', 'bin/*'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
