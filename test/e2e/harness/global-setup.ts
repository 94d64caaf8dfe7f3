/**
 * vitest globalSetup of the e2e project: one run id for every scenario file (artifacts/e2e/<run>/), the
 * .xpi built once before the first Thunderbird starts, and the artifacts folder printed at the end.
 */
import { join } from 'node:path';
import { repoRoot } from './paths.ts';
import { ensureXpi } from '../../../src/testbed/xpi.ts';

export default function setup(): () => void {
  process.env.SIGILL_E2E_RUN ??= new Date().toISOString().replace(/[:.]/g, '-');
  ensureXpi();
  return () => console.log(`\ne2e artifacts (console logs, relay log, stored messages, screenshots): ${join(repoRoot, 'artifacts', 'e2e', process.env.SIGILL_E2E_RUN ?? '')}`);
}
