import { describe, expect, it } from 'vitest';
import { headlineOf } from '../../../../extension/display/headline.ts';

const view = (encryption: 'encrypted' | 'not-encrypted' | 'partially-encrypted', signature: 'signed' | 'unverified' | 'not-signed' | 'bad' | 'partially-signed') => ({
  openpgp: true,
  errors: [],
  encryption,
  signature,
});

describe("the status popup's headline", () => {
  it('says a message signed by a key it cannot check is signed, not "not signed"', () => {
    expect(headlineOf(view('encrypted', 'unverified'))).toEqual({ key: 'statusHeadline_encryptedUnverified', className: 'state-ok' });
    expect(headlineOf(view('not-encrypted', 'unverified'))).toEqual({ key: 'statusHeadline_unverified', className: '' });
  });

  it('keeps the other states', () => {
    expect(headlineOf(view('encrypted', 'signed')).key).toBe('statusHeadline_encryptedSigned');
    expect(headlineOf(view('encrypted', 'not-signed')).key).toBe('statusHeadline_encrypted');
    expect(headlineOf(view('not-encrypted', 'signed')).key).toBe('statusHeadline_signed');
    expect(headlineOf(view('encrypted', 'bad'))).toEqual({ key: 'statusHeadline_badSignature', className: 'state-bad' });
    expect(headlineOf(view('partially-encrypted', 'not-signed')).key).toBe('statusHeadline_partial');
    expect(headlineOf({ ...view('encrypted', 'signed'), errors: [{ where: 'body', code: 'INTEGRITY_FAILURE', message: 'x', retryable: false }] }).key).toBe('statusHeadline_failed');
    expect(headlineOf({ ...view('encrypted', 'signed'), openpgp: false }).key).toBe('statusHeadline_none');
  });

  it('names messages that exist in both locales', async () => {
    const { readFileSync } = await import('node:fs');
    for (const locale of ['en', 'sv']) {
      const messages = JSON.parse(readFileSync(`extension/_locales/${locale}/messages.json`, 'utf8')) as Record<string, { message: string }>;
      expect(messages.statusHeadline_encryptedUnverified?.message).toBeTruthy();
    }
  });
});
