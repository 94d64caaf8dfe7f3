/**
 * The table every interop suite runs: sigill ⇄ one peer, both directions, for
 * encrypt+sign → decrypt+verify, detached sign → verify and inline-sign → inline-verify, with a
 * Cv25519 v4 key (UTF-8 text with non-ASCII, CRLF and trailing blanks; 5 MiB of random binary) and an
 * RSA-3072 key (both payloads too); then keys made by the peer read by sigill, a key made by sigill read by the
 * peer, and v6 keys asserted unsupported by the peer (with sigill itself as the positive control).
 *
 * Verification results are checked by signer fingerprint (primary, and the signing subkey belongs to it),
 * not by exit code alone. A peer's own known defects are asserted to still fail (see KnownPeerDefect).
 *
 * To prove the harness without sigill, run another SOP binary in sigill's place:
 * `SIGILL_INTEROP_SUBJECT=sqop npx vitest run --project core test/interop/gosop.test.ts`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools, type Tool } from '../support/tools.ts';
import { CommandFailed, tempDir, type TempDir, type Verification } from '../support/sop.ts';
import { loadPersonas, type InteropKey, type Personas } from './keys.ts';
import { subjectImplementation, type DataMode, type Implementation, type InlineMode } from './implementations.ts';

/** A case the peer itself gets wrong (shown with another peer too, not only with sigill). */
export interface KnownPeerDefect {
  /** Matched against the case title. */
  title: RegExp;
  /** Matched against the error the case throws: the failure must still be the peer's. */
  error: RegExp;
  reason: string;
}

export interface PeerSpec {
  /** `gpg`, `sqop` ...: used in titles. */
  name: string;
  tools: Tool[];
  create(scratch: TempDir): Promise<Implementation>;
  /** How the peer fails on v6 material: a pattern its error output must match. */
  v6Error: RegExp;
  /** Set when the peer has no inline-sign / inline-verify: those cases assert it refuses (exit 69). */
  noInline?: string;
  knownPeerDefects?: KnownPeerDefect[];
}

/** UTF-8 text with non-ASCII, CRLF line ends, trailing spaces and tabs, a dash line and no final newline. */
export const textPayload = Buffer.from(
  [
    'Grüße från Åsa — “citat” ✓ 日本語 🙂',
    'A line with trailing spaces   ',
    '\tindented with a tab, and a tab at the end\t',
    'From the start of a line',
    '-- ',
    '- a dash line',
    '',
    'last line, no newline',
  ].join('\r\n'),
  'utf8',
);

/** The mail-body case without the edges: UTF-8, LF line ends, no trailing blanks, final newline. */
export const plainTextPayload = Buffer.from('Grüße från Åsa — ✓ 日本語\nSecond line.\n\n--\nÅsa\n', 'utf8');

type Comparison = 'exact' | 'eol' | 'cleartext';

function normalize(data: Buffer, how: Comparison): string {
  const text = data.toString('utf8').replace(/\r\n/g, '\n');
  if (how === 'eol') return text;
  // Cleartext signature framework: trailing whitespace is not signed and line ends are canonical.
  return text.replace(/[ \t]+$/gm, '').replace(/\n+$/, '');
}

/** Compares without ever printing 5 MiB in a diff. */
export function expectSameData(actual: Buffer, expected: Buffer, how: Comparison, what: string): void {
  if (how === 'exact') {
    expect(actual.equals(expected), `${what}: ${actual.length} bytes out, ${expected.length} bytes in, contents differ`).toBe(true);
    return;
  }
  expect(normalize(actual, how), what).toBe(normalize(expected, how));
}

/** Exactly one verification, made by `key` (primary fingerprint) with one of its (sub)keys. */
export function expectSignedBy(verifications: Verification[], key: InteropKey, what: string): void {
  expect(verifications, `${what}: verifications`).toHaveLength(1);
  const [v] = verifications;
  expect(v?.primaryFingerprint, `${what}: primary fingerprint of the signer`).toBe(key.fingerprint);
  expect(key.fingerprints, `${what}: signing (sub)key`).toContain(v?.signingFingerprint);
}

interface Context {
  scratch: TempDir;
  personas: Personas;
  peer: Implementation;
  sigill: Implementation;
  peerKeys: InteropKey[];
  binary: Buffer;
}

