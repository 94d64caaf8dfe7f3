import { defineConfig } from 'vitest/config';

// Three projects: fast core/interop/security tests, the relay on real loopback sockets, and
// end-to-end scenarios in a real Thunderbird (one file at a time: each starts its own Thunderbirds).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'core',
          include: ['test/unit/**/*.test.ts', 'test/security/**/*.test.ts', 'test/interop/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/platform/**/*.test.ts', 'test/testbed/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'relay',
          include: ['test/relay/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/harness/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
