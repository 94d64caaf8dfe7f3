/**
 * Argument parsing for `sigill sop` subcommands (draft-dkg-openpgp-stateless-cli, section
 * "Subcommands"). Options are `--name` flags or `--name=VALUE` / `--name VALUE`; `--` ends the options.
 * An option the subcommand does not know is UNSUPPORTED_OPTION (37); an option without its value is
 * MISSING_ARG (19).
 */
import { SigillError } from '../../core/index.ts';

export interface OptionSpec {
  /** Without the leading dashes, e.g. 'with-key-password'. */
  name: string;
  /** true: `--name=VALUE`; false: a flag. */
  takesValue: boolean;
  /** May be given more than once (the draft's `OPTION...`). */
  repeatable?: boolean;
  /** Other spellings accepted for the same option (e.g. the older `--verify-out`). */
  aliases?: string[];
}

export interface ParsedArgs {
  /** Values of value-taking options, by canonical name, in the order given. */
  values: Map<string, string[]>;
  /** Flags given, by canonical name. */
  flags: Set<string>;
  positionals: string[];
}

export function parseArgs(args: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byName.set(alias, spec);
  }
  const parsed: ParsedArgs = { values: new Map(), flags: new Set(), positionals: [] };
  let index = 0;
  while (index < args.length) {
    const arg = args[index] as string;
    index += 1;
    if (arg === '--') {
      parsed.positionals.push(...args.slice(index));
      break;
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      parsed.positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const spec = byName.get(name);
    if (!spec) throw new SigillError('UNSUPPORTED_OPTION', { detail: `--${name}` });
    if (!spec.takesValue) {
      if (equals !== -1) throw new SigillError('UNSUPPORTED_OPTION', { detail: `--${name} takes no value` });
      parsed.flags.add(spec.name);
      continue;
    }
    let value: string;
    if (equals !== -1) {
      value = arg.slice(equals + 1);
    } else {
      const next = args[index];
      if (next === undefined) throw new SigillError('MISSING_ARGUMENT', { detail: `--${name} needs a value` });
      value = next;
      index += 1;
    }
    const values = parsed.values.get(spec.name) ?? [];
    if (values.length > 0 && !spec.repeatable) {
      throw new SigillError('UNSUPPORTED_OPTION', { detail: `--${name} may be given only once` });
    }
    values.push(value);
    parsed.values.set(spec.name, values);
  }
  return parsed;
}

/** The single value of an option, or undefined when it was not given. */
export function optionValue(parsed: ParsedArgs, name: string): string | undefined {
  return parsed.values.get(name)?.[0];
}

export function optionValues(parsed: ParsedArgs, name: string): string[] {
  return parsed.values.get(name) ?? [];
}

/** `--as=...` (section "sign", "encrypt", "inline-sign"): one of the allowed words. */
export function choiceOption<T extends string>(parsed: ParsedArgs, name: string, allowed: readonly T[], fallback: T): T {
  const value = optionValue(parsed, name);
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new SigillError('UNSUPPORTED_OPTION', { detail: `--${name}=${value}; expected one of ${allowed.join(', ')}` });
}
