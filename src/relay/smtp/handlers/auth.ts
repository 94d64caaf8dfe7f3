/** AUTH PLAIN / LOGIN (RFC 4954), submission only; failures per connection, penalties in auth.ts. */
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { smtpError, type ListenerContext } from '../context.ts';

export function onAuth(
  ctx: ListenerContext,
  auth: SMTPServerAuthentication,
  session: SMTPServerSession,
  callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
): void {
  const authenticator = ctx.options.authenticator;
  const state = ctx.stateOf(session);
  const log = state.log;
  if (!ctx.isSubmission || !authenticator || (auth.method !== 'PLAIN' && auth.method !== 'LOGIN')) {
    callback(smtpError(504, 'Error: unrecognized authentication type'));
    return;
  }
  const username = auth.username ?? '';
  const password = auth.password ?? '';
  // RFC 4616 §2: an authorization identity other than the login asks to act as someone else,
  // which nobody may here (as the POP3 server); refused like a wrong password.
  const authzid = auth.method === 'PLAIN' ? (auth.authzid ?? '') : '';
  if (authzid !== '' && authzid.toLowerCase() !== username.toLowerCase()) {
    state.authFailures += 1;
    log.warn('smtp.auth.failed', { user: username, method: auth.method, reason: 'authorization identity differs' });
    callback(state.authFailures >= ctx.maxAuthFailures ? smtpError(421, 'Error: too many failed authentications, closing connection') : smtpError(535, 'Error: cannot act as another user'));
    return;
  }
  authenticator
    .authenticate({ username, password, remoteAddress: session.remoteAddress, protocol: 'smtp' })
    .then((result) => {
      if (result.ok) {
        log.info('smtp.auth.ok', { user: result.address, method: auth.method });
        callback(null, { user: result.address });
        return;
      }
      state.authFailures += 1;
      log.warn('smtp.auth.failed', { user: username, method: auth.method, reason: result.reason });
      if (state.authFailures >= ctx.maxAuthFailures) {
        // 421 makes smtp-server close the connection (RFC 5321 §3.8).
        callback(smtpError(421, 'Error: too many failed authentications, closing connection'));
      } else if (result.reason === 'throttled') {
        callback(smtpError(454, 'Error: temporary authentication failure, try again later')); // RFC 4954 §6
      } else {
        callback(smtpError(535, 'Error: authentication credentials invalid'));
      }
    })
    .catch((error: unknown) => {
      log.error('smtp.auth.error', { error: error as Error });
      callback(smtpError(454, 'Error: temporary authentication failure'));
    });
}
