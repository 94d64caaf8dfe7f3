// sigill ⇄ PGPainless's pgpainless-cli (SOP; a JVM, ~1 s per call) (see harness.ts for the table).
import { defineInteropSuite } from './harness.ts';
import { SopImplementation, pgpainlessDialect, quickJvm } from './implementations.ts';

defineInteropSuite({
  name: 'pgpainless-cli',
  tools: [{ command: 'pgpainless-cli', debianPackage: 'pgpainless-cli' }],
  create: async (scratch) => new SopImplementation('pgpainless-cli', 'pgpainless-cli', pgpainlessDialect, scratch, quickJvm),
  // Bouncy Castle of pgpainless-cli 1.3 does not know v6 keys nor algorithm 27 (Ed25519).
  v6Error: /does not contain an OpenPGP certificate|unknown PGP public key algorithm encountered: 27/,
  knownPeerDefects: [
    {
      // Its clearsigned text with CRLF and trailing blanks fails in gpg 2.2, sqop and pgpainless-cli's own inline-verify.
      title: /pgpainless-cli → sigill: inline-sign --as=clearsigned, inline-verify \(.*, UTF-8 text\)/,
      error: /exit 3: .*sigill sop inline-verify/,
      reason: 'pgpainless-cli 1.3 clearsigned CRLF text with trailing blanks does not verify anywhere, itself included',
    },
  ],
});
