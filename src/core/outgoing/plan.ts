/**
 * May this message go encrypted and/or signed, and with which keys? `planOutgoing` answers before a
 * single byte is transformed, from the per-message choices, the sender's own key and what the keyring
 * knows of every To, Cc and Bcc recipient. It never throws for a recipient problem: it lists every
 * problem (so the compose window can show them all at once) and `ready` is false while any remains.
 * The send path refuses to transform an unready plan (fail closed).
 */
import type { PrivateKey, PublicKey } from 'openpgp';
import { SigillError, errorMessages, isSigillError, type SigillErrorCode } from '../errors.ts';
import { assertUsable } from '../keys/status.ts';
import { mailboxAddress } from './address.ts';

/** What a recipient's key situation is, in the words the compose window shows. */
export type RecipientKeyState =
  | 'verified' // accepted after the user compared the fingerprint
  | 'accepted'
  | 'undecided' // a key is known but the user has not accepted it
  | 'rejected'
  | 'missing'
  | 'expired'
  | 'revoked'
  | 'no-encryption-key'
  | 'invalid';

/** What the keyring answers for one address. */
export interface RecipientKeys {
  state: RecipientKeyState;
  /** The keys to encrypt to: non-empty exactly when `state` is 'verified' or 'accepted'. */
  keys: PublicKey[];
}

/** The sender identity's own key. `secretKey` may still be locked: unlocking is the caller's step. */
export interface SenderKey {
  certificate: PublicKey;
  secretKey: PrivateKey;
}

/** Where outgoing looks keys up; the keyring provides it (tests can provide a fixed table). */
export interface OutgoingKeySource {
  recipient(address: string): Promise<RecipientKeys>;
  /** undefined: no own key for this identity. */
  sender(address: string): Promise<SenderKey | undefined>;
}

export type RecipientField = 'to' | 'cc' | 'bcc';

export interface PlanRequest {
  /** The sending identity's address (or `Name <address>`). */
  from: string;
  to: readonly string[];
  cc?: readonly string[];
  bcc?: readonly string[];
  encrypt: boolean;
  sign: boolean;
  keys: OutgoingKeySource;
}

export interface PlannedRecipient {
  address: string;
  field: RecipientField;
  state: RecipientKeyState;
  /** Lower-case hex fingerprints of the keys that will be used. */
  fingerprints: string[];
}

export interface PlanProblem {
  code: SigillErrorCode;
  /** The address concerned, when there is one (the sender's for own-key problems). */
  address?: string;
  field?: RecipientField | 'from';
  /** For a person: what is wrong, naming the address. */
  message: string;
}

export interface OutgoingPlan {
  encrypt: boolean;
  sign: boolean;
  from: string;
  recipients: PlannedRecipient[];
  problems: PlanProblem[];
  /** True when nothing stands in the way. Only a ready plan may be transformed. */
  ready: boolean;
  /** To and Cc recipients' keys and the sender's own (so the Sent copy stays readable). */
  encryptionKeys: PublicKey[];
  /** Bcc recipients' keys, written as anonymous recipients (see `encrypt`'s hiddenRecipients). */
  hiddenKeys: PublicKey[];
  /** The sender's secret key when signing (possibly locked). */
  signingKey?: PrivateKey;
}

/**
 * Only a ready plan may be transformed: a plan with problems throws its first problem's code, and a signing
 * plan needs the sender's secret key unlocked (KEY_LOCKED otherwise). Both transforms check this first.
 */
export function assertPlanReady(plan: OutgoingPlan): void {
  if (!plan.ready) {
    const first = plan.problems[0];
    throw new SigillError(first?.code ?? 'INTERNAL', { detail: plan.problems.map((problem) => problem.message).join('; ') || 'the plan is not ready' });
  }
  if (plan.sign) {
    if (plan.signingKey === undefined) throw new SigillError('NO_SIGNING_KEY', { detail: `no own key for ${plan.from}` });
    if (!plan.signingKey.isDecrypted()) throw new SigillError('KEY_LOCKED', { detail: plan.signingKey.getFingerprint() });
  }
}

const stateProblems: Partial<Record<RecipientKeyState, SigillErrorCode>> = {
  undecided: 'KEY_NOT_ACCEPTED',
  rejected: 'KEY_REJECTED',
  missing: 'KEY_NOT_FOUND',
  expired: 'KEY_EXPIRED',
  revoked: 'KEY_REVOKED',
  'no-encryption-key': 'NO_ENCRYPTION_KEY',
  invalid: 'KEY_INVALID',
};

