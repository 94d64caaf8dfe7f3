/**
 * The keyring as an `OutgoingKeySource`: what the send path asks about every recipient and about the
 * sender's own key, answered from the keyring's acceptance decisions and checked again on the parsed
 * keys (`Keyring.encryptionKeys`), so metadata alone never decides that a key is usable.
 */
import { isSigillError, type SigillErrorCode } from '../errors.ts';
import type { Keyring } from '../keyring/keyring.ts';
import type { AddressKeyStatus } from '../keyring/types.ts';
import type { OutgoingKeySource, RecipientKeyState, RecipientKeys, SenderKey } from './plan.ts';

/** The keyring's word for an address → the compose window's word. */
const stateOfStatus: Record<Exclude<AddressKeyStatus, 'usable'>, RecipientKeyState> = {
  missing: 'missing',
  'not-accepted': 'undecided',
  rejected: 'rejected',
  expired: 'expired',
  revoked: 'revoked',
  'no-encryption-key': 'no-encryption-key',
  invalid: 'invalid',
};

/** A key that metadata called usable but that failed the check on the parsed key. */
const stateOfError: Partial<Record<SigillErrorCode, RecipientKeyState>> = {
  KEY_NOT_FOUND: 'missing',
  KEY_NOT_ACCEPTED: 'undecided',
  KEY_REJECTED: 'rejected',
  KEY_EXPIRED: 'expired',
  KEY_REVOKED: 'revoked',
  NO_ENCRYPTION_KEY: 'no-encryption-key',
};

export interface KeyringKeySourceOptions {
  keyring: Keyring;
}

/**
 * Recipients: accepted or verified usable keys (state 'verified' when the best usable key was
 * verified); otherwise the keyring's reason, with no keys. Sender: the newest own key for the address
 * that can sign; its secret key is the keyring's unlocked copy when there is one, else the stored
 * (locked) one — unlocking is the caller's step (the passphrase prompt).
 */
export function keyringKeySource({ keyring }: KeyringKeySourceOptions): OutgoingKeySource {
  return {
    async recipient(address: string): Promise<RecipientKeys> {
      const found = keyring.lookup(address);
      if (found.status !== 'usable') return { state: stateOfStatus[found.status], keys: [] };
      try {
        const keys = await keyring.encryptionKeys(address);
        const state: RecipientKeyState = found.usable[0]?.acceptance === 'verified' ? 'verified' : 'accepted';
        return { state, keys };
      } catch (error) {
        return { state: (isSigillError(error) ? stateOfError[error.code] : undefined) ?? 'invalid', keys: [] };
      }
    },
    async sender(address: string): Promise<SenderKey | undefined> {
      const [record] = keyring.ownKeysFor(address);
      if (record === undefined) return undefined;
      const secretKey = keyring.unlockedKey(record.fingerprint) ?? (await keyring.secretKey(record.fingerprint));
      return { certificate: secretKey.toPublic(), secretKey };
    },
  };
}
