/**
 * Suites that need an outside tool (gpg, sqop, thunderbird, swaks ...) declare it here. A missing tool
 * makes the suite print SKIPPED with the Debian package to install; under CI=true it is a failure.
 */
import { execFileSync } from 'node:child_process';
import { describe, it } from 'vitest';

export interface Tool {
  /** The command on PATH, or an absolute path. */
  command: string;
  /** The Debian package that provides it. */
  debianPackage: string;
}

export function toolPath(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v "$1"`, 'sh', command], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function missingTools(tools: Tool[]): Tool[] {
  return tools.filter((tool) => toolPath(tool.command) === undefined);
}

/** `describe` that runs only when every tool is installed; SKIPPED otherwise, a failure under CI=true. */
export function describeWithTools(tools: Tool[], name: string, body: () => void): void {
  const missing = missingTools(tools);
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const install = `apt-get install ${missing.map((tool) => tool.debianPackage).join(' ')}`;
  const what = missing.map((tool) => tool.command).join(', ');
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`requires ${what}`, () => {
        throw new Error(`${what} missing under CI=true: ${install}`);
      });
    });
    return;
  }
  console.log(`SKIPPED ${name}: ${what} not installed (${install})`);
  describe.skip(name, body);
}