function problem(code: SigillErrorCode, address: string, field: PlanProblem['field'], what: string): PlanProblem {
  return { code, address, field, message: `${what} ${address}: ${errorMessages[code]}` };
}

/** One entry per address; an address in To or Cc and in Bcc is not hidden (it is visible anyway). */
function uniqueRecipients(request: PlanRequest, problems: PlanProblem[]): { address: string; field: RecipientField }[] {
  const seen = new Map<string, RecipientField>();
  const fields: [RecipientField, readonly string[]][] = [
    ['to', request.to],
    ['cc', request.cc ?? []],
    ['bcc', request.bcc ?? []],
  ];
  for (const [field, list] of fields) {
    for (const mailbox of list) {
      let address: string;
      try {
        address = mailboxAddress(mailbox);
      } catch {
        problems.push({ code: 'BAD_INPUT', field, message: `Not a mail address: ${JSON.stringify(mailbox)}` });
        continue;
      }
      if (!seen.has(address)) seen.set(address, field);
    }
  }
  return [...seen].map(([address, field]) => ({ address, field }));
}

export async function planOutgoing(request: PlanRequest): Promise<OutgoingPlan> {
  const problems: PlanProblem[] = [];
  let from: string;
  try {
    from = mailboxAddress(request.from);
  } catch {
    throw new SigillError('BAD_INPUT', { detail: `the sender is not a mail address: ${JSON.stringify(request.from)}` });
  }
  const recipients: PlannedRecipient[] = [];
  const encryptionKeys: PublicKey[] = [];
  const hiddenKeys: PublicKey[] = [];
  const unique = uniqueRecipients(request, problems);
  const answers = await Promise.all(unique.map(({ address }) => request.keys.recipient(address)));
  unique.forEach(({ address, field }, index) => {
    const answer = answers[index] ?? { state: 'missing', keys: [] };
    const usable = answer.state === 'verified' || answer.state === 'accepted';
    // A keyring answer that contradicts itself is not trusted (fail closed).
    const keys = usable ? answer.keys : [];
    const state: RecipientKeyState = usable && keys.length === 0 ? 'missing' : answer.state;
    recipients.push({ address, field, state, fingerprints: keys.map((key) => key.getFingerprint()) });
    if (request.encrypt) {
      const code = stateProblems[state];
      if (code !== undefined) problems.push(problem(code, address, field, 'Recipient'));
      (field === 'bcc' ? hiddenKeys : encryptionKeys).push(...keys);
    }
  });
  if (request.encrypt && unique.length === 0 && problems.length === 0) {
    problems.push({ code: 'BAD_INPUT', message: 'The message has no recipient.' });
  }

  let signingKey: PrivateKey | undefined;
  if (request.encrypt || request.sign) {
    const own = await request.keys.sender(from);
    if (own === undefined) {
      problems.push(problem('KEY_NOT_FOUND', from, 'from', 'Your own key for'));
    } else {
      const ownProblem = await ownKeyProblem(own, request);
      if (ownProblem !== undefined) problems.push(problem(ownProblem, from, 'from', 'Your own key for'));
      if (request.encrypt) encryptionKeys.push(own.certificate);
      if (request.sign) signingKey = own.secretKey;
    }
  }
  return {
    encrypt: request.encrypt,
    sign: request.sign,
    from,
    recipients,
    problems,
    ready: problems.length === 0,
    encryptionKeys: dedupe(encryptionKeys),
    hiddenKeys: dedupe(hiddenKeys).filter((key) => !encryptionKeys.some((visible) => visible.getFingerprint() === key.getFingerprint())),
    ...(signingKey ? { signingKey } : {}),
  };
}

/** Why the sender's own key cannot do what this message needs (undefined: it can). */
async function ownKeyProblem(own: SenderKey, request: PlanRequest): Promise<SigillErrorCode | undefined> {
  try {
    if (request.encrypt) await assertUsable(own.certificate, 'encrypt');
    if (request.sign) await assertUsable(own.secretKey, 'sign');
    return undefined;
  } catch (error) {
    return isSigillError(error) ? error.code : 'KEY_INVALID';
  }
}

function dedupe(keys: PublicKey[]): PublicKey[] {
  const seen = new Set<string>();
  return keys.filter((key) => {
    const fingerprint = key.getFingerprint();
    if (seen.has(fingerprint)) return false;
    seen.add(fingerprint);
    return true;
  });
}
