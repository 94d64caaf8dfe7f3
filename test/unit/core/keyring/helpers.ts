/** Shared set-up for the keyring tests: a keyring over real in-memory storage with a clock the test moves. */
import { readKeys, type Clock, Keyring, MemoryStorage, type AnyKey } from '../../../../src/core/index.ts';
import { SecretKeyPacket } from 'openpgp';

/** After the `expired` fixture expired (2025-01-01) and the `revoked` fixture was revoked (2026-11-26). */
export const START = Date.parse('2026-11-28T12:00:00Z');

export class TestClock implements Clock {
  constructor(public time: number = START) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export async function openKeyring(options: { storage?: MemoryStorage; clock?: TestClock; unlockLifetimeMs?: number } = {}) {
  const storage = options.storage ?? new MemoryStorage();
  const clock = options.clock ?? new TestClock();
  const keyring = await Keyring.open({ storage, clock, ...(options.unlockLifetimeMs === undefined ? {} : { unlockLifetimeMs: options.unlockLifetimeMs }) });
  return { keyring, storage, clock };
}

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
