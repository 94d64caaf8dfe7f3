/**
 * The WKD hash against GnuPG's own (gpg-wks-client --print-wkd-hash): the same z-base-32 of the
 * SHA-1 of the local part with only ASCII letters lowered, for plain, mixed-case, non-ASCII and
 * punctuated addresses.
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { wkdUrls } from '../../../../src/core/index.ts';
import { describeWithTools } from '../../../support/tools.ts';

const GPG_WKS_CLIENT = '/usr/lib/gnupg/gpg-wks-client';
const addresses = ['Joe.Doe@Example.ORG', 'bob@sigill.test', 'ÄRLA@bücher.example', 'ärla@bücher.example', 'a+b&c@example.org', 'O\'Brien.Sean@example.ie'];

describeWithTools([{ command: GPG_WKS_CLIENT, debianPackage: 'gpg-wks-client' }], 'WKD hash as GnuPG computes it', () => {
  it('matches gpg-wks-client --print-wkd-hash for every address', () => {
    const lines = execFileSync(GPG_WKS_CLIENT, ['--print-wkd-hash', ...addresses], { encoding: 'utf8' }).trim().split('\n');
    expect(lines).toHaveLength(addresses.length);
    const gnupgHashes = lines.map((line) => line.split(' ')[0]);
    expect(addresses.map((address) => wkdUrls(address).hash)).toEqual(gnupgHashes);
  });
});
