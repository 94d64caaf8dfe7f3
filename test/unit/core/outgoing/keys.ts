/** A fixed key source for outgoing tests: the persona fixtures, with acceptance states set per test. */
import { loadCertificate, loadSecretKey, type FixtureName } from '../../../../keys-fixtures/index.ts';
import type { OutgoingKeySource, RecipientKeys, SenderKey } from '../../../../src/core/index.ts';

export interface TableEntry {
  state: RecipientKeys['state'];
  keys?: readonly FixtureName[];
}

/** `recipients` maps an address to what the keyring would answer; `senders` maps an address to a fixture. */
export async function keySource(options: {
  recipients: Record<string, TableEntry>;
  senders?: Record<string, FixtureName>;
  unlocked?: boolean;
}): Promise<OutgoingKeySource & { asked: string[] }> {
  const asked: string[] = [];
  const senders = new Map<string, SenderKey>();
  for (const [address, name] of Object.entries(options.senders ?? {})) {
    senders.set(address, { certificate: await loadCertificate(name), secretKey: await loadSecretKey(name, { unlocked: options.unlocked ?? true }) });
  }
  const recipients = new Map<string, RecipientKeys>();
  for (const [address, entry] of Object.entries(options.recipients)) {
    recipients.set(address, { state: entry.state, keys: await Promise.all((entry.keys ?? []).map((name) => loadCertificate(name))) });
  }
  return {
    asked,
    recipient: async (address) => {
      asked.push(address);
      return recipients.get(address) ?? { state: 'missing', keys: [] };
    },
    sender: async (address) => senders.get(address),
  };
}