export function defineInteropSuite(spec: PeerSpec): void {
  const subject = process.env.SIGILL_INTEROP_SUBJECT ? `${process.env.SIGILL_INTEROP_SUBJECT}(as sigill)` : 'sigill';
  describeWithTools(spec.tools, `interop: ${subject} ⇄ ${spec.name}`, () => {
    let ctx: Context | undefined;
    const get = (): Context => {
      if (!ctx) throw new Error('interop context not set up (beforeAll failed)');
      return ctx;
    };

    let scratch: TempDir | undefined;
    let peer: Implementation | undefined;
    beforeAll(async () => {
      scratch = await tempDir(`sigill-interop-${spec.name}-`);
      const personas = await loadPersonas(scratch.path);
      peer = await spec.create(scratch);
      ctx = {
        scratch,
        personas,
        peer,
        sigill: subjectImplementation(scratch),
        peerKeys: await peer.generateKeys(),
        binary: randomBytes(5 * 1024 * 1024),
      };
    });

    // Cleans up also after a failed beforeAll.
    afterAll(async () => {
      await peer?.dispose();
      await scratch?.dispose();
    });

    /** `it`, or — for a known defect of the peer — an assertion that the peer still fails that way. */
    const check = (title: string, body: () => Promise<void>): void => {
      const defect = spec.knownPeerDefects?.find((d) => d.title.test(title));
      if (!defect) {
        it.concurrent(title, body);
        return;
      }
      it.concurrent(`${title} [known ${spec.name} defect, asserted: ${defect.reason}]`, async () => {
        const error: unknown = await body().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `the ${spec.name} defect no longer reproduces: drop it from knownPeerDefects`).toBeInstanceOf(Error);
        expect((error as Error).message).toMatch(defect.error);
      });
    };

    const peerName = spec.name;
    const matrix: Array<[string, (p: Personas) => InteropKey, 'UTF-8 text' | '5 MiB binary']> = [
      ['Cv25519 v4', (p) => p.alice, 'UTF-8 text'],
      ['Cv25519 v4', (p) => p.alice, '5 MiB binary'],
      ['RSA-3072', (p) => p.dave, 'UTF-8 text'],
      ['RSA-3072', (p) => p.dave, '5 MiB binary'],
    ];
    for (const [keyLabel, role, payload] of matrix) {
      const isText = payload === 'UTF-8 text';
      const data = () => (isText ? textPayload : get().binary);
      const mode: DataMode = isText ? 'text' : 'binary';
      const inlineMode: InlineMode = isText ? 'clearsigned' : 'binary';
      const cmp: Comparison = isText ? 'eol' : 'exact';
      const where = `(${keyLabel}, ${payload})`;

      for (const [fromName, toName] of [[peerName, 'sigill'], ['sigill', peerName]] as const) {
        const ends = () => {
          const { peer, sigill } = get();
          return fromName === 'sigill' ? { from: sigill, to: peer } : { from: peer, to: sigill };
        };

        check(`${fromName} → ${toName}: encrypt+sign, decrypt+verify ${where}`, async () => {
          const { from, to } = ends();
          const key = role(get().personas);
          const ciphertext = await from.encrypt(data(), mode, [key], key);
          const result = await to.decrypt(ciphertext, key, [key]);
          expectSameData(result.data, data(), cmp, `${to.name} decrypted`);
          expectSignedBy(result.verifications, key, `${to.name} decrypt`);
        });

        check(`${fromName} → ${toName}: detached sign, verify ${where}`, async () => {
          const { from, to } = ends();
          const key = role(get().personas);
          const signature = await from.sign(data(), mode, key);
          expectSignedBy(await to.verify(data(), signature, [key]), key, `${to.name} verify`);
        });

        const inlineTitle = `${fromName} → ${toName}: inline-sign --as=${inlineMode}, inline-verify ${where}`;
        check(spec.noInline ? `${inlineTitle} [unsupported, asserted: ${spec.noInline}]` : inlineTitle, async () => {
          const { from, to } = ends();
          const { peer } = get();
          if (spec.noInline) {
            // The peer refuses the subcommand with SOP's UNSUPPORTED_SUBCOMMAND.
            const refused = fromName === peerName ? peer.inlineSign(data(), inlineMode, role(get().personas)) : peer.inlineVerify(data(), []);
            await expect(refused).rejects.toThrow(/^exit 69\b/);
            return;
          }
          const key = role(get().personas);
          const signed = await from.inlineSign(data(), inlineMode, key);
          const result = await to.inlineVerify(signed, [key]);
          expectSameData(result.data, data(), isText ? 'cleartext' : cmp, `${to.name} inline-verified data`);
          expectSignedBy(result.verifications, key, `${to.name} inline-verify`);
        });
      }
    }

    const plainTitle = `${peerName} → sigill: inline-sign --as=clearsigned, inline-verify (Cv25519 v4, plain UTF-8 text: LF, no trailing blanks)`;
    check(spec.noInline ? `${plainTitle} [unsupported, asserted: ${spec.noInline}]` : plainTitle, async () => {
      const { peer, sigill, personas } = get();
      if (spec.noInline) {
        await expect(peer.inlineSign(plainTextPayload, 'clearsigned', personas.alice)).rejects.toThrow(/^exit 69\b/);
        return;
      }
      const signed = await peer.inlineSign(plainTextPayload, 'clearsigned', personas.alice);
      const result = await sigill.inlineVerify(signed, [personas.alice]);
      expectSameData(result.data, plainTextPayload, 'cleartext', 'sigill inline-verified data');
      expectSignedBy(result.verifications, personas.alice, 'sigill inline-verify');
    });

    check(`sigill → ${peerName}: encrypt to ${peerName}-made keys, signed by alice; ${peerName} decrypts and verifies`, async () => {
      const { sigill, peer, peerKeys, personas } = get();
      expect(peerKeys.length).toBeGreaterThan(0);
      for (const key of peerKeys) {
        // One recipient: gpg holds alice's secret key too, and must use the key it made.
        const ciphertext = await sigill.encrypt(textPayload, 'text', [key], personas.alice);
        const result = await peer.decrypt(ciphertext, key, [personas.alice]);
        expectSameData(result.data, textPayload, 'eol', `${peer.name} decrypted (${key.name})`);
        expectSignedBy(result.verifications, personas.alice, `${peer.name} decrypt (${key.name})`);
      }
    });

    check(`${peerName} → sigill: sigill reads ${peerName}-made secret keys and certificates (decrypt+verify, verify)`, async () => {
      const { sigill, peer, peerKeys } = get();
      for (const key of peerKeys) {
        const ciphertext = await peer.encrypt(textPayload, 'text', [key], key);
        const result = await sigill.decrypt(ciphertext, key, [key]);
        expectSameData(result.data, textPayload, 'eol', `sigill decrypted with ${key.name}`);
        expectSignedBy(result.verifications, key, `sigill decrypt (${key.name})`);
        const signature = await peer.sign(textPayload, 'binary', key);
        expectSignedBy(await sigill.verify(textPayload, signature, [key]), key, `sigill verify (${key.name})`);
      }
    });

    check(`sigill → ${peerName}: a key made by sigill sop generate-key is read by ${peerName} (encrypt to it, verify its signature)`, async () => {
      const { sigill, peer } = get();
      const [key] = await sigill.generateKeys();
      if (!key) throw new Error('sigill generate-key made no key');
      const ciphertext = await peer.encrypt(textPayload, 'text', [key]);
      expectSameData((await sigill.decrypt(ciphertext, key, [])).data, textPayload, 'eol', 'sigill decrypted with its own key');
      const signature = await sigill.sign(textPayload, 'binary', key);
      expectSignedBy(await peer.verify(textPayload, signature, [key]), key, `${peer.name} verify`);
    });

    it.concurrent(`v6 key (erin): sigill encrypts and signs with it; ${peerName} cannot (asserted unsupported)`, async () => {
      const { sigill, peer, personas } = get();
      const { erin } = personas;
      // Positive control: the v6 key is sound (sigill itself round-trips it).
      const signature = await sigill.sign(textPayload, 'text', erin);
      expectSignedBy(await sigill.verify(textPayload, signature, [erin]), erin, 'sigill verify (v6)');
      const toErin = await sigill.encrypt(textPayload, 'text', [erin]);
      // The peer fails with its own error, on each of: encrypting to erin, verifying erin, decrypting for erin.
      for (const attempt of [
        () => peer.encrypt(textPayload, 'text', [erin]),
        () => peer.verify(textPayload, signature, [erin]),
        () => peer.decrypt(toErin, erin, []),
      ]) {
        const error: unknown = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `${peer.name} unexpectedly accepted a v6 key`).toBeInstanceOf(CommandFailed);
        expect((error as CommandFailed).message).toMatch(spec.v6Error);
      }
    });
  });
}
