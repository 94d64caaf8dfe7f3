// FAIL-CLOSED, in the core: whatever goes wrong on the way from plan to ciphertext ends in an error,
// never in plaintext or in a quietly shortened message. (The send hook in Thunderbird turns every such
// error into a cancelled send; its scenario shows the relay receiving nothing.)
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSigillError, planOutgoing, readAll, transformOutgoing, type OutgoingKeySource, type OutgoingPlan } from '../../src/core/index.ts';
import { keySource } from '../unit/core/outgoing/keys.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;

async function plan(options: { recipients?: Parameters<typeof keySource>[0]['recipients']; unlocked?: boolean; sign?: boolean } = {}): Promise<OutgoingPlan> {
  const keys = await keySource({
    recipients: options.recipients ?? { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] } },
    senders: { 'alice@sigill.test': 'alice' },
    unlocked: options.unlocked ?? true,
  });
  return planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], cc: ['carol@sigill.test'], encrypt: true, sign: options.sign ?? true, keys });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('FAIL-CLOSED: the send transform', () => {
  it('refuses a plan with a recipient problem, naming the recipient, before reading body or attachments', async () => {
    const unready = await plan(); // carol (Cc) has no key
    expect(unready.ready).toBe(false);
    let read = false;
    const error = await failure(
      transformOutgoing({
        plan: unready,
        body: canary,
        attachments: [
          {
            name: 'a.bin',
            data: () => {
              read = true;
              return new Uint8Array(1);
            },
          },
        ],
      }),
    );
    expect(isSigillError(error, 'KEY_NOT_FOUND')).toBe(true);
    expect(String((error as Error).message)).toContain('carol@sigill.test');
    expect(read).toBe(false);
  });

  it('refuses a plan that was edited to look ready but still lists problems', async () => {
    const unready = await plan();
    const error = await failure(transformOutgoing({ plan: { ...unready, ready: unready.problems.length === 0 }, body: canary }));
    expect(isSigillError(error)).toBe(true);
  });

  it('refuses to sign with a locked key (KEY_LOCKED), so the caller asks for the passphrase and retries', async () => {
    const locked = await plan({ recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] }, 'carol@sigill.test': { state: 'accepted', keys: ['carol'] } }, unlocked: false });
    expect(locked.ready).toBe(true);
    expect(isSigillError(await failure(transformOutgoing({ plan: locked, body: canary })), 'KEY_LOCKED')).toBe(true);
  });

  it('refuses a key that is no longer usable even when the keyring still calls it accepted (stale metadata)', async () => {
    // The keyring answers from stored metadata; the transform judges the key itself at send time.
    const stale = await plan({ recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['expired'] }, 'carol@sigill.test': { state: 'accepted', keys: ['revoked'] } }, sign: false });
    expect(stale.ready).toBe(true);
    const error = await failure(transformOutgoing({ plan: stale, body: canary }));
    expect(isSigillError(error, 'KEY_EXPIRED') || isSigillError(error, 'KEY_REVOKED')).toBe(true);
  });

  it('an attachment that cannot be read fails its transform; one that breaks midway errors the stream instead of ending it early', async () => {
    const ready = await plan({ recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] }, 'carol@sigill.test': { state: 'accepted', keys: ['carol'] } } });
    const result = await transformOutgoing({
      plan: ready,
      body: 'body',
      attachments: [
        {
          name: 'gone.bin',
          data: () => {
            throw new Error('file vanished');
          },
        },
        {
          name: 'broken.bin',
          data: () => {
            let sent = 0;
            return new ReadableStream<Uint8Array>({
              pull(controller) {
                if (sent++ < 4) controller.enqueue(new Uint8Array(65536).fill(1));
                else controller.error(new Error('disk read error'));
              },
            });
          },
        },
      ],
    });
    await expect(result.attachments[0]!.open()).rejects.toThrow('file vanished');
    await expect(readAll(await result.attachments[1]!.open())).rejects.toBeTruthy();
  });

  it('a keyring that fails while planning fails the plan (the caller cancels the send)', async () => {
    const broken: OutgoingKeySource = {
      recipient: async () => {
        throw new Error('storage unavailable');
      },
      sender: async () => undefined,
    };
    await expect(planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], encrypt: true, sign: false, keys: broken })).rejects.toThrow('storage unavailable');
  });
});
