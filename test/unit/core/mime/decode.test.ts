import { describe, expect, it } from 'vitest';
import { decodeHeaderText, decodeLeaf, parseMime, partFilename } from '../../../../src/core/index.ts';
import { decodeBase64Native } from '../../../../src/core/mime/decode.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('decodeLeaf (postal-mime for transfer encodings)', () => {
  it('decodes base64 and quoted-printable bodies and applies the charset', async () => {
    const b64 = parseMime(bytes(`Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('Grüße\n').toString('base64')}\r\n`));
    expect((await decodeLeaf(b64)).text).toBe('Grüße\n');
    const qp = parseMime(bytes('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe=\r\n soft\r\n'));
    expect((await decodeLeaf(qp)).text).toBe('Grüße soft\n');
  });

  it('base64 ignores characters outside the alphabet and tolerates missing padding (RFC 2045 §6.8)', async () => {
    const of = (body: string) => decodeLeaf(parseMime(bytes(`Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}`)));
    const expected = Array.from(new TextEncoder().encode('hello world!'));
    expect(Array.from((await of('aGVsbG8g\r\n d29y*bGQh\r\n')).bytes)).toEqual(expected);
    expect(Array.from((await of('aGVsbG8gd29ybGQ')).bytes)).toEqual(Array.from(new TextEncoder().encode('hello world')));
    // '=' inside the data is not clean base64: postal-mime's lenient decoder takes it, without failing.
    expect((await of('aGVs=bG8=')).bytes).toBeInstanceOf(Uint8Array);
  });

  it('leaves 7bit/8bit/binary bodies as they are and unknown charsets fall back to UTF-8', async () => {
    const leaf = parseMime(bytes('Content-Type: text/plain; charset=x-unknown\r\n\r\nhé'));
    expect((await decodeLeaf(leaf)).text).toBe('hé');
  });

  it('decodes file names: RFC 2231 and the RFC 2047 encoded words many mailers use', () => {
    const rfc2231 = parseMime(bytes("Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf\r\n\r\n"));
    expect(partFilename(rfc2231)).toBe('Résumé.pdf');
    const rfc2047 = parseMime(bytes('Content-Type: application/pdf; name="=?utf-8?B?UsOpc3Vtw6kucGRm?="\r\n\r\n'));
    expect(partFilename(rfc2047)).toBe('Résumé.pdf');
    expect(decodeHeaderText('=?utf-8?q?Gr=C3=BC=C3=9Fe?=')).toBe('Grüße');
  });
});

describe('decodeBase64Native', () => {
  /** What Uint8Array.fromBase64 does (TC39, Thunderbird 140+): ASCII whitespace skipped, anything else outside the alphabet refused. */
  const specDecoder = (calls: string[]) => (text: string): Uint8Array => {
    calls.push(text);
    if (!/^[A-Za-z0-9+/\t\n\f\r ]*=*[\t\n\f\r ]*$/.test(text)) throw new SyntaxError('not base64');
    return new Uint8Array(Buffer.from(text.replace(/[\t\n\f\r ]/g, ''), 'base64'));
  };
  const data = new Uint8Array(Array.from({ length: 1000 }, (_, index) => (index * 7) % 256));
  const wrapped = Buffer.from(data).toString('base64').replace(/.{76}/g, '$&\r\n');

  it("uses the engine's decoder on the body as it is, line breaks and all", () => {
    const calls: string[] = [];
    expect(decodeBase64Native(bytes(wrapped), { fromBase64: specDecoder(calls) })).toEqual(data);
    expect(calls).toEqual([wrapped]);
  });

  it('falls back to the lenient way when the engine refuses the text (characters to ignore, RFC 2045 §6.8)', () => {
    const calls: string[] = [];
    const stray = `${wrapped.slice(0, 100)}!${wrapped.slice(100)}`;
    expect(decodeBase64Native(bytes(stray), { fromBase64: specDecoder(calls) })).toEqual(data);
    expect(calls).toHaveLength(1);
  });

  it('decodes as before without an engine decoder, and a prefix never goes to it', () => {
    expect(decodeBase64Native(bytes(wrapped), { fromBase64: undefined })).toEqual(data);
    const calls: string[] = [];
    expect(decodeBase64Native(bytes(wrapped.slice(0, 200)), { prefix: true, fromBase64: specDecoder(calls) })).toEqual(data.subarray(0, 147));
    expect(calls).toEqual([]);
  });
});
