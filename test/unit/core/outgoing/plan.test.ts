import { describe, expect, it } from 'vitest';
import { isSigillError, mailboxAddress, planOutgoing, type PlanRequest } from '../../../../src/core/index.ts';
import { keySource, type TableEntry } from './keys.ts';

const alice = 'alice@sigill.test';

async function plan(recipients: Record<string, TableEntry>, request: Partial<PlanRequest> & { to: string[] }, own: Record<string, 'alice' | 'expired' | 'revoked' | 'signing-only'> = { [alice]: 'alice' }) {
  const keys = await keySource({ recipients, senders: own });
  return planOutgoing({ from: `Alice <${alice}>`, encrypt: true, sign: true, keys, ...request });
}

describe('mailboxAddress', () => {
  it.each([
    ['bob@sigill.test', 'bob@sigill.test'],
    ['Bob <Bob@Sigill.Test>', 'bob@sigill.test'],
    ['"Smith, Bob" <bob@sigill.test>', 'bob@sigill.test'],
    ['  bob@sigill.test  ', 'bob@sigill.test'],
  ])('%s → %s', (input, address) => {
    expect(mailboxAddress(input)).toBe(address);
  });

  it.each(['', 'bob', 'Bob <>', 'a@b@c', 'bob@sig\u0000ill.test', 'x <a b@c>'])('refuses %j', (input) => {
    expect(() => mailboxAddress(input)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});

describe('planOutgoing', () => {
  it('is ready when every recipient has an accepted or verified key, and adds the own key', async () => {
    const result = await plan(
      { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] }, 'carol@sigill.test': { state: 'verified', keys: ['carol'] } },
      { to: ['Bob <bob@sigill.test>'], cc: ['carol@sigill.test'] },
    );
    expect(result.ready).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.recipients).toEqual([
      expect.objectContaining({ address: 'bob@sigill.test', field: 'to', state: 'accepted' }),
      expect.objectContaining({ address: 'carol@sigill.test', field: 'cc', state: 'verified' }),
    ]);
    // bob, carol and alice herself (the Sent copy stays readable)
    expect(result.encryptionKeys).toHaveLength(3);
    expect(result.hiddenKeys).toEqual([]);
    expect(result.signingKey?.isPrivate()).toBe(true);
  });

  it.each([
    ['missing', 'KEY_NOT_FOUND'],
    ['undecided', 'KEY_NOT_ACCEPTED'],
    ['rejected', 'KEY_REJECTED'],
    ['expired', 'KEY_EXPIRED'],
    ['revoked', 'KEY_REVOKED'],
    ['no-encryption-key', 'NO_ENCRYPTION_KEY'],
    ['invalid', 'KEY_INVALID'],
  ] as const)('a Cc recipient whose key is %s blocks encryption with %s, naming the recipient', async (state, code) => {
    const result = await plan(
      { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] }, 'dave@sigill.test': { state } },
      { to: ['bob@sigill.test'], cc: ['Dave <dave@sigill.test>'] },
    );
    expect(result.ready).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ code, address: 'dave@sigill.test', field: 'cc' })]);
    expect(result.problems[0]?.message).toContain('dave@sigill.test');
  });

  it('lists every problem at once, in To, Cc and Bcc', async () => {
    const result = await plan({}, { to: ['a@sigill.test'], cc: ['b@sigill.test'], bcc: ['c@sigill.test'] });
    expect(result.problems.map((problem) => [problem.address, problem.field, problem.code])).toEqual([
      ['a@sigill.test', 'to', 'KEY_NOT_FOUND'],
      ['b@sigill.test', 'cc', 'KEY_NOT_FOUND'],
      ['c@sigill.test', 'bcc', 'KEY_NOT_FOUND'],
    ]);
  });

  it('uses every accepted key of an address with several', async () => {
    const result = await plan({ 'bob@sigill.test': { state: 'accepted', keys: ['bob', 'carol'] } }, { to: ['bob@sigill.test'] });
    expect(result.ready).toBe(true);
    expect(result.recipients[0]?.fingerprints).toHaveLength(2);
    expect(result.encryptionKeys).toHaveLength(3);
  });

  it('does not trust a keyring answer that says accepted but gives no key', async () => {
    const result = await plan({ 'bob@sigill.test': { state: 'accepted' } }, { to: ['bob@sigill.test'] });
    expect(result.ready).toBe(false);
    expect(result.recipients[0]?.state).toBe('missing');
  });

  it('does not use keys the keyring lists for an undecided address', async () => {
    const result = await plan({ 'bob@sigill.test': { state: 'undecided', keys: ['bob'] } }, { to: ['bob@sigill.test'] });
    expect(result.ready).toBe(false);
    expect(result.encryptionKeys).toHaveLength(1); // only alice's own
  });

  it('puts Bcc recipients into hiddenKeys, unless the address is also in To or Cc', async () => {
    const table = { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] }, 'carol@sigill.test': { state: 'accepted', keys: ['carol'] } } as const;
    const hidden = await plan(table, { to: ['bob@sigill.test'], bcc: ['carol@sigill.test'] });
    expect(hidden.hiddenKeys.map((key) => key.getFingerprint())).toEqual(hidden.recipients[1]?.fingerprints);
    expect(hidden.encryptionKeys.map((key) => key.getFingerprint())).not.toContain(hidden.recipients[1]?.fingerprints[0]);
    const both = await plan(table, { to: ['bob@sigill.test', 'carol@sigill.test'], bcc: ['Carol <carol@sigill.test>'] });
    expect(both.hiddenKeys).toEqual([]);
    expect(both.recipients).toHaveLength(2);
  });

  it('reports a missing, expired or revoked own key', async () => {
    const bob = { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] } } as const;
    const missing = await plan(bob, { to: ['bob@sigill.test'] }, {});
    expect(missing.problems).toEqual([expect.objectContaining({ code: 'KEY_NOT_FOUND', field: 'from', address: alice })]);
    const expired = await plan(bob, { to: ['bob@sigill.test'] }, { [alice]: 'expired' });
    expect(expired.problems).toEqual([expect.objectContaining({ code: 'KEY_EXPIRED', field: 'from' })]);
    const revoked = await plan(bob, { to: ['bob@sigill.test'] }, { [alice]: 'revoked' });
    expect(revoked.problems).toEqual([expect.objectContaining({ code: 'KEY_REVOKED', field: 'from' })]);
    const signingOnly = await plan(bob, { to: ['bob@sigill.test'] }, { [alice]: 'signing-only' });
    expect(signingOnly.problems).toEqual([expect.objectContaining({ code: 'NO_ENCRYPTION_KEY', field: 'from' })]);
  });

  it('signs without looking at recipient keys when it does not encrypt', async () => {
    const result = await plan({}, { to: ['nobody@sigill.test'], encrypt: false });
    expect(result.ready).toBe(true);
    expect(result.encryptionKeys).toEqual([]);
    expect(result.recipients[0]?.state).toBe('missing');
  });

  it('is trivially ready when neither encrypting nor signing', async () => {
    const result = await plan({}, { to: ['nobody@sigill.test'], encrypt: false, sign: false }, {});
    expect(result).toMatchObject({ ready: true, problems: [], encryptionKeys: [] });
  });

  it('reports an address that is not one, and a message without recipients', async () => {
    const bad = await plan({ 'bob@sigill.test': { state: 'accepted', keys: ['bob'] } }, { to: ['bob@sigill.test', 'not an address'] });
    expect(bad.problems).toEqual([expect.objectContaining({ code: 'BAD_INPUT', field: 'to' })]);
    const none = await plan({}, { to: [] });
    expect(none.problems).toEqual([expect.objectContaining({ code: 'BAD_INPUT' })]);
  });

  it('refuses a sender that is not an address', async () => {
    const keys = await keySource({ recipients: {} });
    const error = await planOutgoing({ from: 'Alice', to: [], encrypt: true, sign: true, keys }).catch((caught: unknown) => caught);
    expect(isSigillError(error, 'BAD_INPUT')).toBe(true);
  });
});
