/**
 * Which wire format one message goes out in: PGP/MIME (RFC 3156, the default where the Experiment works)
 * or inline (armored body and `name.ext.asc` attachments). One message has one format for everyone on
 * it, so a single correspondent whose software reads only inline makes it inline; and when PGP/MIME
 * cannot be sent here (the Experiment is missing, or a future Thunderbird changed its internals) the
 * message goes inline with a notice: never in plaintext.
 */

export type WireFormat = 'pgp-mime' | 'inline';

export interface FormatRequest {
  /** The user's setting (default 'pgp-mime'). */
  preferred?: WireFormat;
  /** Per-correspondent overrides (lower-case address → format); recipients not listed follow `preferred`. */
  overrides?: Readonly<Record<string, WireFormat>>;
  /** The message's recipients (lower-case addresses: To, Cc and Bcc). */
  recipients: readonly string[];
  /** Whether PGP/MIME can be sent in this Thunderbird (the Experiment's availability). */
  pgpMimeAvailable: boolean;
  /** Why not, when it cannot. */
  unavailableReason?: string;
}

export interface FormatChoice {
  format: WireFormat;
  /** Why this format: the setting, a correspondent's override, or PGP/MIME being unavailable. */
  because: 'setting' | 'correspondent' | 'unavailable';
  /** The recipients whose override made the message inline. */
  inlineRecipients: string[];
  /** For the compose window when the user asked for PGP/MIME and does not get it. */
  notice?: string;
}

export function chooseWireFormat(request: FormatRequest): FormatChoice {
  const preferred = request.preferred ?? 'pgp-mime';
  const overrides = request.overrides ?? {};
  const inlineRecipients = request.recipients.filter((address) => (overrides[address.toLowerCase()] ?? preferred) === 'inline');
  // The user's own choice of inline needs no notice, even if some correspondents could read PGP/MIME.
  if (preferred === 'inline' && inlineRecipients.length > 0) return { format: 'inline', because: 'setting', inlineRecipients: [] };
  if (inlineRecipients.length > 0) {
    return {
      format: 'inline',
      because: 'correspondent',
      inlineRecipients,
      notice: `Sent inline because ${inlineRecipients.join(', ')} ${inlineRecipients.length === 1 ? 'reads' : 'read'} only inline OpenPGP: the subject and attachment names are visible.`,
    };
  }
  if (!request.pgpMimeAvailable) {
    return {
      format: 'inline',
      because: 'unavailable',
      inlineRecipients: [],
      notice: `PGP/MIME cannot be sent in this Thunderbird${request.unavailableReason ? ` (${request.unavailableReason})` : ''}; the message goes inline: the subject and attachment names are visible.`,
    };
  }
  return { format: 'pgp-mime', because: 'setting', inlineRecipients: [] };
}
