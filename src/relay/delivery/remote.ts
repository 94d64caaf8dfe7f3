/**
 * Onward delivery over SMTP to the next hop: a static route for the domain, else its MX hosts
 * (RFC 5321 §5.1: by preference, falling back to the domain itself when there is no MX; a null MX,
 * RFC 7505, means the domain takes no mail). The client is nodemailer's SMTPConnection, which
 * dot-stuffs and sends CRLF line ends (RFC 5321 §4.5.2); STARTTLS is used when offered, without
 * certificate checks (opportunistic TLS between MTAs, RFC 7435). A 5yz reply is permanent, anything
 * else (4yz, connection trouble, timeouts) temporary.
 */
import { promises as dns } from 'node:dns';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { ListenAddress } from '../config.ts';
import { cleanDiagnostic, statusCodeOf, type DeliveryOutcome } from './outcome.ts';

export interface NextHop {
  host: string;
  port: number;
}

export type HopLookup = { ok: true; hops: NextHop[] } | { ok: false; outcome: DeliveryOutcome };

export interface MxResolver {
  resolveMx(domain: string): Promise<{ exchange: string; priority: number }[]>;
}

export async function nextHops(args: { domain: string; routes: Record<string, ListenAddress>; resolver?: MxResolver }): Promise<HopLookup> {
  const route = args.routes[args.domain];
  if (route) return { ok: true, hops: [route] };
  const resolver = args.resolver ?? dns;
  try {
    const records = await resolver.resolveMx(args.domain);
    if (records.length === 1 && records[0]?.exchange === '') {
      return { ok: false, outcome: { status: 'permanent', statusCode: '5.1.10', diagnostic: `${args.domain} accepts no mail (null MX)` } };
    }
    const hops = records
      .filter((record) => record.exchange !== '')
      .sort((a, b) => a.priority - b.priority)
      .map((record) => ({ host: record.exchange, port: 25 }));
    return { ok: true, hops: hops.length > 0 ? hops : [{ host: args.domain, port: 25 }] };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENODATA') return { ok: true, hops: [{ host: args.domain, port: 25 }] }; // implicit MX
    if (code === 'ENOTFOUND') {
      return { ok: false, outcome: { status: 'permanent', statusCode: '5.1.2', diagnostic: `domain ${args.domain} does not exist` } };
    }
    return { ok: false, outcome: { status: 'temporary', diagnostic: `MX lookup for ${args.domain} failed: ${code ?? (error as Error).message}` } };
  }
}

export interface RemoteDeliveryArgs {
  hops: NextHop[];
  /** Our name in EHLO. */
  hostname: string;
  sender: string;
  recipient: string;
  message: Buffer;
  timeoutMs?: number;
}

function sendOnce(hop: NextHop, args: RemoteDeliveryArgs): Promise<DeliveryOutcome & { connectFailed?: boolean }> {
  const remoteMta = `${hop.host}:${hop.port}`;
  const timeout = args.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    const connection = new SMTPConnection({
      host: hop.host,
      port: hop.port,
      name: args.hostname,
      secure: false,
      opportunisticTLS: true,
      tls: { rejectUnauthorized: false },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    let settled = false;
    const finish = (outcome: DeliveryOutcome & { connectFailed?: boolean }): void => {
      if (settled) return;
      settled = true;
      if (outcome.status === 'delivered') connection.quit();
      else connection.close();
      resolve(outcome);
    };
    const failure = (error: SMTPConnection.SMTPError, connectFailed: boolean): DeliveryOutcome & { connectFailed?: boolean } => {
      const response = cleanDiagnostic(error.response ?? error.message);
      if (error.responseCode !== undefined && error.responseCode >= 500) {
        return { status: 'permanent', statusCode: statusCodeOf(response, error.responseCode), diagnostic: response, remoteMta };
      }
      return { status: 'temporary', diagnostic: response, remoteMta, connectFailed };
    };
    connection.on('error', (error) => finish(failure(error, true)));
    connection.connect((connectError) => {
      if (connectError) return finish(failure(connectError, true));
      // BODY=8BITMIME (RFC 6152) when the message has 8-bit octets; SMTPUTF8 nodemailer adds itself
      // for internationalized addresses. SIZE lets the next hop refuse early (RFC 1870).
      const envelope = { from: args.sender, to: [args.recipient], size: args.message.length, use8BitMime: args.message.some((byte) => byte > 0x7f) };
      connection.send(envelope, args.message, (error, info) => {
        if (error) return finish(failure(error, false));
        if (info.rejected.length > 0) {
          const rejected = info.rejectedErrors?.[0];
          return finish(rejected ? failure(rejected, false) : { status: 'permanent', statusCode: '5.0.0', diagnostic: 'recipient rejected', remoteMta });
        }
        finish({ status: 'delivered', remoteMta, response: cleanDiagnostic(info.response) });
      });
    });
  });
}

/** Tries the hops in order while they cannot be reached; the first answer decides. */
export async function deliverRemote(args: RemoteDeliveryArgs): Promise<DeliveryOutcome> {
  let last: DeliveryOutcome = { status: 'temporary', diagnostic: 'no next hop' };
  for (const hop of args.hops) {
    const { connectFailed, ...outcome } = await sendOnce(hop, args);
    last = outcome;
    if (!connectFailed) return outcome;
  }
  return last;
}
