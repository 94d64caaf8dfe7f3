/**
 * Web Key Directory (draft-koch-openpgp-webkey-service, §3.1 "Key Discovery").
 *
 * The advanced method (`https://openpgpkey.<domain>/.well-known/openpgpkey/<domain>/hu/<hash>?l=<local>`)
 * is asked first, then the direct one (`https://<domain>/.well-known/openpgpkey/hu/<hash>?l=<local>`).
 * The draft says to fall back only when the `openpgpkey` sub-domain does not exist, which a fetch
 * cannot tell from other failures; Sigill falls back whenever the advanced method gives no key data
 * (not found, unreachable, any error). That cannot let anyone outside the domain answer: both are
 * HTTPS to hosts of the domain. When the advanced method did answer with key data, its keys are
 * the answer, even if all of them are refused.
 *
 * Redirects: followed only to https URLs on the domain itself or one of its sub-domains, at most 3.
 */
import { sha1 } from '@noble/hashes/legacy';
import { SigillError } from '../errors.ts';
import { parseAddress } from './address.ts';
import { examineKeyData, toProblem } from './candidates.ts';
import { fetchKeyData, isWithinDomain } from './http.ts';
import {
  DEFAULT_LOOKUP_TIMEOUT_MS,
  DEFAULT_MAX_KEY_BYTES,
  type DiscoveryProblem,
  type DiscoverySource,
  type DiscoveryOptions,
  type DiscoveryResult,
  type NetworkSourceOptions,
} from './types.ts';
import { zBase32Encode } from './z-base-32.ts';

export interface WkdUrls {
  /** z-base-32 of the SHA-1 of the local part with ASCII upper case lowered (§3.1). */
  hash: string;
  advanced: string;
  direct: string;
}

/** Only ASCII letters are lowered for the hash (§3.1); other characters stay as they are. */
function lowerAscii(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** The two WKD URLs of an address (throws BAD_INPUT for anything that is not one). */
export function wkdUrls(mailbox: string): WkdUrls {
  const { localPart, domain } = parseAddress(mailbox);
  const hash = zBase32Encode(sha1(new TextEncoder().encode(lowerAscii(localPart))));
  // Letters, digits, '-' and '.' only: nothing that could move the request elsewhere (a port, a path, an IP literal).
  if (!/^[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+$/u.test(domain)) {
    throw new SigillError('BAD_INPUT', { detail: `not a domain for WKD: ${JSON.stringify(domain)}` });
  }
  // URL turns an internationalised domain into its ASCII (punycode) form and refuses impossible hosts.
  let host: string;
  try {
    host = new URL(`https://${domain}/`).hostname;
  } catch (error) {
    throw new SigillError('BAD_INPUT', { detail: `not a domain: ${JSON.stringify(domain)}`, cause: error });
  }
  const local = encodeURIComponent(localPart);
  return {
    hash,
    advanced: `https://openpgpkey.${host}/.well-known/openpgpkey/${host}/hu/${hash}?l=${local}`,
    direct: `https://${host}/.well-known/openpgpkey/hu/${hash}?l=${local}`,
  };
}

export function createWkdSource(options: NetworkSourceOptions): DiscoverySource {
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_KEY_BYTES;

  async function lookup(mailbox: string, lookupOptions: DiscoveryOptions = {}): Promise<DiscoveryResult> {
    const { address } = parseAddress(mailbox);
    const urls = wkdUrls(mailbox);
    const domain = new URL(urls.direct).hostname;
    const result: DiscoveryResult = { source: 'wkd', address, keys: [], rejected: [], attempts: [] };
    const problems: DiscoveryProblem[] = [];
    for (const url of [urls.advanced, urls.direct]) {
      try {
        const outcome = await fetchKeyData(url, {
          fetch: options.fetch,
          timeoutMs,
          maxBytes,
          refuseRedirect: (_from, to) =>
            to.protocol !== 'https:' ? 'not https' : isWithinDomain(to.hostname, domain) ? undefined : `${to.hostname} is outside ${domain}`,
          ...(lookupOptions.signal === undefined ? {} : { signal: lookupOptions.signal }),
        });
        const via = outcome.redirects.length > 0 ? ` via ${outcome.redirects.join(' -> ')}` : '';
        if (!outcome.found) {
          result.attempts.push({ url, outcome: `not found (HTTP ${outcome.status})${via}` });
          continue;
        }
        result.attempts.push({ url, outcome: `${outcome.body.byteLength} bytes${via}` });
        const examined = await examineKeyData(outcome.body, { source: 'wkd', address, origin: outcome.url, now: now() });
        result.keys = examined.keys;
        result.rejected = examined.rejected;
        return result;
      } catch (error) {
        const problem = toProblem(error);
        problems.push(problem);
        result.attempts.push({ url, outcome: problem.message });
        if (lookupOptions.signal?.aborted === true) break;
      }
    }
    // Nothing found: an error only if a method failed (a 404 from both is simply "no key").
    const last = problems.at(-1);
    if (last !== undefined) result.error = last;
    return result;
  }

  return { name: 'wkd', enabled: options.enabled ?? true, lookup };
}
