#!/usr/bin/env node
// `npm test`: type check, lint, then every vitest project; ends with the one summary line
// `N passed, N failed, N skipped` that CI reads. Extra arguments go to vitest (e.g. a project or file).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const vitestArgs = process.argv.slice(2);
const results = { passed: 0, failed: 0, skipped: 0 };

function step(name, command, args) {
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`);
  const { status } = spawnSync(command, args, { stdio: 'inherit' });
  if (status === 0) results.passed += 1;
  else {
    results.failed += 1;
    console.log(`FAILED: ${name}`);
  }
}

step('typecheck', 'npm', ['run', '--silent', 'typecheck']); // every target with its own settings (package.json)
step('lint', 'npx', ['eslint', '--max-warnings=0', '.']);
step('build', 'npm', ['run', '--silent', 'build']);

const report = '.test-results.json';
rmSync(report, { force: true });
console.log('\n=== vitest');
spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs], {
  stdio: 'inherit',
});
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  results.passed += json.numPassedTests;
  results.failed += json.numFailedTests;
  results.skipped += json.numPendingTests + json.numTodoTests;
  // A file that fails to load has no tests of its own to count: count it as one failure.
  for (const file of json.testResults) {
    if (file.status === 'failed' && file.assertionResults.length === 0) results.failed += 1;
  }
} catch (error) {
  console.log(`FAILED: vitest wrote no report (${error.message})`);
  results.failed += 1;
}
if (process.env.CI === 'true' && results.skipped > 0) {
  console.log(`FAILED: ${results.skipped} skipped test(s) under CI=true`);
  results.failed += results.skipped;
  results.skipped = 0;
}
console.log(`\n${results.passed} passed, ${results.failed} failed${results.skipped ? `, ${results.skipped} skipped` : ''}`);
process.exitCode = results.failed === 0 ? 0 : 1;
