// The compose popup's per-message choices survive a suspended background (storage.session), and a
// choice that cannot be read back stops the send path instead of falling back to the defaults.
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../../../src/core/index.ts';
import { SessionChoices, type SessionArea } from '../../../../extension/background/choices.ts';
import { startBackground } from '../../../../extension/background/main.ts';
import { nodeBrowser } from '../node-browser.ts';

const accounts = [{ id: 'account1', name: 'alice@sigill.test', type: 'pop3', identities: [{ id: 'id1', email: 'alice@sigill.test', name: 'Alice' }] }];

describe('SessionChoices', () => {
  it('a new background (after Thunderbird suspended the old one) gets back the choices made before', async () => {
    const session = new MemoryStorage();
    const before = new SessionChoices(session);
    await before.restore();
    before.set(7, { encrypt: true, sign: false });
    before.set(8, { attachPublicKey: true });
    before.delete(8);
    await before.flushed();

    const after = new SessionChoices(session);
    await after.restore();
    expect([...after]).toEqual([[7, { encrypt: true, sign: false }]]);
  });

  it('a choice made in this run wins over an older stored one; malformed stored entries are ignored', async () => {
    const session = new MemoryStorage();
    await session.set({ composeChoices: { '3': { encrypt: false }, '4': { encrypt: 'yes' }, x: { sign: true }, '5': { sign: true, extra: true } } });
    const choices = new SessionChoices(session);
    choices.set(3, { encrypt: true });
    await choices.restore();
    expect([...choices]).toEqual([[3, { encrypt: true }]]);
  });

  it('rejects when storage.session cannot be read, so the send path cannot fall back to the defaults', async () => {
    const broken: SessionArea = { get: () => Promise.reject(new Error('storage is gone')), set: async () => undefined };
    await expect(new SessionChoices(broken).restore()).rejects.toThrow(/storage is gone/);
  });

  it('the background keeps its choices in storage.session, where the next background finds them', async () => {
    const api = nodeBrowser({ accounts });
    const background = startBackground(api);
    await background.ready;
    background.choices.set(42, { encrypt: true });
    await (background.choices as SessionChoices).flushed();
    const next = new SessionChoices(api.storage.session);
    await next.restore();
    expect(next.get(42)).toEqual({ encrypt: true });
  });
});

describe('activityPulse', () => {
  it('a busy decryption keeps the background alive: one cheap parent call per 5 s however many chunks pulse', async () => {
    const { activityPulse } = await import('../../../../extension/background/main.ts');
    const api = nodeBrowser({ accounts });
    let time = 0;
    const pulse = activityPulse(api, () => time);
    for (let chunk = 0; chunk < 1000; chunk++) {
      pulse();
      time += 20; // 1,000 chunks over 20 s
    }
    expect(api.activityCalls).toBe(4);
  });

  it('decrypting through the core pulses once per chunk (the seam the background installs)', async () => {
    const { useActivityPulse, encrypt, decrypt, memorySink, readAll } = await import('../../../../src/core/index.ts');
    const { loadSecretKey } = await import('../../../../keys-fixtures/index.ts');
    const bob = await loadSecretKey('bob', { unlocked: true });
    const encrypted = await readAll(await encrypt({ input: new Uint8Array(300_000), recipients: [bob.toPublic()], armor: false }));
    let pulses = 0;
    useActivityPulse(() => (pulses += 1));
    try {
      await decrypt({ input: encrypted, sink: memorySink(), decryptionKeys: [bob] });
    } finally {
      useActivityPulse(undefined);
    }
    expect(pulses).toBeGreaterThan(0);
  });
});
