// The relay's protocol folders (smtp/, pop3/, http/) are reached only through its public entry:
// the lint rule in eslint.config.js refuses any other import, checked here on probe sources.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function refused(filePath: string, importPath: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import * as probe from '${importPath}';\nexport const used = probe;\n`, { filePath });
  return (result?.messages ?? []).some((message) => message.ruleId === 'no-restricted-imports');
}

describe('relay import boundaries', () => {
  it('refuses protocol folders from outside the relay, allows its public entry', async () => {
    expect(await refused('src/cli/probe.ts', '../relay/pop3/index.ts')).toBe(true);
    expect(await refused('bench/probe.ts', '../src/relay/http/index.ts')).toBe(true);
    expect(await refused('src/cli/probe.ts', '../relay/index.ts')).toBe(false);
  });

  it('refuses them inside the relay too, except for the assembly, and between protocol folders', async () => {
    expect(await refused('src/relay/delivery/probe.ts', '../smtp/handlers/data.ts')).toBe(true);
    expect(await refused('src/relay/probe.ts', './http/index.ts')).toBe(true);
    expect(await refused('src/relay/pop3/probe.ts', '../smtp/trace.ts')).toBe(true);
    expect(await refused('src/relay/server.ts', './smtp/listener.ts')).toBe(false);
    expect(await refused('src/relay/smtp/probe.ts', './handlers/data.ts')).toBe(false);
    expect(await refused('src/relay/smtp/probe.ts', '../../core/index.ts')).toBe(true); // the core ban still holds
  });
}, 60_000);
