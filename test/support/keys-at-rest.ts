/**
 * KEY-REST inspectors: what is really at rest in a storage backend, read from its raw JSON text rather
 * than through the keyring (used by the keyring's unit tests and the extension's background tests).
 */
import { SecretKeyPacket } from 'openpgp';
import { readKeys, type AnyKey, type MemoryStorage } from '../../src/core/index.ts';

/**
 * Every secret key block found anywhere in the raw storage, parsed from its JSON text (KEY-REST
 * checks read what is really at rest, not what the keyring says).
 */
export async function secretKeysAtRest(storage: MemoryStorage): Promise<AnyKey[]> {
  const keys: AnyKey[] = [];
  for (const [, json] of storage.rawEntries()) {
    for (const block of json.match(/-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----/g) ?? []) {
      const armored = (JSON.parse(`"${block}"`) as string);
      keys.push(...(await readKeys(armored)));
    }
  }
  return keys;
}

/** Secret key packets at rest that hold decrypted (unprotected) secret parameters. */
export async function unprotectedPacketsAtRest(storage: MemoryStorage): Promise<string[]> {
  const found: string[] = [];
  for (const key of await secretKeysAtRest(storage)) {
    for (const component of key.getKeys()) {
      const packet = component.keyPacket;
      if (packet instanceof SecretKeyPacket && !packet.isDummy() && packet.isDecrypted()) found.push(packet.getFingerprint());
    }
  }
  return found;
}
