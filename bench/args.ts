/** Command-line options of the benches: `--name value` or `--name=value`, and sizes such as 10M. */

/** The value of `--name value` or `--name=value`, or the fallback. */
export function option(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const inline = args.find((arg) => arg.startsWith(`--${name}=`));
  if (inline !== undefined) return inline.slice(name.length + 3);
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? (args[at + 1] as string) : fallback;
}

/** A positive whole number option (`--rounds 7`); anything else is an error that names the option. */
export function countOption(name: string, fallback: number): number {
  const value = Number(option(name, String(fallback)));
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} needs a positive whole number`);
  return value;
}

/**
 * "10M", "10MiB", "1.5G" → bytes in binary units (KiB, MiB, …); "200MB" (a B without i) means decimal
 * megabytes, as a mail size is usually written. A bare number is bytes.
 */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!match) throw new Error(`bad size '${text}' (e.g. 100K, 10M, 1G, 200MB)`);
  const base = match[3]?.toUpperCase() === 'B' ? 1000 : 1024;
  const power = ['', 'K', 'M', 'G', 'T'].indexOf((match[2] ?? '').toUpperCase());
  return Math.round(Number(match[1]) * base ** power);
}
