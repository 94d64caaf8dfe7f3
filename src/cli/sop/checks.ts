/** Small argument checks shared by the subcommands. */
import { SigillError } from '../../core/index.ts';
import type { ParsedArgs } from './args.ts';

/** A subcommand that takes no positional arguments: an extra one is an option it does not handle (37). */
export function rejectPositionals(args: ParsedArgs): void {
  const [first] = args.positionals;
  if (first !== undefined) throw new SigillError('UNSUPPORTED_OPTION', { detail: `unexpected argument ${JSON.stringify(first)}` });
}

/** At least one positional argument, else MISSING_ARG (19). */
export function requirePositionals(args: ParsedArgs, what: string): string[] {
  if (args.positionals.length === 0) throw new SigillError('MISSING_ARGUMENT', { detail: what });
  return args.positionals;
}
