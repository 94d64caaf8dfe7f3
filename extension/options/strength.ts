/**
 * A hint, not a rule: how hard a passphrase is to guess, from its length and the kinds of
 * characters in it. Only `tooShort` (under 8 characters) stops the form.
 */
export type PassphraseStrength = 'empty' | 'tooShort' | 'weak' | 'fair' | 'strong';

export const MIN_PASSPHRASE_LENGTH = 8;

export function passphraseStrength(passphrase: string): PassphraseStrength {
  const characters = [...passphrase];
  if (characters.length === 0) return 'empty';
  if (characters.length < MIN_PASSPHRASE_LENGTH) return 'tooShort';
  const words = passphrase.trim().split(/\s+/).filter((word) => word.length >= 3);
  if (words.length >= 4 && characters.length >= 20) return 'strong';
  let alphabet = 0;
  if (/\p{Ll}/u.test(passphrase)) alphabet += 26;
  if (/\p{Lu}/u.test(passphrase)) alphabet += 26;
  if (/\p{Nd}/u.test(passphrase)) alphabet += 10;
  if (/[^\p{Ll}\p{Lu}\p{Nd}]/u.test(passphrase)) alphabet += 33;
  // Repeats add little: count distinct characters rather than length when they are few.
  const distinct = new Set(characters).size;
  const bits = Math.min(characters.length, distinct * 2) * Math.log2(Math.max(alphabet, 2));
  if (bits < 50) return 'weak';
  if (bits < 80) return 'fair';
  return 'strong';
}
