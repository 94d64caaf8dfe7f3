import { describe, expect, it } from 'vitest';
import { sanitizeFilename } from '../../../../src/core/index.ts';

describe('sanitizeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\Windows\\system32\\evil.dll', 'evil.dll'],
    ['../.bashrc', 'bashrc'],
    ['..', 'attachment'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['a\u2066b\u2069c\u200Fd\u061Ce.txt', 'abcde.txt'],
    ['line\r\nbreak\u0000\u0007.txt', 'linebreak.txt'],
    ['tab\there.txt', 'tabhere.txt'],
    ['many   spaces .txt', 'many spaces .txt'],
    ['a<b>c:d"e|f?g*h.txt', 'a_b_c_d_e_f_g_h.txt'],
    ['CON', '_CON'],
    ['aux.txt', '_aux.txt'],
    ['lpt1.tar.gz', '_lpt1.tar.gz'],
    ['console.txt', 'console.txt'],
    ['trailing dots...', 'trailing dots'],
    ['   ', 'attachment'],
    ['\u200B', 'attachment'],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeFilename(input)).toBe(expected);
  });

  it('shortens huge names, keeping the extension', () => {
    const result = sanitizeFilename(`${'a'.repeat(100_000)}.pdf`);
    expect(result.length).toBeLessThanOrEqual(120);
    expect(result.endsWith('….pdf')).toBe(true);
    expect(sanitizeFilename('é'.repeat(500), { maxLength: 40 }).length).toBeLessThanOrEqual(40);
  });

  it('uses the fallback for nothing', () => {
    expect(sanitizeFilename(undefined)).toBe('attachment');
    expect(sanitizeFilename('', { fallback: 'file.bin' })).toBe('file.bin');
  });
});
