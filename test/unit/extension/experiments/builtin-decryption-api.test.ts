// The extension side of the builtin-decryption Experiment (extension/experiments/builtin-decryption/api.ts)
// over Node stand-ins for the Experiment (named so: the real one needs Thunderbird; test/e2e/read-selected.test.ts
// shows it at work). Installing it never throws: a missing or failing Experiment leaves Thunderbird as it is and says why.
import { describe, expect, it } from 'vitest';
import { builtinDecryptionExperiment, spareBuiltinDecryption, type BuiltinDecryptionExperiment } from '../../../../extension/experiments/builtin-decryption/api.ts';

function standIn(spare: BuiltinDecryptionExperiment['spareWhenKeyless']): BuiltinDecryptionExperiment {
  return { spareWhenKeyless: spare, counts: async () => ({ installed: false, delegated: 0, spared: 0, thunderbirdMayDecrypt: true }) };
}

describe('sparing Thunderbird its own PGP/MIME decryption when it holds no secret key', () => {
  it('installs through the Experiment and reports what it answered', async () => {
    expect(await spareBuiltinDecryption(standIn(async () => ({ installed: true })))).toEqual({ installed: true });
    expect(await spareBuiltinDecryption(standIn(async () => ({ installed: false, reason: 'no registrar' })))).toEqual({ installed: false, reason: 'no registrar' });
  });

  it('never throws: without the Experiment, or when it fails, Thunderbird is left as it is and the reason given', async () => {
    expect(await spareBuiltinDecryption(undefined)).toEqual({ installed: false, reason: 'the Experiment is not loaded' });
    expect(await spareBuiltinDecryption(standIn(async () => Promise.reject(new Error('registerFactory failed'))))).toEqual({ installed: false, reason: 'registerFactory failed' });
  });

  it('finds the API as messenger.* or browser.*, and nothing where it is not declared', () => {
    const api = standIn(async () => ({ installed: true }));
    expect(builtinDecryptionExperiment({ messenger: { sigillBuiltinDecryption: api } })).toBe(api);
    expect(builtinDecryptionExperiment({ browser: { sigillBuiltinDecryption: api } })).toBe(api);
    expect(builtinDecryptionExperiment({})).toBeUndefined();
  });
});
