// Pure parts of delivery and the SMTP layer: next-hop choice (routes, MX, null MX, implicit MX),
// the DSN's shape and its resistance to injection, envelope address parsing, the data checker.
import { describe, expect, it } from 'vitest';
import { buildDsn } from '../../../src/relay/delivery/dsn.ts';
import { cleanDiagnostic, statusCodeOf } from '../../../src/relay/delivery/outcome.ts';
import { nextHops } from '../../../src/relay/delivery/remote.ts';
import { parseEnvelopeAddress } from '../../../src/relay/smtp/address.ts';
import { DataChecker } from '../../../src/relay/smtp/data.ts';
import { receivedHeader } from '../../../src/relay/smtp/trace.ts';

const failingResolver = (code: string) => ({
  resolveMx: async () => {
    throw Object.assign(new Error(code), { code });
  },
});

describe('next hops', () => {
  it('prefers a static route, then MX by preference, then the domain itself', async () => {
    expect(await nextHops({ domain: 'a.test', routes: { 'a.test': { host: '127.0.0.1', port: 2526 } } })).toEqual({ ok: true, hops: [{ host: '127.0.0.1', port: 2526 }] });
    const resolver = { resolveMx: async () => [{ exchange: 'mx2.b.test', priority: 20 }, { exchange: 'mx1.b.test', priority: 10 }] };
    expect(await nextHops({ domain: 'b.test', routes: {}, resolver })).toEqual({ ok: true, hops: [{ host: 'mx1.b.test', port: 25 }, { host: 'mx2.b.test', port: 25 }] });
    expect(await nextHops({ domain: 'c.test', routes: {}, resolver: failingResolver('ENODATA') })).toEqual({ ok: true, hops: [{ host: 'c.test', port: 25 }] });
  });

  it('fails permanently for a null MX (RFC 7505) or a missing domain, temporarily for DNS trouble', async () => {
    const nullMx = { resolveMx: async () => [{ exchange: '', priority: 0 }] };
    expect(await nextHops({ domain: 'n.test', routes: {}, resolver: nullMx })).toMatchObject({ ok: false, outcome: { status: 'permanent', statusCode: '5.1.10' } });
    expect(await nextHops({ domain: 'x.test', routes: {}, resolver: failingResolver('ENOTFOUND') })).toMatchObject({ ok: false, outcome: { status: 'permanent', statusCode: '5.1.2' } });
    expect(await nextHops({ domain: 'x.test', routes: {}, resolver: failingResolver('ETIMEOUT') })).toMatchObject({ ok: false, outcome: { status: 'temporary' } });
  });
});

