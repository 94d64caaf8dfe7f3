/**
 * Builds the test-only core probe extension (test/e2e/core-probe) with vite into dist/e2e/core-probe,
 * once per test process, so it always holds the current core; World.launch({ coreProbe: true })
 * installs it unpacked next to the driver.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

let built: string | undefined;

export function buildCoreProbe(): string {
  if (built !== undefined) return built;
  execFileSync('npx', ['vite', 'build', '--config', join('test', 'e2e', 'core-probe', 'vite.config.ts')], {
    cwd: repoRoot,
    stdio: ['ignore', process.stderr, 'inherit'],
    timeout: 120_000,
  });
  built = join(repoRoot, 'dist', 'e2e', 'core-probe');
  return built;
}
