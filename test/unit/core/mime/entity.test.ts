import { describe, expect, it } from 'vitest';
import { canonicalCrlf, isAttachment, isSigillError, parseBudget, parseMime, splitMultipart } from '../../../../src/core/index.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const latin1 = (data: Uint8Array) => new TextDecoder('latin1').decode(data);

describe('parseMime', () => {
  it('splits headers, unfolds them and defaults to text/plain (RFC 2045 §5.2)', () => {
    const root = parseMime(bytes('Subject: a\r\n  folded\r\nX-Other: b\r\n\r\nbody\r\n'));
    expect(root.headers).toEqual([
      { name: 'subject', value: 'a  folded' },
      { name: 'x-other', value: 'b' },
    ]);
    expect(root.contentType).toEqual({ value: 'text/plain', params: { charset: 'us-ascii' } });
    expect(latin1(root.body)).toBe('body\r\n');
  });

  it('keeps the exact bytes of each body part; the CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1)', () => {
    const mail = 'Content-Type: multipart/mixed; boundary="b"\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n\r\n--b  \r\n\r\ntwo\r\n--b--\r\nepilogue\r\n';
    const root = parseMime(bytes(mail));
    expect(root.children.map((child) => latin1(child.raw))).toEqual(['Content-Type: text/plain\r\n\r\none\r\n', '\r\ntwo']);
    expect(latin1(root.children[0]?.body ?? new Uint8Array())).toBe('one\r\n');
    expect(root.children[1]?.headers).toEqual([]);
  });

  it('ignores a longer boundary that starts with the same text, and a delimiter not at a line start', () => {
    const text = 'x\r\n--b\r\n\r\nA --b inside\r\n--bb\r\nstill A\r\n--b--';
    const ranges = splitMultipart(text, 3, 'b');
    expect(ranges.map(([start, end]) => text.slice(start, end))).toEqual(['\r\nA --b inside\r\n--bb\r\nstill A']);
  });

  it('reads a missing close delimiter leniently: the last part runs to the end', () => {
    const root = parseMime(bytes('Content-Type: multipart/mixed; boundary=b\n\n--b\n\nonly\n'));
    expect(root.children.map((child) => latin1(child.body))).toEqual(['only\n']);
  });

  it('parses parameters: quoted, escaped, comments, RFC 2231 continuations', () => {
    const root = parseMime(bytes('Content-Type: Multipart/Signed (comment); protocol="application/pgp-signature"; micalg = pgp-sha256;\r\n boundary="a;\\"b"\r\nContent-Disposition: attachment; filename*0="long"; filename*1="name.txt"\r\n\r\n'));
    expect(root.contentType.value).toBe('multipart/signed');
    expect(root.contentType.params).toEqual({ protocol: 'application/pgp-signature', micalg: 'pgp-sha256', boundary: 'a;"b' });
    expect(root.disposition?.params.filename).toBe('longname.txt');
  });

  it('tells attachments from inline content', () => {
    const of = (headers: string) => parseMime(bytes(`${headers}\r\n\r\nx`));
    expect(isAttachment(of('Content-Type: text/plain'))).toBe(false);
    expect(isAttachment(of('Content-Type: text/plain\r\nContent-Disposition: attachment'))).toBe(true);
    expect(isAttachment(of('Content-Type: application/pdf'))).toBe(true);
    expect(isAttachment(of('Content-Type: image/png\r\nContent-Disposition: inline'))).toBe(false);
    expect(isAttachment(of('Content-Type: text/plain; name="a.txt"'))).toBe(true);
  });

  it('enforces the bounds: depth, part count, header size (MALFORMED_MIME)', () => {
    const nested = (depth: number) => {
      let body = 'Content-Type: text/plain\r\n\r\nleaf';
      for (let level = 0; level < depth; level++) body = `Content-Type: multipart/mixed; boundary="b${level}"\r\n\r\n--b${level}\r\n${body}\r\n--b${level}--`;
      return bytes(body);
    };
    expect(parseMime(nested(5), parseBudget({ maxDepth: 5 })).children).toHaveLength(1);
    expect(() => parseMime(nested(6), parseBudget({ maxDepth: 5 }))).toThrow(expect.objectContaining({ code: 'MALFORMED_MIME' }));
    const many = `Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\n\r\nx\r\n'.repeat(20)}--b--`;
    expect(() => parseMime(bytes(many), parseBudget({ maxParts: 10 }))).toThrow(expect.objectContaining({ code: 'MALFORMED_MIME' }));
    try {
      parseMime(bytes(`X-Big: ${'a'.repeat(2000)}\r\n\r\nbody`), parseBudget({ maxHeaderBytes: 1000 }));
      expect.unreachable();
    } catch (error) {
      expect(isSigillError(error, 'MALFORMED_MIME')).toBe(true);
    }
    expect(() => parseMime(bytes('x'.repeat(100)), parseBudget({ maxMessageBytes: 10 }))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });

  it('canonicalCrlf turns bare LF into CRLF and leaves CRLF alone', () => {
    expect(latin1(canonicalCrlf(bytes('a\nb\r\nc\n')))).toBe('a\r\nb\r\nc\r\n');
    const already = bytes('a\r\n');
    expect(canonicalCrlf(already)).toBe(already);
  });
});
