/**
 * The extension side of the builtin-decryption Experiment (schema.json, implementation.js): Thunderbird's own
 * OpenPGP is spared its PGP/MIME decryption attempt while it holds no secret key (it could only fail), which
 * takes it seconds of JavaScript for a large message before the message shows (docs/reading-mail.md,
 * "Thunderbird's own load"). Where it has a key, or may use external GnuPG, it decrypts as always.
 */

export interface BuiltinDecryptionInstalled {
  installed: boolean;
  reason?: string;
}

export interface BuiltinDecryptionCounts {
  installed: boolean;
  /** Encrypted parts handed to Thunderbird's own decryptor. */
  delegated: number;
  /** Encrypted parts its decryptor was spared (it could not decrypt). */
  spared: number;
  thunderbirdMayDecrypt: boolean;
}

/** `browser.sigillBuiltinDecryption` as schema.json declares it. */
export interface BuiltinDecryptionExperiment {
  spareWhenKeyless(): Promise<BuiltinDecryptionInstalled>;
  counts(): Promise<BuiltinDecryptionCounts>;
}

/** The Experiment's API in this extension context, or undefined where it is not declared. */
export function builtinDecryptionExperiment(scope: object = globalThis): BuiltinDecryptionExperiment | undefined {
  const holder = scope as { browser?: { sigillBuiltinDecryption?: BuiltinDecryptionExperiment }; messenger?: { sigillBuiltinDecryption?: BuiltinDecryptionExperiment } };
  return holder.messenger?.sigillBuiltinDecryption ?? holder.browser?.sigillBuiltinDecryption;
}

/** Installs the spare; never throws (a missing or failing Experiment leaves Thunderbird as it is, and says why). */
export async function spareBuiltinDecryption(experiment = builtinDecryptionExperiment()): Promise<BuiltinDecryptionInstalled> {
  if (!experiment) return { installed: false, reason: 'the Experiment is not loaded' };
  try {
    return await experiment.spareWhenKeyless();
  } catch (error) {
    return { installed: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
