/**
 * fetchKeyData's edges that a Node server cannot show: a browser's opaque redirect, and the caller
 * cancelling. (The deadline, cap, redirects and statuses are tested against real servers in wkd/vks.)
 */
import { describe, expect, it } from 'vitest';
import { fetchKeyData, type Fetch } from '../../../../src/core/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';

const policy = { timeoutMs: 5000, maxBytes: 1024, refuseRedirect: () => undefined };

describe('fetchKeyData', () => {
  it("refuses a browser's opaque redirect (its target cannot be checked)", async () => {
    // What Firefox's fetch returns for `redirect: 'manual'`: type "opaqueredirect", status 0, no headers.
    // Node's fetch never produces it, so this stand-in is the browser's answer, named as such.
    const browserOpaqueRedirect = { type: 'opaqueredirect', status: 0, headers: new Headers(), body: null } as unknown as Response;
    const fetch: Fetch = async () => browserOpaqueRedirect;
    const error = await expectSigillError(fetchKeyData('https://sigill.test/key', { ...policy, fetch }), 'LOOKUP_FAILED');
    expect(error.message).toContain('https://sigill.test/key answered with a redirect, which is not followed here');
  });

  it('stops when the caller cancels, and says so', async () => {
    const controller = new AbortController();
    const fetch: Fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }));
    const pending = fetchKeyData('https://sigill.test/key', { ...policy, fetch, signal: controller.signal });
    controller.abort();
    const error = await expectSigillError(pending, 'LOOKUP_FAILED');
    expect(error.message).toContain('cancelled');
  });
});
