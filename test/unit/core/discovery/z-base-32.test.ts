import { describe, expect, it } from 'vitest';
import { wkdUrls, zBase32Encode } from '../../../../src/core/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';

describe('z-base-32', () => {
  it('encodes 5 bits per character, most significant first, with the z-base-32 alphabet', () => {
    expect(zBase32Encode(new Uint8Array([]))).toBe('');
    expect(zBase32Encode(new Uint8Array([0]))).toBe('yy');
    expect(zBase32Encode(new Uint8Array([0xff]))).toBe('9h');
    expect(zBase32Encode(new Uint8Array([0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf, 0x84, 0x65, 0x3a, 0x56, 0xd7, 0xc6, 0x75, 0xbe, 0x77, 0xdf]))).toBe(
      'ybndrfg8ejkmcpqxot1uwisza345h769',
    );
  });

  it("gives the draft's hash for Joe.Doe@Example.ORG (draft-koch-openpgp-webkey-service §3.1)", () => {
    const urls = wkdUrls('Joe.Doe@Example.ORG');
    expect(urls.hash).toBe('iy9q119eutrkn8s1mk4r39qejnbu3n5q');
    expect(urls.advanced).toBe('https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe');
    expect(urls.direct).toBe('https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe');
  });

  it('hashes the local part with only ASCII lowered, and sends it percent-encoded in ?l=', () => {
    expect(wkdUrls('JOE.DOE@example.org').hash).toBe('iy9q119eutrkn8s1mk4r39qejnbu3n5q');
    expect(wkdUrls('Joe Doe <joe.doe@example.org>').hash).toBe('iy9q119eutrkn8s1mk4r39qejnbu3n5q');
    // Non-ASCII letters are not lowered: Ä and ä hash differently.
    expect(wkdUrls('Ärla@example.org').hash).not.toBe(wkdUrls('ärla@example.org').hash);
    expect(wkdUrls('a+b&c@example.org').direct).toMatch(/\?l=a%2Bb%26c$/);
    expect(wkdUrls('bob@bücher.example').advanced).toMatch(/^https:\/\/openpgpkey\.xn--bcher-kva\.example\/\.well-known\/openpgpkey\/xn--bcher-kva\.example\/hu\//);
  });

  it('refuses what is not one address', async () => {
    for (const bad of ['', 'bob', '@example.org', 'bob@', 'a b@example.org', 'bob@exa mple.org', 'bob@evil.test/..sigill.test', 'bob@sigill.test:8443', 'bob@[127.0.0.1]', 'bob@localhost', 'bob@sigill..test']) {
      await expectSigillError(() => wkdUrls(bad), 'BAD_INPUT');
    }
  });
});
