import { describe, expect, it } from 'vitest';
import { blobSource, bytesSource, decodeBody, decodedBodyPrefix, decodedBodyStream, entityBytes, readAll, isSigillError, parseBudget, parseMime, parseMimeSource, STORED_PEEK, type MimeEntity } from '../../../../src/core/index.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const latin1 = (data: Uint8Array) => new TextDecoder('latin1').decode(data);

/** What a parse tells: headers, types, the exact bytes of each entity and body, the children, depth. */
async function shape(entity: MimeEntity): Promise<unknown> {
  return {
    headers: entity.headers,
    contentType: entity.contentType,
    disposition: entity.disposition,
    raw: latin1(await entityBytes(entity)),
    body: latin1(await decodeBody(entity)),
    depth: entity.depth,
    children: await Promise.all(entity.children.map(shape)),
  };
}

/** Mails whose boundaries, line breaks and delimiters exercise every rule of splitMultipart. */
const corpus: string[] = [
  [
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'preamble with --outer inside a line',
    '--outer',
    'Content-Type: text/plain',
    '',
    'one',
    '',
    '--outer  \t',
    '',
    'header-less part',
    '--outerlonger',
    'still the second part',
    '--outer',
    'Content-Type: multipart/alternative; boundary=inner',
    '',
    '--inner',
    'Content-Type: text/plain',
    '',
    'plain',
    '--inner',
    'Content-Type: text/html',
    'Content-Transfer-Encoding: base64',
    '',
    'PGI+aHRtbDwvYj4=',
    '--inner--',
    '--outer--',
    'epilogue',
    '',
  ].join('\r\n'),
  // Bare LF line ends, no close delimiter: the last part runs to the end.
  'Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\nContent-Type: text/plain\n\nlast part without close\n',
  // A multipart whose body is empty, and a delimiter at the very end of the mail.
  'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\r\n--b--',
  // Headers only.
  'Subject: only headers\r\nContent-Type: text/plain',
];

describe('parseMimeSource: the same tree as parseMime, read in windows', () => {
  it('every window size puts the boundaries at every place across window edges, with the same result', async () => {
    for (const mail of corpus) {
      const expected = await shape(parseMime(bytes(mail)));
      for (let windowSize = 16; windowSize <= 90; windowSize++) {
        const root = await parseMimeSource(blobSource(new Blob([bytes(mail)])), parseBudget(), 0, { inMemoryBelow: 0, windowSize });
        expect(await shape(root), `window ${windowSize}: ${mail.slice(0, 40)}`).toEqual(expected);
      }
    }
  });

  it('keeps a large leaf in its source: the body is a prefix, read whole only on request', async () => {
    const payload = 'x'.repeat(STORED_PEEK * 2);
    const mail = bytes(`Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n${payload}\r\n--b--\r\n`);
    const root = await parseMimeSource(bytesSource(mail), parseBudget(), 0, { inMemoryBelow: 1024, windowSize: 4096 });
    const [leaf] = root.children as [MimeEntity];
    expect(leaf.stored).toBeDefined();
    expect(leaf.raw.length).toBe(0);
    expect(leaf.body.length).toBe(STORED_PEEK);
    expect(latin1(await decodeBody(leaf))).toBe(payload);
  });

  it('decodes a stored body as a stream: base64 and identity a chunk at a time, quoted-printable whole; the prefix tells what it is', async () => {
    const data = new Uint8Array(200 * 1024).map((_, index) => (index * 7) & 0xff);
    const base64 = Buffer.from(data).toString('base64').replace(/.{76}/g, '$&\r\n');
    const quoted = 'caf=C3=A9 '.repeat(30 * 1024);
    const mail = bytes(
      `Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64}\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quoted}\r\n--b--\r\n`,
    );
    const root = await parseMimeSource(bytesSource(mail), parseBudget(), 0, { inMemoryBelow: 1024, windowSize: 4096 });
    const [encoded, printable] = root.children as [MimeEntity, MimeEntity];
    expect(encoded.stored && printable.stored).toBeTruthy();
    expect(Buffer.from(await readAll(decodedBodyStream(encoded))).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(await decodedBodyPrefix(encoded)).equals(Buffer.from(data.subarray(0, (await decodedBodyPrefix(encoded)).length)))).toBe(true);
    expect((await decodedBodyPrefix(encoded)).length).toBeGreaterThan(40 * 1024);
    const inMemory = parseMime(mail).children[1] as MimeEntity;
    const decoded = new TextDecoder().decode(await readAll(decodedBodyStream(printable)));
    expect(decoded).toBe(new TextDecoder().decode(await decodeBody(inMemory)));
    expect(decoded.startsWith('café café ')).toBe(true);
  });

  it('enforces the same bounds: depth, part count, header size (MALFORMED_MIME), message size (TOO_LARGE)', async () => {
    const windowed = { inMemoryBelow: 0, windowSize: 32 };
    const code = async (mail: string, limits: Parameters<typeof parseBudget>[0]) => {
      try {
        await parseMimeSource(bytesSource(bytes(mail)), parseBudget(limits), 0, windowed);
        return 'parsed';
      } catch (error) {
        return isSigillError(error) ? error.code : String(error);
      }
    };
    let nested = 'Content-Type: text/plain\r\n\r\nleaf';
    for (let level = 0; level < 6; level++) nested = `Content-Type: multipart/mixed; boundary="b${level}"\r\n\r\n--b${level}\r\n${nested}\r\n--b${level}--`;
    expect(await code(nested, { maxDepth: 6 })).toBe('parsed');
    expect(await code(nested, { maxDepth: 5 })).toBe('MALFORMED_MIME');
    expect(await code(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\n\r\nx\r\n'.repeat(20)}--b--`, { maxParts: 10 })).toBe('MALFORMED_MIME');
    expect(await code(`X-Big: ${'a'.repeat(2000)}\r\n\r\nbody`, { maxHeaderBytes: 1000 })).toBe('MALFORMED_MIME');
    expect(await code('x'.repeat(100), { maxMessageBytes: 10 })).toBe('TOO_LARGE');
  });
});
