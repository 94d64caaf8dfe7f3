/** Where the e2e harness keeps its own things: the driver extension and the artifacts of a run. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../src/testbed/paths.ts';

export * from '../../../src/testbed/paths.ts';

export const driverDir = join(repoRoot, 'test', 'e2e', 'driver');
export const driverId = 'sigill-e2e-driver@sigill.test';

/**
 * The run id names artifacts/e2e/<run>/. The global setup sets SIGILL_E2E_RUN once for all files;
 * without it, every file falls back to the time it was loaded.
 */
export const runId = process.env.SIGILL_E2E_RUN ?? new Date().toISOString().replace(/[:.]/g, '-');

export function artifactsDir(scenario: string): string {
  const dir = join(repoRoot, 'artifacts', 'e2e', runId, scenario);
  mkdirSync(dir, { recursive: true });
  return dir;
}

