/** MAIL FROM: the submission user's own address only; inbound, any well-formed one or <>. */
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { parseEnvelopeAddress } from '../address.ts';
import { authenticatedUser, smtpError, type ListenerContext } from '../context.ts';

export function onMailFrom(ctx: ListenerContext, address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
  const user = authenticatedUser(session);
  const utf8 = session.envelope.smtpUtf8 === true;
  if (ctx.isSubmission) {
    // Checked here, not only by smtp-server: off loopback without TLS, AUTH is disabled for the
    // session, which smtp-server would take as "no AUTH required".
    if (!user) {
      callback(smtpError(530, 'Error: authentication required'));
      return;
    }
    const parsed = parseEnvelopeAddress(address.address, { utf8 });
    if (!parsed.ok || parsed.value.address.toLowerCase() !== user) {
      ctx.stateOf(session).log.warn('smtp.mail.refused', { user, sender: address.address });
      callback(smtpError(557, `Error: sender address not owned by user ${user}`));
      return;
    }
    callback();
    return;
  }
  if (address.address === '') {
    callback(); // the null reverse-path: bounces (RFC 5321 §4.5.5)
    return;
  }
  const parsed = parseEnvelopeAddress(address.address, { utf8 });
  if (!parsed.ok) {
    callback(smtpError(553, `Error: bad sender address: ${parsed.reason}`));
    return;
  }
  callback();
}
