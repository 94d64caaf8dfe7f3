import { describe, expect, it } from 'vitest';
import { passphraseStrength } from '../../../../extension/options/strength.ts';

describe('passphrase strength hint', () => {
  it('grades from empty to strong', () => {
    expect(passphraseStrength('')).toBe('empty');
    expect(passphraseStrength('abc123')).toBe('tooShort');
    expect(passphraseStrength('aaaaaaaaaaaa')).toBe('weak');
    expect(passphraseStrength('password')).toBe('weak');
    expect(passphraseStrength('Summer2026!')).toBe('fair');
    expect(passphraseStrength('correct horse battery staple')).toBe('strong');
    expect(passphraseStrength('k9#Tq!vW2$zR7pLm')).toBe('strong');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(passphraseStrength('😀😀😀😀')).toBe('tooShort');
  });
});
