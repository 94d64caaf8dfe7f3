/**
 * Delivery status notifications (bounces): RFC 3464 `multipart/report; report-type=delivery-status`
 * (RFC 6522), from MAILER-DAEMON, sent with the null reverse-path so that a bounce never bounces
 * (RFC 5321 §4.5.5). The third part returns the original header section (text/rfc822-headers),
 * not the body: an encrypted body is the sender's anyway, and it keeps bounces small.
 *
 * Everything that came from a client or a remote server (addresses, diagnostics) has been cleaned of
 * control characters before it gets here and is only ever placed in a field value.
 */
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../message.ts';
import { cleanDiagnostic } from './outcome.ts';

export interface DsnArgs {
  /** Our hostname (Reporting-MTA). */
  reportingMta: string;
  /** Envelope sender of the failed message: the DSN's recipient. Never ''. */
  originalSender: string;
  recipient: string;
  /** RFC 3463 status, e.g. `5.1.1`, `4.4.7` (expired). */
  statusCode: string;
  diagnostic: string;
  remoteMta?: string;
  arrivalDate: Date;
  originalMessage: Uint8Array;
  date?: Date;
}

const MAX_RETURNED_HEADERS = 64 * 1024;

/** The header section of a message (up to the first empty line), bounded. */
export function headerSection(message: Uint8Array): string {
  const text = Buffer.from(message.subarray(0, MAX_RETURNED_HEADERS + 4)).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const headers = end >= 0 ? text.slice(0, end + 2) : text.slice(0, MAX_RETURNED_HEADERS);
  return headers.endsWith('\r\n') ? headers : `${headers}\r\n`;
}

function safeAddress(address: string): string {
  return cleanDiagnostic(address, 320).replace(/[<>\s]/g, '');
}

export function buildDsn(args: DsnArgs): Buffer {
  const boundary = `sigill-dsn-${randomBytes(12).toString('hex')}`;
  const date = args.date ?? new Date();
  const recipient = safeAddress(args.recipient);
  const sender = safeAddress(args.originalSender);
  const diagnostic = cleanDiagnostic(args.diagnostic);
  const expired = args.statusCode === '4.4.7';
  const remoteMta = args.remoteMta ? cleanDiagnostic(args.remoteMta, 255).replace(/\s/g, '') : undefined;
  const diagnosticType = remoteMta ? 'smtp' : 'x-sigill';
  const human = [
    `This is the mail relay at ${args.reportingMta}.`,
    '',
    expired
      ? 'Your message could not be delivered in time and has been given up on.'
      : 'Your message could not be delivered to one or more recipients.',
    '',
    `  <${recipient}>: ${diagnostic}`,
    '',
    'The headers of your message are attached.',
  ];
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${args.reportingMta}>`,
    `To: <${sender}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${rfc5322Date(date)}`,
    `Message-ID: <${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${args.reportingMta}>`,
    'Auto-Submitted: auto-replied', // RFC 3834 §5
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${args.reportingMta}`,
    `Arrival-Date: ${rfc5322Date(args.arrivalDate)}`,
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    `Status: ${expired ? '4.4.7' : args.statusCode}`,
    ...(remoteMta ? [`Remote-MTA: dns; ${remoteMta}`] : []),
    `Diagnostic-Code: ${diagnosticType}; ${diagnostic}`,
    `Last-Attempt-Date: ${rfc5322Date(date)}`,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
  ];
  const trailer = `\r\n--${boundary}--\r\n`;
  return Buffer.concat([
    Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8'),
    Buffer.from(headerSection(args.originalMessage), 'latin1'),
    Buffer.from(trailer, 'latin1'),
  ]);
}
