import { describe, expect, it } from 'vitest';
import { chooseWireFormat } from '../../../../src/core/index.ts';

const recipients = ['bob@sigill.test', 'carol@sigill.test'];

describe('chooseWireFormat', () => {
  it('is PGP/MIME by default where the Experiment works', () => {
    expect(chooseWireFormat({ recipients, pgpMimeAvailable: true })).toEqual({ format: 'pgp-mime', because: 'setting', inlineRecipients: [] });
  });

  it('is inline when the setting says so, without a notice', () => {
    expect(chooseWireFormat({ preferred: 'inline', recipients, pgpMimeAvailable: true })).toEqual({ format: 'inline', because: 'setting', inlineRecipients: [] });
  });

  it('is inline for everyone when one correspondent reads only inline, naming them in the notice', () => {
    const choice = chooseWireFormat({ recipients, overrides: { 'carol@sigill.test': 'inline' }, pgpMimeAvailable: true });
    expect(choice).toMatchObject({ format: 'inline', because: 'correspondent', inlineRecipients: ['carol@sigill.test'] });
    expect(choice.notice).toContain('carol@sigill.test reads only inline');
  });

  it('with inline as the setting, a PGP/MIME override for every recipient gives PGP/MIME', () => {
    const overrides = { 'bob@sigill.test': 'pgp-mime', 'carol@sigill.test': 'pgp-mime' } as const;
    expect(chooseWireFormat({ preferred: 'inline', recipients, overrides, pgpMimeAvailable: true }).format).toBe('pgp-mime');
    expect(chooseWireFormat({ preferred: 'inline', recipients, overrides: { 'bob@sigill.test': 'pgp-mime' }, pgpMimeAvailable: true })).toEqual({ format: 'inline', because: 'setting', inlineRecipients: [] });
  });

  it('falls back to inline with a notice when PGP/MIME cannot be sent here (never to plaintext)', () => {
    const choice = chooseWireFormat({ recipients, pgpMimeAvailable: false, unavailableReason: 'nsIMsgComposeSecure is missing' });
    expect(choice).toMatchObject({ format: 'inline', because: 'unavailable' });
    expect(choice.notice).toContain('nsIMsgComposeSecure is missing');
  });
});
