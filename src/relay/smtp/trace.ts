/** The `Received:` trace header each hop adds (RFC 5321 §4.4). */
import { isIP } from 'node:net';
import { headerField, rfc5322Date } from '../message.ts';

/** Only hostname/literal characters survive into a trace header (RFC 5321 §4.4). */
function traceToken(value: string | false | undefined): string {
  if (!value) return 'unknown';
  return /^[A-Za-z0-9.:_[\]-]{1,255}$/.test(value) ? value : 'invalid';
}

/**
 * The `Received:` trace header this hop adds in front of the message (RFC 5321 §4.4), as UTF-8 bytes
 * (an SMTPUTF8 recipient in "for" is kept as it is, RFC 6531 §3.7.3).
 */
export function receivedHeader(args: {
  helo: string | false;
  remoteAddress: string;
  hostname: string;
  protocol: string;
  id: string;
  recipients: string[];
  date?: Date;
}): Buffer {
  const literal = isIP(args.remoteAddress) === 6 ? `IPv6:${args.remoteAddress}` : args.remoteAddress;
  const protocol = /^[A-Z]{1,16}$/.test(args.protocol) ? args.protocol : 'ESMTP';
  const by = `by ${args.hostname} (Sigill relay) with ${protocol} id ${args.id}`;
  // "for" only with a single recipient: naming all of them would disclose Bcc recipients.
  const onlyRecipient = args.recipients.length === 1 ? args.recipients[0] : undefined;
  return headerField('Received', [
    `from ${traceToken(args.helo)} ([${literal}])`,
    ...(onlyRecipient === undefined ? [`${by};`] : [by, `for <${onlyRecipient}>;`]),
    rfc5322Date(args.date),
  ]);
}
