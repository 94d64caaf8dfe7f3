/**
 * The quote of a reply or forward (REPLY, "Re: What's up Johnny?"): an attacker who embeds someone
 * else's ciphertext in a mail (hidden in HTML, among attacker text, in an attachment, nested) wants the
 * victim's reply to carry its plaintext back. So a reply quotes decrypted text only when it was shown
 * as the body and comes from the mail's one root encryption (the whole mail was that one encrypted
 * message); in any other encrypted mail it quotes nothing decrypted. HTML parts are quoted through
 * their text/plain alternative; an HTML-only part is not quoted (no HTML-to-text conversion here).
 */
import type { DisplayPart, ReadResult } from './types.ts';

export interface ReplyQuote {
  /** The text to quote, '> '-prefixed per line (RFC 3676 §4.5 style), or '' when nothing may be quoted. */
  text: string;
  /** The quote holds decrypted text (the reply should then be encrypted too). */
  fromEncrypted: boolean;
  /** Why decrypted content was left out, when it was. */
  omitted: 'not-root-encryption' | undefined;
}

export function quoteForReply(view: ReadResult, options: { prefix?: string } = {}): ReplyQuote {
  const prefix = options.prefix ?? '> ';
  const quote = (texts: string[]): string =>
    texts
      .join('\n')
      .replace(/\r\n?/g, '\n')
      .replace(/\n+$/, '')
      .split('\n')
      .map((line) => (line.startsWith('>') ? `>${line}` : `${prefix}${line}`))
      .join('\n');
  const asText = (part: DisplayPart): string | undefined => (part.kind === 'text' ? part.content : part.plainText);
  const present = (text: string | undefined): text is string => text !== undefined;
  if (view.encryption === 'not-encrypted') {
    const texts = view.parts.map(asText).filter(present);
    return { text: texts.length ? quote(texts) : '', fromEncrypted: false, omitted: undefined };
  }
  const root = view.encryptedParts.root;
  if (root === undefined) return { text: '', fromEncrypted: false, omitted: 'not-root-encryption' };
  const texts = view.parts
    .filter((part) => part.encrypted && part.protection.encryption === root)
    .map(asText)
    .filter(present);
  return { text: texts.length ? quote(texts) : '', fromEncrypted: texts.length > 0, omitted: undefined };
}
