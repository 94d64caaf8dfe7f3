/** The shape of one `sigill sop` subcommand. */
import type { OptionSpec, ParsedArgs } from './args.ts';
import type { KeyPurpose } from './exit-codes.ts';

export interface SopCommand {
  name: string;
  /** One line for `sigill sop --help`. */
  summary: string;
  /** The draft's synopsis of the arguments, for `sigill sop SUBCOMMAND --help`. */
  usage: string;
  options: readonly OptionSpec[];
  /** What keys are needed for: decides the exit code of an expired or revoked key. */
  keyPurpose?: KeyPurpose;
  /** Runs the subcommand; returns the exit code (errors are thrown as SigillError). */
  run(args: ParsedArgs): Promise<number>;
}

export const noArmorOption: OptionSpec = { name: 'no-armor', takesValue: false };
export const keyPasswordOption: OptionSpec = { name: 'with-key-password', takesValue: true, repeatable: true };
