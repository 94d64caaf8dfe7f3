/**
 * Delivery status notifications (bounces): RFC 3464 `multipart/report; report-type=delivery-status`
 * (RFC 6522), from MAILER-DAEMON, sent with the null reverse-path so that a bounce never bounces
 * (RFC 5321 §4.5.5).
 *
 * One DSN per message, covering every recipient that failed (RFC 3464 §2.3: one per-recipient block
 * each), not one per recipient: a forged sender must not receive a report for each of a hundred
 * recipients. The third part returns only the original header section (text/rfc822-headers, the
 * RET=HDRS behaviour of RFC 3461 §4.3), cut at MAX_RETURNED_HEADERS on a line boundary, so a DSN is
 * never much larger than what it reports on, whatever the original carried.
 *
 * International addresses make it a `message/global-delivery-status` report with `utf-8` address
 * types and `message/global-headers` (RFC 6533). Every field goes through headerField(); addresses and
 * diagnostics have been cleaned of control characters before.
 */
import { randomBytes } from 'node:crypto';
import { counted, headerField, rfc5322Date } from '../message.ts';
import type { FailedRecipient } from '../spool/index.ts';
import { cleanDiagnostic } from './outcome.ts';

export interface DsnArgs {
  /** Our hostname (Reporting-MTA). */
  reportingMta: string;
  /** Envelope sender of the failed message: the DSN's recipient. Never ''. */
  originalSender: string;
  /** Every recipient of the message that failed, with its RFC 3463 status (`4.4.7`: expired). */
  failures: FailedRecipient[];
  arrivalDate: Date;
  originalMessage: Uint8Array;
  date?: Date;
}

/** The most of the original header section a DSN returns. */
export const MAX_RETURNED_HEADERS = 8 * 1024;
/** Per-recipient blocks in one DSN (the envelope allows at most `limits.recipients` anyway). */
const MAX_REPORTED_RECIPIENTS = 1000;

/** The header section of a message (up to the first empty line), at most `maxOctets`, cut at a line end. */
export function headerSection(message: Uint8Array, maxOctets = 64 * 1024): string {
  const text = Buffer.from(message.subarray(0, maxOctets + 4)).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end >= 0 && end + 2 <= maxOctets) return text.slice(0, end + 2);
  const cut = text.slice(0, maxOctets);
  const lastLine = cut.lastIndexOf('\r\n');
  return lastLine >= 0 ? cut.slice(0, lastLine + 2) : '';
}

function safeAddress(address: string): string {
  return cleanDiagnostic(address, 320).replace(/[<>\s]/g, '');
}

const lines = (...fields: Buffer[]): Buffer => Buffer.concat(fields);
const text = (value: string): Buffer => Buffer.from(value, 'utf8');

export function buildDsn(args: DsnArgs): Buffer {
  const boundary = `sigill-dsn-${randomBytes(12).toString('hex')}`;
  const date = args.date ?? new Date();
  const sender = safeAddress(args.originalSender);
  const failures = args.failures.slice(0, MAX_REPORTED_RECIPIENTS).map((failure) => ({
    recipient: safeAddress(failure.recipient),
    statusCode: /^[245]\.\d{1,3}\.\d{1,3}$/.test(failure.statusCode) ? failure.statusCode : '5.0.0',
    diagnostic: cleanDiagnostic(failure.diagnostic),
    remoteMta: failure.remoteMta === undefined ? undefined : cleanDiagnostic(failure.remoteMta, 255).replace(/\s/g, ''),
  }));
  const global = [sender, ...failures.map((failure) => failure.recipient)].some((address) => /[^\x20-\x7e]/.test(address));
  const addressType = global ? 'utf-8' : 'rfc822';
  const allExpired = failures.every((failure) => failure.statusCode === '4.4.7');
  const returned = headerSection(args.originalMessage, MAX_RETURNED_HEADERS);
  const truncated = returned.length < headerSection(args.originalMessage).length;

  const human = [
    `This is the mail relay at ${args.reportingMta}.`,
    '',
    allExpired
      ? 'Your message could not be delivered in time and has been given up on.'
      : `Your message could not be delivered to ${counted(failures.length, 'recipient')}.`,
    '',
    ...failures.map((failure) => `  <${failure.recipient}>: ${failure.diagnostic}`),
    ...(args.failures.length > failures.length ? [`  ... and ${args.failures.length - failures.length} more`] : []),
    '',
    truncated ? 'The first part of the headers of your message is attached.' : 'The headers of your message are attached.',
  ];
  const perRecipient = failures.map((failure) =>
    lines(
      text('\r\n'),
      headerField('Final-Recipient', `${addressType}; ${failure.recipient}`),
      headerField('Action', 'failed'),
      headerField('Status', failure.statusCode),
      ...(failure.remoteMta ? [headerField('Remote-MTA', `dns; ${failure.remoteMta}`)] : []),
      headerField('Diagnostic-Code', `${failure.remoteMta ? 'smtp' : 'x-sigill'}; ${failure.diagnostic}`),
      headerField('Last-Attempt-Date', rfc5322Date(date)),
    ),
  );
  return lines(
    headerField('From', `Mail Delivery System <MAILER-DAEMON@${args.reportingMta}>`),
    headerField('To', `<${sender}>`),
    headerField('Subject', 'Undelivered Mail Returned to Sender'),
    headerField('Date', rfc5322Date(date)),
    headerField('Message-ID', `<${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${args.reportingMta}>`),
    headerField('Auto-Submitted', 'auto-replied'), // RFC 3834 §5
    headerField('MIME-Version', '1.0'),
    headerField('Content-Type', `multipart/report; report-type=${global ? 'global-delivery-status' : 'delivery-status'}; boundary="${boundary}"`),
    text(`\r\nThis is a MIME-encapsulated message.\r\n\r\n--${boundary}\r\n`),
    headerField('Content-Type', 'text/plain; charset=utf-8'),
    headerField('Content-Transfer-Encoding', '8bit'),
    text(`\r\n${human.join('\r\n')}\r\n\r\n--${boundary}\r\n`),
    headerField('Content-Type', global ? 'message/global-delivery-status' : 'message/delivery-status'),
    text('\r\n'),
    headerField('Reporting-MTA', `dns; ${args.reportingMta}`),
    headerField('Arrival-Date', rfc5322Date(args.arrivalDate)),
    ...perRecipient,
    text(`\r\n--${boundary}\r\n`),
    headerField('Content-Type', global ? 'message/global-headers' : 'text/rfc822-headers'),
    text('\r\n'),
    Buffer.from(returned, 'latin1'),
    text(`\r\n--${boundary}--\r\n`),
  );
}
