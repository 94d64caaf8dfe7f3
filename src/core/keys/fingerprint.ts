/**
 * Fingerprints for people.
 */
import { SigillError } from '../errors.ts';

/**
 * Groups of four upper-case hex digits. A v4 fingerprint (40 digits, RFC 9580 §5.5.4.2) gets a double
 * space in the middle, as GnuPG prints it; a v6 fingerprint (64 digits, §5.5.4.3) single spaces only.
 * Accepts any case and existing spaces; throws BAD_INPUT for anything else.
 */
export function formatFingerprint(fingerprint: string): string {
  const hex = typeof fingerprint === 'string' ? fingerprint.replace(/\s+/g, '').toUpperCase() : '';
  if (!/^[0-9A-F]+$/.test(hex) || (hex.length !== 40 && hex.length !== 64)) {
    throw new SigillError('BAD_INPUT', { detail: 'a fingerprint has 40 (v4) or 64 (v6) hexadecimal digits' });
  }
  const groups = hex.match(/.{4}/g) ?? [];
  if (hex.length === 40) {
    return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`;
  }
  return groups.join(' ');
}
