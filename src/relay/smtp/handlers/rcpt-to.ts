/**
 * RCPT TO: postmaster, our users, routed domains (with their recipient lists), never an open relay;
 * routing characters are refused for our own and routed domains.
 */
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { hasRoutingHack, parseEnvelopeAddress } from '../address.ts';
import { smtpError, type ListenerContext } from '../context.ts';

export function onRcptTo(ctx: ListenerContext, address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void {
  const log = ctx.stateOf(session).log;
  const utf8 = session.envelope.smtpUtf8 === true;
  const raw = address.address;
  // RFC 5321 §4.5.1: "postmaster", domainless or at any of our domains, must be accepted
  // (case-insensitively); it goes to the configured postmaster's mailbox.
  const atOurs = raw.includes('@') && ctx.options.domains.includes(raw.slice(raw.lastIndexOf('@') + 1).toLowerCase());
  if (raw.toLowerCase() === 'postmaster' || (atOurs && raw.slice(0, raw.lastIndexOf('@')).toLowerCase() === 'postmaster')) {
    if (ctx.options.postmaster === undefined) {
      log.warn('smtp.rcpt.refused', { recipient: raw, reason: 'no postmaster configured' });
      callback(smtpError(550, 'Error: mailbox unavailable: no postmaster here'));
      return;
    }
    address.address = ctx.options.postmaster;
    callback();
    return;
  }
  const parsed = parseEnvelopeAddress(raw, { utf8 });
  if (!parsed.ok) {
    log.warn('smtp.rcpt.refused', { recipient: address.address, reason: parsed.reason });
    const literal = parsed.reason.startsWith('address literal');
    callback(literal && !ctx.isSubmission ? smtpError(557, 'Error: relay access denied') : smtpError(553, `Error: bad recipient address: ${parsed.reason}`));
    return;
  }
  const { domain, local } = parsed.value;
  const lower = parsed.value.address.toLowerCase();
  const routed = ctx.options.relayDomains.includes(domain);
  // Postfix's allow_untrusted_routing = no: never interpret %, ! or @ for our own or routed domains.
  if ((ctx.options.domains.includes(domain) || routed) && hasRoutingHack(local)) {
    log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'routing character in local part' });
    callback(smtpError(557, 'Error: relay access denied'));
    return;
  }
  const knownRecipients = routed ? ctx.options.relayRecipients[domain] : undefined;
  if (knownRecipients !== undefined && !knownRecipients.includes(lower)) {
    // Refused now rather than bounced later to a sender that may be forged (backscatter).
    log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'not in the relay recipient list' });
    callback(smtpError(550, 'Error: user unknown in relay recipient table'));
    return;
  }
  if (ctx.options.domains.includes(domain)) {
    if (!ctx.options.isLocalUser(lower)) {
      log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'unknown user' });
      callback(smtpError(550, 'Error: mailbox unavailable: no such user'));
      return;
    }
  } else if (!ctx.isSubmission && !routed) {
    log.warn('smtp.rcpt.refused', { recipient: address.address, reason: 'relay denied' });
    callback(smtpError(557, 'Error: relay access denied'));
    return;
  }
  // Local mailboxes by their normalised name; everything else exactly as the client wrote it, so
  // that an international address travels on byte for byte (RFC 6531).
  address.address = ctx.options.domains.includes(domain) ? lower : raw;
  callback();
}
