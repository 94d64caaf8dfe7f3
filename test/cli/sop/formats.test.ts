/** The sop layer's text formats and argument parsing, without spawning (draft-dkg-openpgp-stateless-cli). */
import { describe, expect, it } from 'vitest';
import { SigillError, isSigillError } from '../../../src/core/index.ts';
import { parseArgs } from '../../../src/cli/sop/args.ts';
import { exitCodeFor } from '../../../src/cli/sop/exit-codes.ts';
import { formatSessionKey, formatVerifications, parseSessionKey, parseSopDate, passwordCandidates, passwordForNewMaterial } from '../../../src/cli/sop/formats.ts';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isSigillError(error) ? error.code : 'not a SigillError';
  }
  return undefined;
}

describe('argument parsing', () => {
  const specs = [
    { name: 'no-armor', takesValue: false },
    { name: 'with-password', takesValue: true, repeatable: true },
    { name: 'verifications-out', takesValue: true, aliases: ['verify-out'] },
  ];

  it('takes --opt=value and --opt value, repeatable options, aliases and -- ', () => {
    const parsed = parseArgs(['--with-password=a', '--with-password', 'b', '--verify-out=v', '--no-armor', 'KEY', '--', '--not-an-option'], specs);
    expect(parsed.values.get('with-password')).toEqual(['a', 'b']);
    expect(parsed.values.get('verifications-out')).toEqual(['v']);
    expect(parsed.flags.has('no-armor')).toBe(true);
    expect(parsed.positionals).toEqual(['KEY', '--not-an-option']);
  });

  it('refuses unknown options, values on flags and repeated single options (UNSUPPORTED_OPTION); a missing value is MISSING_ARGUMENT', () => {
    expect(codeOf(() => parseArgs(['--bogus'], specs))).toBe('UNSUPPORTED_OPTION');
    expect(codeOf(() => parseArgs(['--no-armor=yes'], specs))).toBe('UNSUPPORTED_OPTION');
    expect(codeOf(() => parseArgs(['--verify-out=a', '--verifications-out=b'], specs))).toBe('UNSUPPORTED_OPTION');
    expect(codeOf(() => parseArgs(['--with-password'], specs))).toBe('MISSING_ARGUMENT');
  });
});

describe('DATE', () => {
  it('reads ISO-8601 (extended and basic), now and -', () => {
    expect(parseSopDate('2019-10-29T18:36:49Z', '--not-before')?.toISOString()).toBe('2019-10-29T18:36:49.000Z');
    expect(parseSopDate('2019-10-29T20:36:49+02:00', '--not-before')?.toISOString()).toBe('2019-10-29T18:36:49.000Z');
    expect(parseSopDate('20191029T183649Z', '--not-before')?.toISOString()).toBe('2019-10-29T18:36:49.000Z');
    expect(parseSopDate('-', '--not-after')).toBeUndefined();
    expect(Math.abs((parseSopDate('now', '--not-after')?.getTime() ?? 0) - Date.now())).toBeLessThan(5000);
    expect(codeOf(() => parseSopDate('yesterday', '--not-after'))).toBe('BAD_INPUT');
  });
});

describe('PASSWORD', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  it('strips trailing whitespace for new material and tries both forms when unlocking', () => {
    expect(passwordForNewMaterial(bytes('secret \n'), '--with-password')).toBe('secret');
    expect(passwordCandidates(bytes('secret\n'))).toEqual(['secret\n', 'secret']);
    expect(passwordCandidates(bytes('secret'))).toEqual(['secret']);
  });

  it('refuses a new password that is not UTF-8 (PASSWORD_NOT_HUMAN_READABLE)', () => {
    expect(codeOf(() => passwordForNewMaterial(new Uint8Array([0x73, 0xff]), '--with-password'))).toBe('PASSWORD_NOT_HUMAN_READABLE');
  });
});

describe('SESSIONKEY', () => {
  it('round-trips ALGONUM:HEXKEY', () => {
    const text = '9:FCA4BEAF687F48059CACC14FB019125CD57392BAB7037C707835925CBF9F7BCD\n';
    const parsed = parseSessionKey(text);
    expect(parsed.algorithm).toBe('aes256');
    expect(parsed.data).toHaveLength(32);
    expect(formatSessionKey(parsed)).toBe(text);
  });

  it('refuses malformed text (BAD_INPUT) and unknown algorithms (UNSUPPORTED_ALGORITHM)', () => {
    expect(codeOf(() => parseSessionKey('9:ABC'))).toBe('BAD_INPUT');
    expect(codeOf(() => parseSessionKey('aes256:00'))).toBe('BAD_INPUT');
    expect(codeOf(() => parseSessionKey('99:00'))).toBe('UNSUPPORTED_ALGORITHM');
  });
});

describe('VERIFICATIONS', () => {
  it('prints good signatures only, in the draft form', () => {
    const created = new Date('2019-10-29T18:36:49.123Z');
    const text = formatVerifications([
      { status: 'good', signingKeyFingerprint: 'aa11', certificateFingerprint: 'bb22', userID: 'Alice <alice@sigill.test>', created, mode: 'text' },
      { status: 'bad', signingKeyFingerprint: 'cc33', created, mode: 'binary' },
      { status: 'good', signingKeyFingerprint: 'DD 44', created, mode: 'binary' },
    ]);
    expect(text).toBe('2019-10-29T18:36:49Z AA11 BB22 mode:text Alice <alice@sigill.test>\n2019-10-29T18:36:49Z DD44 DD44 mode:binary\n');
  });
});

describe('exit codes', () => {
  it('maps the taxonomy to the draft, with the purpose deciding expired / revoked keys', () => {
    expect(exitCodeFor(new SigillError('NOT_ENCRYPTED_FOR_US'))).toBe(29);
    expect(exitCodeFor(new SigillError('KEY_LOCKED'))).toBe(67);
    expect(exitCodeFor(new SigillError('KEY_EXPIRED'), 'encrypt')).toBe(17);
    expect(exitCodeFor(new SigillError('KEY_REVOKED'), 'sign')).toBe(79);
    expect(exitCodeFor(new SigillError('INTERNAL'))).toBe(1);
    expect(exitCodeFor(new Error('plain'))).toBe(1);
  });
});
