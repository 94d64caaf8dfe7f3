// sigill ⇄ Sequoia's sqop (SOP), same arguments on both sides (see harness.ts for the table).
import { defineInteropSuite } from './harness.ts';
import { SopImplementation, sqopDialect } from './implementations.ts';

defineInteropSuite({
  name: 'sqop',
  tools: [{ command: 'sqop', debianPackage: 'sqop' }],
  create: async (scratch) => new SopImplementation('sqop', 'sqop', sqopDialect, scratch),
  // sqop 0.27 (Sequoia 1.12) predates RFC 9580.
  v6Error: /exit 41\b[\s\S]*Invalid data type/,
  knownPeerDefects: [
    {
      // printf 'a \r\nb' | sqop inline-sign --as=clearsigned: gpg 2.2 and pgpainless-cli report a bad signature
      // too, and sqop itself rejects the same message with LF line ends (it signed 'a ' with its blank).
      title: /sqop → sigill: inline-sign --as=clearsigned, inline-verify \(.*, UTF-8 text\)/,
      error: /exit 3: .*sigill sop inline-verify/,
      reason: 'sqop 0.27 clearsigns CRLF lines without removing their trailing blanks',
    },
  ],
});
