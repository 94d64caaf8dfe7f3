/**
 * Checks message data as it streams in (after smtp-server removed dot-stuffing and the final
 * CRLF.CRLF, RFC 5321 §4.5.2).
 *
 * Bare CR and bare LF are REJECTED, as Postfix does with `smtpd_forbid_bare_newline = yes`
 * (550/500 5.5.2): RFC 5322 §2.3 allows CR and LF only together, and the SMTP smuggling attacks
 * (`\n.\n`, `\r.\r`, `\r\n.\r` ...) all rely on some hop treating a bare one as a line end. A
 * message we accepted therefore never contains one, and what we relay onwards is CRLF-clean.
 * Text lines are limited to `lineLength` octets including CRLF (RFC 5321 §4.5.3.1.6).
 */
export type DataViolation = 'bare-lf' | 'bare-cr' | 'line-too-long';

export class DataChecker {
  private previous = -1;
  private lineOctets = 0;
  violation: DataViolation | undefined;

  constructor(private readonly lineLength: number) {}

  /** Scans a chunk; stops at the first violation (the rest of the message is then discarded). */
  check(chunk: Uint8Array): void {
    if (this.violation) return;
    for (const byte of chunk) {
      if (this.previous === 0x0d && byte !== 0x0a) {
        this.violation = 'bare-cr';
        return;
      }
      if (byte === 0x0a) {
        if (this.previous !== 0x0d) {
          this.violation = 'bare-lf';
          return;
        }
        this.lineOctets = 0;
      } else if (byte !== 0x0d) {
        this.lineOctets += 1;
        if (this.lineOctets > this.lineLength - 2) {
          this.violation = 'line-too-long';
          return;
        }
      }
      this.previous = byte;
    }
  }

  /** Call at the end: a trailing CR with nothing after it is bare as well. */
  finish(): void {
    if (!this.violation && this.previous === 0x0d) this.violation = 'bare-cr';
  }
}
