import { describe, expect, it } from 'vitest';
import { decodeFlowed } from '../../../../src/core/index.ts';

describe('decodeFlowed (RFC 3676)', () => {
  it('joins soft line breaks and keeps hard ones', () => {
    expect(decodeFlowed('This is a long \r\nparagraph that \r\nflows.\r\nA new line.\r\n')).toBe('This is a long paragraph that flows.\nA new line.\n');
  });

  it('removes space-stuffing and honours delsp=yes', () => {
    expect(decodeFlowed(' From here\r\n >not a quote')).toBe('From here\n>not a quote');
    expect(decodeFlowed('Zusammen \r\ngeschrieben', { delsp: true })).toBe('Zusammengeschrieben');
  });

  it('joins quoted lines only within one quote depth; the signature separator is never soft', () => {
    expect(decodeFlowed('> quoted \r\n> text\r\n>> deeper \r\n>> still\r\nown\r\n-- \r\nsig')).toBe('> quoted text\n>> deeper still\nown\n-- \nsig');
  });
});
