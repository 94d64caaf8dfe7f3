/**
 * `sigill sop`: the Stateless OpenPGP command line (draft-dkg-openpgp-stateless-cli) over src/core.
 * This layer only parses arguments, moves bytes and maps errors to the draft's exit codes; every
 * OpenPGP operation is the core's.
 */
import { SigillError } from '../../core/index.ts';
import { parseArgs } from './args.ts';
import type { SopCommand } from './command.ts';
import { exitCodeFor, sopExitCodes } from './exit-codes.ts';
import { releaseStdin } from './io.ts';
import { armorCommand, dearmorCommand } from './commands/armor.ts';
import { versionCommand, listProfilesCommand } from './commands/version.ts';
import { generateKeyCommand, changeKeyPasswordCommand, revokeKeyCommand, extractCertCommand } from './commands/keys.ts';
import { signCommand, verifyCommand, inlineSignCommand, inlineVerifyCommand, inlineDetachCommand } from './commands/signatures.ts';
import { encryptCommand, decryptCommand } from './commands/encryption.ts';

const commands: readonly SopCommand[] = [
  versionCommand,
  listProfilesCommand,
  generateKeyCommand,
  changeKeyPasswordCommand,
  revokeKeyCommand,
  extractCertCommand,
  signCommand,
  verifyCommand,
  encryptCommand,
  decryptCommand,
  inlineDetachCommand,
  inlineSignCommand,
  inlineVerifyCommand,
  armorCommand,
  dearmorCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `usage: sigill sop SUBCOMMAND [OPTIONS] [ARGS]\n\nThe Stateless OpenPGP command line (draft-dkg-openpgp-stateless-cli).\n\nsubcommands:\n${lines.join('\n')}\n\n'sigill sop SUBCOMMAND --help' shows the options of one subcommand.\n`;
}

function commandUsage(command: SopCommand): string {
  const options = command.options.map((option) => `  --${option.name}${option.takesValue ? '=VALUE' : ''}${option.repeatable ? ' (repeatable)' : ''}`);
  return `usage: sigill sop ${command.name} ${command.usage}\n\n${command.summary}\n${options.length > 0 ? `\noptions:\n${options.join('\n')}\n` : ''}`;
}

/** One clear line on stderr; SIGILL_DEBUG=1 adds the stack and causes. */
function reportError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`sigill sop: ${message}\n`);
  if (process.env.SIGILL_DEBUG && error instanceof Error) {
    for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) process.stderr.write(`${cause.stack ?? cause.message}\n`);
  }
}

export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    process.stderr.write(usage());
    return sopExitCodes.MISSING_ARG;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return sopExitCodes.OK;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    reportError(new SigillError('UNSUPPORTED_SUBCOMMAND', { detail: name }));
    return sopExitCodes.UNSUPPORTED_SUBCOMMAND;
  }
  if (rest.includes('--help') && !rest.slice(0, rest.indexOf('--help')).includes('--')) {
    process.stdout.write(commandUsage(command));
    return sopExitCodes.OK;
  }
  // Write failures also surface through the pending write; a reader that went away
  // (`sigill sop ... | head`) is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') reportError(error);
  });
  try {
    return await command.run(parseArgs(rest, command.options));
  } catch (error) {
    // A reader that went away (`sigill sop ... | head`): stop quietly.
    if ((error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return sopExitCodes.GENERIC_FAILURE;
    reportError(error);
    return exitCodeFor(error, command.keyPurpose);
  } finally {
    releaseStdin();
  }
}
