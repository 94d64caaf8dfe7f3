/**
 * The status popup's headline for a message view: a message key and a CSS class. Kept apart from the
 * popup's DOM code so that its rules are tested in Node.
 */
import type { MessageView } from '../shared/read-view.ts';

export interface Headline {
  /** The locale message key (extension/_locales). */
  key: string;
  className: '' | 'state-ok' | 'state-bad';
}

export function headlineOf(view: Pick<MessageView, 'openpgp' | 'errors' | 'encryption' | 'signature'>): Headline {
  if (!view.openpgp) return { key: 'statusHeadline_none', className: '' };
  if (view.errors.some((error) => error.where === 'body')) return { key: 'statusHeadline_failed', className: 'state-bad' };
  if (view.signature === 'bad') return { key: 'statusHeadline_badSignature', className: 'state-bad' };
  const encrypted = view.encryption === 'encrypted';
  const signed = view.signature === 'signed';
  if (encrypted && signed) return { key: 'statusHeadline_encryptedSigned', className: 'state-ok' };
  // Signed by a key Sigill cannot check (unknown, say): never "not signed", which would hide the signature.
  if (encrypted && view.signature === 'unverified') return { key: 'statusHeadline_encryptedUnverified', className: 'state-ok' };
  if (encrypted) return { key: 'statusHeadline_encrypted', className: 'state-ok' };
  if (signed) return { key: 'statusHeadline_signed', className: 'state-ok' };
  if (view.encryption === 'partially-encrypted' || view.signature === 'partially-signed') return { key: 'statusHeadline_partial', className: 'state-bad' };
  return { key: 'statusHeadline_unverified', className: '' };
}
