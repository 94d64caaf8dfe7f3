/**
 * Keys attached to received mail (`.asc`, `.pgp`, `.gpg`, `application/pgp-keys`): the read path
 * hands the attachment's bytes here. Only what concerns the sender is kept (user IDs naming the
 * From address), as for every discovered key; a forwarded key of someone else is refused with the
 * reason (importing it is a deliberate act in the key manager, not discovery). Secret key material
 * in an attachment is reduced to the public certificate.
 */
import { SigillError } from '../errors.ts';
import { parseAddress } from './address.ts';
import { examineKeyData, toProblem } from './candidates.ts';
import { DEFAULT_MAX_KEY_BYTES, type DiscoveryResult } from './types.ts';

export interface AttachedKeyInput {
  /** The attachment's content: armored text or binary key data. */
  data: Uint8Array | string;
  /** The sender (From) the keys are judged for. */
  from: string;
  /** For people: where it came from. */
  fileName?: string;
  maxBytes?: number;
  now?: () => Date;
}

export async function attachedKeyCandidates(input: AttachedKeyInput): Promise<DiscoveryResult> {
  const address = parseAddress(input.from).address;
  const origin = input.fileName === undefined ? 'attachment' : `attachment ${JSON.stringify(input.fileName)}`;
  const result: DiscoveryResult = { source: 'attachment', address, keys: [], rejected: [], attempts: [] };
  const maxBytes = input.maxBytes ?? DEFAULT_MAX_KEY_BYTES;
  const size = typeof input.data === 'string' ? new TextEncoder().encode(input.data).byteLength : input.data.byteLength;
  if (size > maxBytes) {
    const error = new SigillError('TOO_LARGE', { detail: `${origin} has ${size} bytes; a key file is at most ${maxBytes}` });
    result.rejected.push({ source: 'attachment', address, reason: toProblem(error) });
    return result;
  }
  const examined = await examineKeyData(input.data, { source: 'attachment', address, origin, now: (input.now ?? (() => new Date()))() });
  return { ...result, ...examined };
}
