/**
 * One careful HTTP GET for key data: a deadline for the whole exchange (redirects and body
 * included), a cap on the body read as a stream (a larger answer is refused, never truncated), and
 * redirects followed only where the caller's policy allows, at most `maxRedirects` times.
 *
 * Redirects are handled by hand (`redirect: 'manual'`): a key server must not send a lookup on to
 * an arbitrary host. Node's fetch shows the 3xx answer and its Location; a browser's fetch hides
 * both (an "opaqueredirect" answer), so there a redirect is refused with a clear reason.
 */
import { SigillError } from '../errors.ts';
import type { Fetch } from '../platform.ts';

export interface KeyFetchPolicy {
  fetch: Fetch;
  timeoutMs: number;
  maxBytes: number;
  /** Why a redirect from `from` to `to` is refused, or undefined to follow it. */
  refuseRedirect(from: URL, to: URL): string | undefined;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export type KeyFetchOutcome =
  | { found: true; url: string; body: Uint8Array; redirects: string[] }
  | { found: false; url: string; status: number; redirects: string[] };

const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// 404 is "no key for this address" (draft-koch-openpgp-webkey-service §3.1; VKS); 410 is its lasting form.
const NOT_FOUND_STATUSES = new Set([404, 410]);

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici: TypeError('fetch failed') with the real reason (ENOTFOUND, ECONNREFUSED, a TLS error) as cause.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return error.message;
}

function isTimeout(error: unknown, deadline: AbortSignal): boolean {
  return deadline.aborted || (error instanceof DOMException && error.name === 'TimeoutError');
}

async function readCapped(response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const tooLarge = (): SigillError => new SigillError('TOO_LARGE', { detail: `the answer of ${url} is larger than ${maxBytes} bytes` });
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * GETs `url`. Resolves `found` with the body (status 200) or `not found` (404/410); throws
 * LOOKUP_TIMEOUT, TOO_LARGE or LOOKUP_FAILED (network or TLS failure, any other status, a refused
 * redirect) with the URL in the detail.
 */
export async function fetchKeyData(url: string, policy: KeyFetchPolicy): Promise<KeyFetchOutcome> {
  const deadline = AbortSignal.timeout(policy.timeoutMs);
  const signal = policy.signal === undefined ? deadline : AbortSignal.any([deadline, policy.signal]);
  const maxRedirects = policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const redirects: string[] = [];
  let current = new URL(url);
  try {
    for (;;) {
      // Network, TLS, timeout and cancellation failures are told apart below.
      const response = await policy.fetch(current.href, {
        method: 'GET',
        redirect: 'manual',
        credentials: 'omit',
        headers: { accept: 'application/octet-stream, application/pgp-keys, */*;q=0.5' },
        signal,
      });
      if (response.type === 'opaqueredirect') {
        throw new SigillError('LOOKUP_FAILED', { detail: `${current.href} answered with a redirect, which is not followed here` });
      }
      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        const location = response.headers.get('location');
        if (location === null) throw new SigillError('LOOKUP_FAILED', { detail: `${current.href}: HTTP ${response.status} without a Location` });
        const next = new URL(location, current);
        const refusal = redirects.length >= maxRedirects ? `more than ${maxRedirects} redirects` : policy.refuseRedirect(current, next);
        if (refusal !== undefined) {
          throw new SigillError('LOOKUP_FAILED', { detail: `${current.href} redirects to ${next.href}: refused (${refusal})` });
        }
        redirects.push(next.href);
        current = next;
        continue;
      }
      if (NOT_FOUND_STATUSES.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        return { found: false, url: current.href, status: response.status, redirects };
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new SigillError('LOOKUP_FAILED', { detail: `${current.href}: HTTP ${response.status}` });
      }
      return { found: true, url: current.href, body: await readCapped(response, policy.maxBytes, current.href), redirects };
    }
  } catch (error) {
    if (error instanceof SigillError) throw error;
    if (isTimeout(error, deadline)) {
      throw new SigillError('LOOKUP_TIMEOUT', { detail: `${current.href}: no complete answer within ${policy.timeoutMs} ms`, cause: error });
    }
    if (policy.signal?.aborted === true) throw new SigillError('LOOKUP_FAILED', { detail: `${current.href}: cancelled`, cause: error });
    throw new SigillError('LOOKUP_FAILED', { detail: `${current.href}: ${describeCause(error)}`, cause: error });
  }
}

/** The host is `domain` itself or one of its sub-domains (e.g. `openpgpkey.<domain>`). */
export function isWithinDomain(host: string, domain: string): boolean {
  const normalized = host.toLowerCase().replace(/\.$/, '');
  return normalized === domain || normalized.endsWith(`.${domain}`);
}
