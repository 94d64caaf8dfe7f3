/**
 * Turns a message's body and attachments into what goes on the wire in the inline format, from a
 * ready plan (see plan.ts):
 *
 * - encrypt (and sign inside when the plan signs): the body becomes one armored OpenPGP message
 *   (UTF-8 text literal data, RFC 9580 §5.9); every attachment is replaced by an armored
 *   `name.ext.asc` whose literal data packet carries the original name, so any OpenPGP reader restores
 *   it. Armored rather than binary because a mail client sends replaced attachments as text/plain,
 *   where binary data breaks readers.
 * - sign only: a cleartext-signed body (RFC 9580 §7), its text hard-wrapped and dash-escaped so that
 *   format=flowed transport does not change it (plain-text.ts), and, next to every attachment (left as it is), an
 *   armored detached signature `name.ext.sig`.
 *
 * Attachments are produced by `open()`, one stream at a time, so a caller can keep memory bounded by
 * the chunk size whatever the attachment's size. Nothing here decides policy: an unready plan is refused.
 */
import { encrypt } from '../messages/encrypt.ts';
import { sign } from '../messages/sign.ts';
import { readAll } from '../messages/streams.ts';
import type { DataInput } from '../messages/types.ts';
import { armorEncryptedForMime } from './mime-armor.ts';
import { assertPlanReady, type OutgoingPlan } from './plan.ts';
import { dashEscapeForTransport, prepareTextForSigning } from './plain-text.ts';

export interface OutgoingAttachment {
  name: string;
  /** Called once, when the transformed attachment is opened. */
  data: () => DataInput | Promise<DataInput>;
}

export interface TransformRequest {
  plan: OutgoingPlan;
  body: string;
  attachments?: readonly OutgoingAttachment[];
  date?: Date;
}

export interface TransformedAttachment {
  /** Index of the original attachment in the request. */
  source: number;
  /** true: put this in place of the original (encrypted); false: add it next to it (signature). */
  replacesSource: boolean;
  name: string;
  open(): Promise<ReadableStream<Uint8Array>>;
}

export interface TransformResult {
  body: string;
  attachments: TransformedAttachment[];
}

/** Bodies are read whole (they are the text a person wrote); this bounds a runaway one. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await readAll(stream, MAX_BODY_BYTES));
}

export async function transformOutgoing(request: TransformRequest): Promise<TransformResult> {
  const { plan, date } = request;
  assertPlanReady(plan);
  const signingKeys = plan.sign && plan.signingKey ? [plan.signingKey] : [];
  const attachments = request.attachments ?? [];
  const when = date ? { date } : {};

  if (plan.encrypt) {
    const recipients = { recipients: plan.encryptionKeys, hiddenRecipients: plan.hiddenKeys, signingKeys, ...when };
    const body = await text(await encrypt({ input: request.body, format: 'text', ...recipients }));
    return {
      body,
      attachments: attachments.map((attachment, source) => ({
        source,
        replacesSource: true,
        name: `${attachment.name}.asc`,
        // Armored natively (mime-armor.ts; OpenPGP.js's armor() is a JavaScript loop per octet), with LF
        // lines: the same text OpenPGP.js writes.
        open: async () => armorEncryptedForMime(await encrypt({ input: await attachment.data(), format: 'binary', filename: attachment.name, armor: false, ...recipients }), { lineEnding: '\n' }),
      })),
    };
  }
  if (plan.sign) {
    // Made safe for format=flowed transport (plain-text.ts): the text signed is what arrives.
    const signed = await text(await sign({ input: prepareTextForSigning(request.body), signingKeys, cleartext: true, ...when }));
    const body = dashEscapeForTransport(signed);
    return {
      body,
      attachments: attachments.map((attachment, source) => ({
        source,
        replacesSource: false,
        name: `${attachment.name}.sig`,
        open: async () => sign({ input: await attachment.data(), signingKeys, detached: true, armor: true, ...when }),
      })),
    };
  }
  return { body: request.body, attachments: [] };
}
