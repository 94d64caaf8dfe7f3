/**
 * `sigill key locate EMAIL`: looks a correspondent's key up the way the extension does (the same
 * src/core/discovery code, with Node's fetch injected), like `gpg --locate-external-keys`, and prints
 * what each source found: fingerprint, user IDs, status, and the keys it refused with the reason.
 * Nothing is stored. Exit codes: 0 a usable key was found, 3 nothing found, 1 error.
 */
import { parseArgs } from 'node:util';
import {
  createVksSource,
  createWkdSource,
  DEFAULT_LOOKUP_TIMEOUT_MS,
  DEFAULT_VKS_URL,
  discoverKeys,
  formatFingerprint,
  isSigillError,
  mailboxAddress,
  SigillError,
  type DiscoveredKey,
  type DiscoverySource,
  type DiscoveryResult,
} from '../../core/index.ts';
import { createNodeFetch, parseConnectTo, parseResolve, type HostRoute } from './node-fetch.ts';

export const locateExitCodes = { FOUND: 0, ERROR: 1, NOT_FOUND: 3 } as const;

export const locateUsage = `usage: sigill key locate [OPTIONS] EMAIL

Looks up the OpenPGP key of EMAIL as Sigill does in Thunderbird and prints, for each source, the
keys found (fingerprint, user IDs, status) and the keys refused with the reason. Nothing is stored.
Only user IDs that name EMAIL are kept; keys that cannot be used for encryption are refused.

sources:
  wkd   Web Key Directory of the address's domain (advanced method, then direct)
  vks   a keys.openpgp.org-compatible key server (VKS API)

options:
  --source wkd|vks           sources to ask, repeatable or a comma list (default: wkd,vks)
  --vks-url URL              the VKS server (default: ${DEFAULT_VKS_URL})
  --resolve HOST:PORT:ADDR   connect to ADDR for HOST on PORT, as curl's --resolve (repeatable);
                             TLS still checks the certificate for HOST
  --connect-to H1:P1:H2:P2   connect to H2 port P2 for H1 port P1, as curl's --connect-to (repeatable)
  --timeout SECONDS          per request (default: ${DEFAULT_LOOKUP_TIMEOUT_MS / 1000})
  --armor                    also print each key found as an armored certificate
  -v, --verbose              print every URL asked and what came of it
  -h, --help                 this text

Certificates are checked against Node's CA store, which includes the file named by NODE_EXTRA_CA_CERTS.

exit codes: 0 a usable key was found, 3 nothing found, 1 error (bad arguments, a source failed)
`;

type SourceName = 'wkd' | 'vks';

interface LocateOptions {
  address: string;
  sources: SourceName[];
  vksUrl: string;
  routes: HostRoute[];
  timeoutMs: number;
  armor: boolean;
  verbose: boolean;
}

function usageError(detail: string): SigillError {
  return new SigillError('BAD_INPUT', { detail });
}

function parseLocateArgs(args: string[]): LocateOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        source: { type: 'string', multiple: true },
        'vks-url': { type: 'string' },
        resolve: { type: 'string', multiple: true },
        'connect-to': { type: 'string', multiple: true },
        timeout: { type: 'string' },
        armor: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (positionals.length !== 1) throw usageError(positionals.length === 0 ? 'EMAIL is missing' : 'give exactly one EMAIL');
  const sources: SourceName[] = [];
  for (const name of (values.source ?? ['wkd,vks']).flatMap((value) => value.split(','))) {
    const trimmed = name.trim();
    if (trimmed !== 'wkd' && trimmed !== 'vks') throw usageError(`unknown source ${JSON.stringify(trimmed)} (wkd or vks)`);
    if (!sources.includes(trimmed)) sources.push(trimmed);
  }
  let timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw usageError(`--timeout ${values.timeout}: seconds between 0 and 600`);
    timeoutMs = Math.round(seconds * 1000);
  }
  return {
    address: mailboxAddress(positionals[0] ?? ''),
    sources,
    vksUrl: values['vks-url'] ?? DEFAULT_VKS_URL,
    routes: [...(values.resolve ?? []).map(parseResolve), ...(values['connect-to'] ?? []).map(parseConnectTo)],
    timeoutMs,
    armor: values.armor === true,
    verbose: values.verbose === true,
  };
}

/** User IDs and messages come from the network: control and bidi characters are shown escaped, never sent to the terminal. */
function printable(text: string): string {
  return text.replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069\u200E\u200F]/gu, (character) => `\\u{${character.codePointAt(0)?.toString(16)}}`);
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function describeStatus(key: DiscoveredKey): string {
  const parts = [key.status.problems.length === 0 ? 'usable for encryption' : key.status.problems.join(', ')];
  if (key.status.expires !== undefined) parts.push(`${key.status.expired ? 'expired' : 'expires'} ${day(key.status.expires)}`);
  return parts.join(', ');
}

function formatResult(result: DiscoveryResult, options: LocateOptions): string {
  const lines: string[] = [`[${result.source}] ${result.address}`];
  if (options.verbose) for (const attempt of result.attempts) lines.push(`  asked ${attempt.url}: ${printable(attempt.outcome)}`);
  for (const key of result.keys) {
    lines.push(`  pub   ${key.status.algorithm} ${day(key.status.created)}  ${describeStatus(key)}`);
    lines.push(`        ${formatFingerprint(key.fingerprint)}`);
    for (const userID of key.userIDs) lines.push(`  uid   ${printable(userID)}`);
    lines.push(`  from  ${printable(key.origin)}`);
    for (const note of key.notes) lines.push(`  note  ${printable(note)}`);
    if (options.armor) lines.push(key.certificate.trimEnd());
  }
  for (const rejected of result.rejected) {
    const fingerprint = rejected.fingerprint === undefined ? '' : ` ${formatFingerprint(rejected.fingerprint)}`;
    lines.push(`  refused${fingerprint}: ${printable(rejected.reason.message)}`);
  }
  if (result.error !== undefined) lines.push(`  error: ${printable(result.error.message)}`);
  else if (result.keys.length === 0 && result.rejected.length === 0) lines.push('  no key found');
  return `${lines.join('\n')}\n`;
}

export async function locate(args: string[]): Promise<number> {
  let options: LocateOptions | 'help';
  try {
    options = parseLocateArgs(args);
  } catch (error) {
    process.stderr.write(`sigill key locate: ${error instanceof Error ? error.message : String(error)}\n(sigill key locate --help shows the options)\n`);
    return locateExitCodes.ERROR;
  }
  if (options === 'help') {
    process.stdout.write(locateUsage);
    return locateExitCodes.FOUND;
  }
  const client = createNodeFetch({ routes: options.routes });
  try {
    const common = { fetch: client.fetch, timeoutMs: options.timeoutMs };
    const sources: DiscoverySource[] = options.sources.map((name) => (name === 'wkd' ? createWkdSource(common) : createVksSource({ ...common, baseUrl: options.vksUrl })));
    const results = await discoverKeys(options.address, sources);
    process.stdout.write(results.map((result) => formatResult(result, options)).join('\n'));
    if (results.some((result) => result.keys.length > 0)) return locateExitCodes.FOUND;
    return results.some((result) => result.error !== undefined) ? locateExitCodes.ERROR : locateExitCodes.NOT_FOUND;
  } catch (error) {
    const message = isSigillError(error) || error instanceof Error ? error.message : String(error);
    process.stderr.write(`sigill key locate: ${message}\n`);
    return locateExitCodes.ERROR;
  } finally {
    await client.close();
  }
}
