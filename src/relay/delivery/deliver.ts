/**
 * One delivery attempt for one recipient of a spooled message: the local-versus-remote decision, then
 * the local mailbox (with Return-Path, RFC 5321 §4.4) or the next hop (a static route, else MX), with
 * the hop-count loop check of RFC 5321 §6.3 before anything leaves.
 */
import { domainToASCII } from 'node:url';
import type { ListenAddress } from '../network.ts';
import type { MailboxStore } from '../mailbox.ts';
import { headerField } from '../message.ts';
import { headerSection } from './dsn.ts';
import type { DeliveryOutcome } from './outcome.ts';
import type { DeliveryAttempt } from './queue.ts';
import { deliverRemote, nextHops, type MxResolver } from './remote.ts';

/** RFC 5321 §6.3: a message that went through this many hops is looping. */
export const MAX_HOPS = 30;

export type Route = { kind: 'local'; mailbox: string } | { kind: 'remote'; domain: string };

/**
 * Where a recipient goes: one of our domains is local (its mailbox by the lower-case address), any
 * other domain remote. Routing looks at the A-label form of the domain; the address itself travels
 * on as the client wrote it.
 */
export function routeRecipient(recipient: string, localDomains: readonly string[]): Route {
  const domain = domainToASCII(recipient.slice(recipient.lastIndexOf('@') + 1)).toLowerCase();
  return localDomains.includes(domain) ? { kind: 'local', mailbox: recipient.toLowerCase() } : { kind: 'remote', domain };
}

export function countReceived(message: Uint8Array): number {
  return headerSection(message).split('\r\n').filter((line) => /^received:/i.test(line)).length;
}

export interface DelivererOptions {
  /** Our name in EHLO. */
  hostname: string;
  /** Lower-case local domains. */
  domains: readonly string[];
  /** Lower-case domain → next hop. */
  routes: Record<string, ListenAddress>;
  /** Whether a local (lower-case) address has a mailbox. */
  hasMailbox(address: string): boolean;
  store: MailboxStore;
  /** MX lookups (default node:dns). */
  resolver?: MxResolver;
}

/** The queue's `deliver` for this relay. */
export function createDeliverer(options: DelivererOptions): (attempt: DeliveryAttempt) => Promise<DeliveryOutcome> {
  return async ({ record, message, deliveryId }) => {
    const route = routeRecipient(record.recipient, options.domains);
    if (route.kind === 'local') {
      if (!options.hasMailbox(route.mailbox)) {
        return { status: 'permanent', statusCode: '5.1.1', diagnostic: `no mailbox for ${record.recipient} here` };
      }
      const returnPath = headerField('Return-Path', `<${record.sender}>`);
      await options.store.deliver(route.mailbox, Buffer.concat([returnPath, message]), { id: deliveryId });
      return { status: 'delivered' };
    }
    if (countReceived(message) > MAX_HOPS) {
      return { status: 'permanent', statusCode: '5.4.6', diagnostic: `mail loop: more than ${MAX_HOPS} Received headers` };
    }
    const lookup = await nextHops({ domain: route.domain, routes: options.routes, ...(options.resolver ? { resolver: options.resolver } : {}) });
    if (!lookup.ok) return lookup.outcome;
    return deliverRemote({ hops: lookup.hops, hostname: options.hostname, sender: record.sender, recipient: record.recipient, message });
  };
}
