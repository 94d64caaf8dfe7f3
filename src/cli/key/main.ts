/**
 * `sigill key`: key commands that need no keyring. For now `locate` (key discovery).
 */
import { locate } from './locate.ts';

const usage = `usage: sigill key <subcommand> [args...]

subcommands:
  locate EMAIL   find a correspondent's key by WKD and keys.openpgp.org (sigill key locate --help)
`;

export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === 'locate') return locate(rest);
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  process.stderr.write(name === undefined ? usage : `sigill key: unknown subcommand '${name}'\n\n${usage}`);
  return 1;
}