describe('DSN', () => {
  const original = Buffer.from('Received: from x\r\nSubject: hello\r\nFrom: a@b.test\r\n\r\nsecret body\r\n');

  it('is a multipart/report with the three parts and no body of the original', () => {
    const dsn = buildDsn({
      reportingMta: 'mx.sigill.test',
      originalSender: 'alice@sigill.test',
      failures: [{ recipient: 'carol@example.net', statusCode: '5.1.1', diagnostic: '550 5.1.1 no such user', remoteMta: 'mx.example.net' }],
      arrivalDate: new Date('2026-01-02T03:04:05Z'),
      originalMessage: original,
    }).toString('utf8');
    expect(dsn).toMatch(/^From: Mail Delivery System <MAILER-DAEMON@mx\.sigill\.test>\r\nTo: <alice@sigill\.test>\r\n/);
    expect(dsn).toContain('Auto-Submitted: auto-replied');
    const boundary = /boundary="([^"]+)"/.exec(dsn)![1]!;
    const parts = dsn.split(`--${boundary}`);
    expect(parts).toHaveLength(5); // preamble, three parts, closing
    expect(parts[2]).toContain('Content-Type: message/delivery-status');
    expect(parts[2]).toContain('Arrival-Date: Fri, 02 Jan 2026 03:04:05 +0000');
    expect(parts[3]).toContain('Content-Type: text/rfc822-headers\r\n\r\nReceived: from x\r\nSubject: hello\r\nFrom: a@b.test\r\n');
    expect(dsn).not.toContain('secret body');
    expect(dsn.split('\r\n').every((line) => !line.includes('\n') && !line.includes('\r'))).toBe(true);
  });

  it('keeps hostile diagnostics and addresses on their own line', () => {
    const dsn = buildDsn({
      reportingMta: 'mx.sigill.test',
      originalSender: 'alice@sigill.test\r\nBcc: victim@example.net',
      failures: [{ recipient: 'carol@example.net', statusCode: '5.0.0', diagnostic: '550 bad\r\nSubject: injected\r\n\r\nbody' }],
      arrivalDate: new Date(),
      originalMessage: original,
    }).toString('utf8');
    expect(dsn).not.toMatch(/\r\nBcc:/);
    expect(dsn).not.toMatch(/\r\nSubject: injected/);
  });

  it('takes the enhanced status code from a reply, else from its class', () => {
    expect(statusCodeOf('550 5.1.1 no such user', 550)).toBe('5.1.1');
    expect(statusCodeOf('554 transaction failed', 554)).toBe('5.0.0');
    expect(statusCodeOf('connect ECONNREFUSED', undefined)).toBe('4.0.0');
    expect(cleanDiagnostic('a\r\nb\u0000c')).toBe('a b c');
  });
});

describe('envelope addresses', () => {
  it('accepts dot-atoms and normalises the domain', () => {
    expect(parseEnvelopeAddress('Bob.Smith+tag@Sigill.TEST', { utf8: false })).toEqual({ ok: true, value: { address: 'Bob.Smith+tag@sigill.test', local: 'Bob.Smith+tag', domain: 'sigill.test' } });
    expect(parseEnvelopeAddress('jörg@bücher.test', { utf8: true })).toMatchObject({ ok: true, value: { domain: 'xn--bcher-kva.test' } });
  });

  it.each(['"quoted"@sigill.test', 'a..b@sigill.test', '.a@sigill.test', 'a@sigill.test.', 'a@[127.0.0.1]', 'a@-bad.test', 'jörg@sigill.test', 'a@'])('refuses %s', (address) => {
    expect(parseEnvelopeAddress(address, { utf8: false }).ok).toBe(false);
  });
});

describe('data checker', () => {
  const check = (text: string, lineLength = 1000) => {
    const checker = new DataChecker(lineLength);
    for (const byte of Buffer.from(text, 'latin1')) checker.check(Uint8Array.of(byte)); // split everywhere
    checker.finish();
    return checker.violation;
  };

  it('passes CRLF text and finds bare CR, bare LF and long lines however the data is split', () => {
    expect(check('a\r\nb\r\n')).toBeUndefined();
    expect(check('a\nb\r\n')).toBe('bare-lf');
    expect(check('a\rb\r\n')).toBe('bare-cr');
    expect(check('a\r\r\n')).toBe('bare-cr');
    expect(check('a\r')).toBe('bare-cr');
    expect(check(`${'x'.repeat(98)}\r\n`, 100)).toBeUndefined();
    expect(check(`${'x'.repeat(99)}\r\n`, 100)).toBe('line-too-long');
  });
});

describe('Received header', () => {
  it('carries only safe tokens from the client, and "for" only with one recipient', () => {
    const header = receivedHeader({ helo: 'evil\r\nX: y', remoteAddress: '::1', hostname: 'mx.sigill.test', protocol: 'ESMTPS', id: 'abc', recipients: ['a@b.test', 'c@d.test'], date: new Date(0) });
    expect(header.toString('utf8')).toBe('Received: from invalid ([IPv6:::1])\r\n\tby mx.sigill.test (Sigill relay) with ESMTPS id abc;\r\n\tThu, 01 Jan 1970 00:00:00 +0000\r\n');
  });
});
