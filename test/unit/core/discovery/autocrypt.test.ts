/**
 * Autocrypt Level 1 header parsing (§2.1, §2.3): folded headers, invalid ones ignored with a reason,
 * several headers, addr against From, prefer-encrypt; the key becomes an undecided candidate.
 */
import { describe, expect, it } from 'vitest';
import { autocryptCandidates, autocryptFieldValues, parseAutocryptHeader, parseAutocryptHeaders, readCertificates } from '../../../../src/core/index.ts';
import { readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';

async function keydata(name: 'bob' | 'alice' | 'revoked'): Promise<string> {
  const [certificate] = await readCertificates(readFixture(name, 'pub'));
  return Buffer.from(certificate!.write()).toString('base64');
}

/** A header field folded the way mailers do: 76-character lines, each continued with a space. */
function folded(value: string): string {
  const lines = value.match(/.{1,76}/g) ?? [];
  return `Autocrypt: ${lines.join('\r\n ')}`;
}

describe('Autocrypt headers', () => {
  it('unfolds Autocrypt fields from a header section and leaves Autocrypt-Gossip and the body alone', async () => {
    const data = await keydata('bob');
    const section = [
      'From: Bob <bob@sigill.test>',
      'To: alice@sigill.test',
      folded(`addr=bob@sigill.test; prefer-encrypt=mutual; keydata=${data}`),
      'Autocrypt-Gossip: addr=carol@sigill.test; keydata=AAAA',
      'Subject: hello',
      '',
      'Autocrypt: addr=mallory@sigill.test; keydata=AAAA',
    ].join('\r\n');
    const values = autocryptFieldValues(section);
    expect(values).toHaveLength(1);
    // Unfolding removes the line breaks (RFC 5322 §2.2.3); the white space left inside keydata is ignored.
    expect(values[0]).toMatch(/^addr=bob@sigill\.test; prefer-encrypt=mutual; keydata=\S+( \S+)+$/);
    // The same with bare LF line ends (a message saved by a Unix tool) and tabs as the folding white space.
    const lfValues = autocryptFieldValues(section.replace(/\r\n /g, '\n\t').replace(/\r\n/g, '\n'));
    expect(lfValues).toHaveLength(1);
    expect(parseAutocryptHeader(lfValues[0]!).keydata).toEqual(parseAutocryptHeader(values[0]!).keydata);
    const header = parseAutocryptHeader(values[0]!);
    expect(header).toMatchObject({ addr: 'bob@sigill.test', preferEncrypt: 'mutual' });
    expect(Buffer.from(header.keydata).toString('base64')).toBe(data);
  });

  it('reads prefer-encrypt: mutual, anything else is nopreference; _attributes are skipped', async () => {
    const data = await keydata('bob');
    expect(parseAutocryptHeader(`addr=bob@sigill.test; keydata=${data}`).preferEncrypt).toBe('nopreference');
    expect(parseAutocryptHeader(`addr=bob@sigill.test; prefer-encrypt=sometimes; keydata=${data}`).preferEncrypt).toBe('nopreference');
    expect(parseAutocryptHeader(`addr=Bob@Sigill.test; _version=2; PREFER-ENCRYPT=Mutual; keydata=${data}`)).toMatchObject({ addr: 'bob@sigill.test', preferEncrypt: 'mutual' });
  });

  it('finds invalid headers invalid, each with its reason', async () => {
    const data = await keydata('bob');
    const cases: [string, RegExp][] = [
      [`keydata=${data}`, /no addr attribute/],
      ['addr=bob@sigill.test', /no keydata attribute/],
      [`addr=bob@sigill.test; color=blue; keydata=${data}`, /unknown critical attribute "color"/],
      [`addr=bob@sigill.test; addr=eve@sigill.test; keydata=${data}`, /attribute addr given twice/],
      ['addr=bob@sigill.test; keydata=not*base64!', /keydata is not valid base64/],
      [`addr=bob@sigill.test; keydata`, /attribute without "="/],
      [`addr=not an address; keydata=${data}`, /not a mail address/],
    ];
    for (const [value, reason] of cases) {
      const error = await expectSigillError(() => parseAutocryptHeader(value), 'BAD_INPUT');
      expect(error.message).toMatch(reason);
    }
    await expectSigillError(() => parseAutocryptHeader(`addr=bob@sigill.test; keydata=${data}`, 100), 'TOO_LARGE');
  });

  it('uses the one valid header whose addr is the From address, ignoring the others with reasons', async () => {
    const bob = await keydata('bob');
    const parsed = parseAutocryptHeaders({
      from: 'Bob <BOB@sigill.test>',
      headers: [`addr=bob@sigill.test; keydata=${bob}`, `addr=alice@sigill.test; keydata=${bob}`, 'addr=bob@sigill.test; color=red; keydata=AAAA'],
    });
    expect(parsed.header?.addr).toBe('bob@sigill.test');
    expect(parsed.ignored.map((entry) => entry.reason)).toEqual([
      'addr alice@sigill.test is not the From address bob@sigill.test',
      expect.stringMatching(/unknown critical attribute "color"/),
    ]);
  });

  it('discards all headers when more than one is valid (§2.3)', async () => {
    const bob = await keydata('bob');
    const parsed = parseAutocryptHeaders({ from: 'bob@sigill.test', headers: [`addr=bob@sigill.test; keydata=${bob}`, `addr=bob@sigill.test; prefer-encrypt=mutual; keydata=${bob}`] });
    expect(parsed.header).toBeUndefined();
    expect(parsed.ignored).toHaveLength(2);
    expect(parsed.ignored[0]?.reason).toBe('one of 2 valid Autocrypt headers: all are discarded');
  });

  it('turns the valid header into an undecided candidate with its prefer-encrypt', async () => {
    const section = `From: bob@sigill.test\r\n${folded(`addr=bob@sigill.test; prefer-encrypt=mutual; keydata=${await keydata('bob')}`)}\r\n\r\nbody`;
    const result = await autocryptCandidates({ headers: section, from: 'Bob <bob@sigill.test>', now: () => new Date('2026-01-01T00:00:00Z') });
    expect(result.rejected).toEqual([]);
    expect(result.keys).toHaveLength(1);
    expect(result.keys[0]).toMatchObject({
      source: 'autocrypt',
      address: 'bob@sigill.test',
      fingerprint: '7132cb7a3955c51fcc12541c3d806e1d93bca2e2',
      preferEncrypt: 'mutual',
      origin: 'Autocrypt header',
      fetchedAt: new Date('2026-01-01T00:00:00Z'),
    });
  });

  it('reports ignored headers and refused keys as rejections', async () => {
    const result = await autocryptCandidates({
      from: 'revoked@sigill.test',
      headers: [`addr=revoked@sigill.test; keydata=${await keydata('revoked')}`, 'addr=revoked@sigill.test; keydata=%%%'],
    });
    expect(result.keys).toEqual([]);
    expect(result.rejected.map((entry) => entry.reason.code)).toEqual(['BAD_INPUT', 'KEY_REVOKED']);
    expect(result.rejected[0]?.reason.message).toMatch(/Autocrypt header ignored \(.*keydata is not valid base64.*\): addr=revoked@sigill\.test; keydata=%%%/);
  });
});
