/**
 * keys.openpgp.org's Verifying Key Server API (VKS, https://keys.openpgp.org/about/api):
 * `GET /vks/v1/by-email/<address>` and `GET /vks/v1/by-fingerprint/<FINGERPRINT>` answer with an
 * armored certificate (200) or 404. keys.openpgp.org publishes only user IDs whose address its owner
 * has confirmed by mail; Sigill still keeps only the user IDs naming the address asked for.
 *
 * The base URL is configurable (another VKS-compatible server, a local one for tests). Redirects are
 * followed only within the same origin (scheme, host and port), at most 3.
 */
import { SigillError } from '../errors.ts';
import { parseAddress } from './address.ts';
import { examineKeyData, toProblem } from './candidates.ts';
import { fetchKeyData, type KeyFetchOutcome } from './http.ts';
import { DEFAULT_LOOKUP_TIMEOUT_MS, DEFAULT_MAX_KEY_BYTES, type DiscoverySource, type DiscoveryOptions, type DiscoveryResult, type NetworkSourceOptions } from './types.ts';

export const DEFAULT_VKS_URL = 'https://keys.openpgp.org';

export interface VksSourceOptions extends NetworkSourceOptions {
  /** Default `https://keys.openpgp.org`. Plain http is accepted only for loopback hosts. */
  baseUrl?: string;
}

export interface VksSource extends DiscoverySource {
  readonly baseUrl: string;
  /**
   * Fetches one certificate by fingerprint (e.g. to refresh a held key), judged for `address`.
   * A certificate with another fingerprint than asked for is refused.
   */
  lookupFingerprint(fingerprint: string, address: string, options?: DiscoveryOptions): Promise<DiscoveryResult>;
}

const LOOPBACK_HOSTS = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (error) {
    throw new SigillError('BAD_INPUT', { detail: `not a URL: ${JSON.stringify(baseUrl)}`, cause: error });
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.test(url.hostname));
  if (!secure) throw new SigillError('BAD_INPUT', { detail: `a key server URL must be https (http only on loopback): ${url.href}` });
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new SigillError('BAD_INPUT', { detail: `a key server URL has no query, fragment or credentials: ${url.href}` });
  }
  return url;
}

export function normalizeFingerprint(fingerprint: string): string {
  const hex = typeof fingerprint === 'string' ? fingerprint.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase() : '';
  if (!/^[0-9A-F]+$/.test(hex) || (hex.length !== 40 && hex.length !== 64)) {
    throw new SigillError('BAD_INPUT', { detail: 'a fingerprint has 40 (v4) or 64 (v6) hexadecimal digits' });
  }
  return hex;
}

export function createVksSource(options: VksSourceOptions): VksSource {
  const base = parseBaseUrl(options.baseUrl ?? DEFAULT_VKS_URL);
  const now = options.now ?? (() => new Date());
  const root = base.href.endsWith('/') ? base.href : `${base.href}/`;

  async function ask(url: string, address: string, signal: AbortSignal | undefined, expectFingerprint?: string): Promise<DiscoveryResult> {
    const result: DiscoveryResult = { source: 'vks', address, keys: [], rejected: [], attempts: [] };
    let outcome: KeyFetchOutcome;
    try {
      outcome = await fetchKeyData(url, {
        fetch: options.fetch,
        timeoutMs: options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
        maxBytes: options.maxBytes ?? DEFAULT_MAX_KEY_BYTES,
        refuseRedirect: (from, to) => (to.origin === from.origin ? undefined : `${to.origin} is another server`),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      result.error = toProblem(error);
      result.attempts.push({ url, outcome: result.error.message });
      return result;
    }
    if (!outcome.found) {
      result.attempts.push({ url, outcome: `not found (HTTP ${outcome.status})` });
      return result;
    }
    result.attempts.push({ url, outcome: `${outcome.body.byteLength} bytes` });
    const examined = await examineKeyData(outcome.body, { source: 'vks', address, origin: outcome.url, now: now() });
    if (expectFingerprint === undefined) return { ...result, ...examined };
    const matches = (fingerprint: string | undefined): boolean => fingerprint?.toUpperCase() === expectFingerprint;
    result.keys = examined.keys.filter((key) => matches(key.fingerprint));
    result.rejected = examined.rejected.filter((rejected) => matches(rejected.fingerprint) || rejected.fingerprint === undefined);
    for (const other of [...examined.keys, ...examined.rejected].filter((entry) => entry.fingerprint !== undefined && !matches(entry.fingerprint))) {
      const error = new SigillError('KEY_NOT_FOUND', { detail: `asked for ${expectFingerprint}, the server sent ${other.fingerprint?.toUpperCase()}` });
      result.rejected.push({ source: 'vks', address, fingerprint: other.fingerprint!, reason: toProblem(error) });
    }
    return result;
  }

  return {
    name: 'vks',
    enabled: options.enabled ?? true,
    baseUrl: base.href,
    async lookup(mailbox, lookupOptions = {}) {
      const { address } = parseAddress(mailbox);
      return ask(`${root}vks/v1/by-email/${encodeURIComponent(address)}`, address, lookupOptions.signal);
    },
    async lookupFingerprint(fingerprint, mailbox, lookupOptions = {}) {
      const hex = normalizeFingerprint(fingerprint);
      const { address } = parseAddress(mailbox);
      return ask(`${root}vks/v1/by-fingerprint/${hex}`, address, lookupOptions.signal, hex);
    },
  };
}
