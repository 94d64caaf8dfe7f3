// sigill ⇄ GopenPGP's gosop (SOP). The Debian gosop predates inline-sign/inline-verify and
// --with-key-password: inline cases are asserted unsupported, secret keys are passed unlocked.
import { defineInteropSuite } from './harness.ts';
import { SopImplementation, gosopDialect } from './implementations.ts';

defineInteropSuite({
  name: 'gosop',
  tools: [{ command: 'gosop', debianPackage: 'gosop' }],
  create: async (scratch) => new SopImplementation('gosop', 'gosop', gosopDialect, scratch),
  v6Error: /exit 99\b[\s\S]*openpgp: invalid data/,
  noInline: 'the Debian gosop has no inline-sign / inline-verify (exit 69)',
  knownPeerDefects: [
    {
      // Reproduces gosop → gosop: 100000 random bytes decrypt to 131929 (output goes through a UTF-8 string).
      title: /→ gosop: encrypt\+sign, decrypt\+verify .*binary/,
      error: /gosop decrypted: \d+ bytes out, 5242880 bytes in/,
      reason: 'gosop (GopenPGP 2.5.2) decrypt mangles binary plaintext',
    },
  ],
});
