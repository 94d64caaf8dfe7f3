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
  {
    files: ['**/*.js', '**/*.mjs', 'bin/*'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
