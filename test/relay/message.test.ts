// headerField: the one function that turns client-supplied text into header bytes cannot be made to
// end a line early, whatever the value holds; it writes UTF-8, never a one-byte truncation.
import { describe, expect, it } from 'vitest';
import { counted, headerField, HeaderValueError, rfc5322Date } from '../../src/relay/message.ts';

describe('headerField', () => {
  it('writes UTF-8 and folds with CRLF TAB', () => {
    expect(headerField('Return-Path', '<jörg@exämple.org>').equals(Buffer.from('Return-Path: <jörg@exämple.org>\r\n', 'utf8'))).toBe(true);
    // U+010A/U+010D stay two-byte sequences (latin1 would have made them LF/CR).
    expect([...headerField('X', 'aĊč')]).toEqual([...Buffer.from('X: a\xc4\x8a\xc4\x8d\r\n', 'latin1')]);
    expect(headerField('Received', ['from a', 'by b;', 'date']).toString('utf8')).toBe('Received: from a\r\n\tby b;\r\n\tdate\r\n');
  });

  it('refuses CR, LF, other controls, NEL and U+2028/U+2029 in a value, and bad names or empty folds', () => {
    for (const value of ['a\rb', 'a\nb', 'a\r\nX: y', 'a\0b', 'a\x7fb', 'a\u0085b', 'a\u2028b', 'a\u2029b']) {
      expect(() => headerField('Return-Path', value), JSON.stringify(value)).toThrow(HeaderValueError);
    }
    expect(() => headerField('Bad Name', 'x')).toThrow(HeaderValueError);
    expect(() => headerField('Bad:Name', 'x')).toThrow(HeaderValueError);
    expect(() => headerField('Received', ['a', ' '])).toThrow(HeaderValueError);
    expect(() => headerField('Received', [])).toThrow(HeaderValueError);
    expect(headerField('X', 'tab\tinside').toString()).toBe('X: tab\tinside\r\n');
  });

  it('dates in RFC 5322 form, UTC', () => {
    expect(rfc5322Date(new Date(0))).toBe('Thu, 01 Jan 1970 00:00:00 +0000');
  });
});

describe('counted', () => {
  it('uses the singular for exactly one', () => {
    expect([0, 1, 2].map((count) => counted(count, 'message'))).toEqual(['0 messages', '1 message', '2 messages']);
    expect(counted(1, 'mailbox', 'mailboxes')).toBe('1 mailbox');
    expect(counted(3, 'mailbox', 'mailboxes')).toBe('3 mailboxes');
  });
});
