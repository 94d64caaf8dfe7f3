import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { armor, dearmor, detachInline, memorySink, sign, verifyDetached, verifyInline } from '../../../../src/core/index.ts';
import { bytes, generatedStream, privateKey, publicKey, randomBytes, sameBytes, text } from './helpers.ts';

let alice: openpgp.PrivateKey;
let bob: openpgp.PrivateKey;
let erin: openpgp.PrivateKey;

beforeAll(async () => {
  [alice, bob, erin] = await Promise.all([privateKey('alice'), privateKey('bob'), privateKey('erin')]);
});

describe('detached signatures', () => {
  it('sign and verify binary data; altered data is bad; an unknown signer is unknown-key', async () => {
    const data = randomBytes(100_000);
    const signature = await text(await sign({ input: data, signingKeys: [alice], detached: true }));
    expect(signature.startsWith('-----BEGIN PGP SIGNATURE-----')).toBe(true);
    const good = await verifyDetached({ input: data, signature, verificationKeys: [alice.toPublic()] });
    expect(good).toEqual([expect.objectContaining({ status: 'good', certificateFingerprint: alice.getFingerprint().toUpperCase(), mode: 'binary', userID: 'Alice <alice@sigill.test>' })]);
    const altered = data.slice();
    altered[500]! ^= 1;
    const bad = await verifyDetached({ input: altered, signature, verificationKeys: [alice.toPublic()] });
    expect(bad[0]).toMatchObject({ status: 'bad', error: 'BAD_SIGNATURE' });
    const unknown = await verifyDetached({ input: data, signature, verificationKeys: [bob.toPublic()] });
    expect(unknown[0]?.status).toBe('unknown-key');
  });

  it('two signers, binary signature output, streamed input, v6 key', async () => {
    const size = 2 * 1024 * 1024;
    const signature = await bytes(await sign({ input: generatedStream(size), signingKeys: [alice, erin], detached: true, armor: false }));
    expect(signature[0]! & 0x80).toBe(0x80);
    const result = await verifyDetached({ input: generatedStream(size), signature, verificationKeys: [alice.toPublic(), erin.toPublic()] });
    expect(result.map((v) => v.status)).toEqual(['good', 'good']);
    expect(result.map((v) => v.certificateFingerprint).sort()).toEqual([alice.getFingerprint(), erin.getFingerprint()].map((f) => f.toUpperCase()).sort());
  });

  it('text mode signatures survive a change of line endings (RFC 9580 §5.2.1, canonical text)', async () => {
    const signature = await text(await sign({ input: 'a\nb\n', signingKeys: [alice], detached: true, mode: 'text' }));
    const lf = await verifyDetached({ input: 'a\nb\n', signature, verificationKeys: [alice.toPublic()] });
    expect(lf[0]).toMatchObject({ status: 'good', mode: 'text' });
    const crlf = await verifyDetached({ input: 'a\r\nb\r\n', signature, verificationKeys: [alice.toPublic()] });
    expect(crlf[0]?.status).toBe('good');
    const binary = await text(await sign({ input: 'a\nb\n', signingKeys: [alice], detached: true }));
    const changed = await verifyDetached({ input: 'a\r\nb\r\n', signature: binary, verificationKeys: [alice.toPublic()] });
    expect(changed[0]?.status).toBe('bad');
  });

  it('notBefore / notAfter exclude signatures made outside the window', async () => {
    const date = new Date();
    const signature = await text(await sign({ input: 'x', signingKeys: [alice], detached: true, date }));
    const later = new Date(date.getTime() + 60_000);
    const result = await verifyDetached({ input: 'x', signature, verificationKeys: [alice.toPublic()], notBefore: later });
    expect(result[0]?.status).toBe('bad');
    const inside = await verifyDetached({ input: 'x', signature, verificationKeys: [alice.toPublic()], notAfter: later });
    expect(inside[0]?.status).toBe('good');
  });

  it('text mode refuses input that is not UTF-8 (EXPECTED_TEXT)', async () => {
    const latin1 = new Uint8Array([0x48, 0xe9, 0x6a, 0x0a]);
    await expect(sign({ input: latin1, signingKeys: [alice], detached: true, mode: 'text' }).then(bytes)).rejects.toMatchObject({ code: 'EXPECTED_TEXT' });
  });

  it('refuses keys that cannot sign', async () => {
    await expect(sign({ input: 'x', signingKeys: [] })).rejects.toMatchObject({ code: 'NO_SIGNING_KEY' });
  });
});

describe('inline and cleartext signatures', () => {
  it('inline signed binary message: verify writes the data to the sink after a good signature', async () => {
    const data = randomBytes(70_000);
    const signed = await bytes(await sign({ input: data, signingKeys: [alice], armor: false }));
    const sink = memorySink();
    const result = await verifyInline({ input: signed, sink, verificationKeys: [alice.toPublic()] });
    expect(result[0]?.status).toBe('good');
    expect(sameBytes(sink.bytes(), data)).toBe(true);
  });

  it('inline signed text (RFC 9580 §5.9 \'u\', §5.2.1.2 type 0x01): the literal data has CRLF line endings', async () => {
    const input = 'a\nb\r\nc\n';
    const signed = await bytes(await sign({ input, signingKeys: [alice], mode: 'text', armor: false }));
    const parsed = await openpgp.readMessage({ binaryMessage: signed });
    const literal = parsed.packets.findPacket(openpgp.enums.packet.literalData) as unknown as { format: number; getBytes(): Uint8Array };
    expect(literal.format).toBe(openpgp.enums.literal.utf8);
    const canonical = 'a\r\nb\r\nc\r\n';
    expect(new TextDecoder().decode(literal.getBytes())).toBe(canonical);
    // The signature packet itself follows the streamed data; its type shows in the verification's mode.
    const onePass = parsed.packets.findPacket(openpgp.enums.packet.onePassSignature) as unknown as { signatureType: number };
    expect(onePass.signatureType).toBe(openpgp.enums.signature.text);
    const sink = memorySink();
    const result = await verifyInline({ input: signed, sink, verificationKeys: [alice.toPublic()] });
    expect(result[0]).toMatchObject({ status: 'good', mode: 'text' });
    expect(sink.text()).toBe(canonical);
  });

  it('inline signed message by an unknown key: NO_SIGNATURE and nothing committed', async () => {
    const signed = await text(await sign({ input: 'hello', signingKeys: [alice] }));
    const sink = memorySink();
    await expect(verifyInline({ input: signed, sink, verificationKeys: [bob.toPublic()] })).rejects.toMatchObject({ code: 'NO_SIGNATURE' });
    expect(sink.state).toBe('aborted');
  });

  it('cleartext signature (RFC 9580 §7): sign, verify, dash-escaping, tampering detected', async () => {
    const body = 'Hello Bob,\n- a line starting with a dash\nFrom me\n';
    const signed = await text(await sign({ input: body, signingKeys: [alice], cleartext: true }));
    expect(signed.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')).toBe(true);
    expect(signed).toContain('- - a line starting with a dash');
    const sink = memorySink();
    const result = await verifyInline({ input: signed, sink, verificationKeys: [alice.toPublic()] });
    expect(result[0]).toMatchObject({ status: 'good', mode: 'text' });
    expect(sink.text().replace(/\r\n/g, '\n').trimEnd()).toBe(body.trimEnd());
    const tampered = signed.replace('Hello Bob', 'Hello Eve');
    const bad = memorySink();
    await expect(verifyInline({ input: tampered, sink: bad, verificationKeys: [alice.toPublic()] })).rejects.toMatchObject({ code: 'NO_SIGNATURE' });
    expect(bad.state).toBe('aborted');
  });

  it('cleartext body keeps the input\'s line endings, its final one standing before the signature (RFC 9580 §7.1)', async () => {
    for (const [input, body] of [
      ['a\nb\n', '\n\na\nb\n-----BEGIN PGP SIGNATURE-----\n'],
      ['a\r\nb\r\n', '\n\na\r\nb\r\n-----BEGIN PGP SIGNATURE-----\n'],
    ] as const) {
      const signed = await text(await sign({ input, signingKeys: [alice], cleartext: true }));
      expect(signed).toContain(body);
      // No CR added to an LF text (OpenPGP.js alone writes `a\r\n` lines into an LF document).
      if (!input.includes('\r')) expect(signed).not.toContain('\r');
      const sink = memorySink();
      await verifyInline({ input: signed, sink, verificationKeys: [alice.toPublic()] });
      // Read back as a file again, as GnuPG and sqop output it.
      expect(sink.text()).toBe(input);
      // The signature is over the canonical text: a detached verification of `a<CR><LF>b` is good.
      const { signatures } = await detachInline({ input: signed });
      const detached = await verifyDetached({ input: 'a\r\nb', signature: await signatures, verificationKeys: [alice.toPublic()] });
      expect(detached[0]).toMatchObject({ status: 'good', mode: 'text' });
    }
  });

  it('cleartext: trailing blanks are neither signed nor shown (§7.2); an empty text signs; an oversized one is TOO_LARGE', async () => {
    const signed = await text(await sign({ input: 'x \t\n-y\n', signingKeys: [alice], cleartext: true }));
    expect(signed).toContain('\n\nx\n- -y\n-----BEGIN PGP SIGNATURE-----');
    const sink = memorySink();
    await verifyInline({ input: signed, sink, verificationKeys: [alice.toPublic()] });
    expect(sink.text()).toBe('x\n-y\n');
    const empty = await text(await sign({ input: '', signingKeys: [alice], cleartext: true }));
    const emptySink = memorySink();
    await verifyInline({ input: empty, sink: emptySink, verificationKeys: [alice.toPublic()] });
    expect(emptySink.text()).toBe('\n');
    await expect(sign({ input: 'x'.repeat(101), signingKeys: [alice], cleartext: true, maxCleartextSize: 100 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    const big = memorySink();
    await expect(verifyInline({ input: signed, sink: big, verificationKeys: [alice.toPublic()], maxCleartextSize: 100 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(big.state).toBe('aborted');
    await expect(detachInline({ input: signed, maxCleartextSize: 100 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(sign({ input: new Uint8Array([0xe9, 0x0a]), signingKeys: [alice], cleartext: true })).rejects.toMatchObject({ code: 'EXPECTED_TEXT' });
  });

  it('detachInline streams an inline signed message: it returns before the input is read, signatures after the data', async () => {
    const size = 8 * 1024 * 1024;
    const signed = await sign({ input: generatedStream(size), signingKeys: [alice], armor: false });
    let pulled = 0;
    const counted = signed.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );
    const { data, signatures } = await detachInline({ input: counted });
    expect(pulled).toBeLessThan(size / 2);
    const content = await bytes(data);
    expect(content.length).toBe(size);
    const result = await verifyDetached({ input: content, signature: await signatures, verificationKeys: [alice.toPublic()] });
    expect(result[0]?.status).toBe('good');
  });

  it('detachInline gives the data and signatures that verify detached', async () => {
    for (const cleartext of [false, true]) {
      const signed = await text(await sign({ input: 'detach me\n', signingKeys: [alice], cleartext }));
      const { data, signatures } = await detachInline({ input: signed });
      const content = await bytes(data);
      // Read after the data: inline signatures follow it.
      expect(new TextDecoder().decode(content).trimEnd()).toBe('detach me');
      const result = await verifyDetached({ input: content, signature: await signatures, verificationKeys: [alice.toPublic()] });
      expect(result[0]?.status).toBe('good');
    }
  });
});

describe('armor', () => {
  it('armor/dearmor round trip, auto type, idempotent armor and binary pass-through dearmor', async () => {
    const cert = (await publicKey('bob')).write() as Uint8Array;
    const armored = await text(armor(cert, 'auto'));
    expect(armored.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')).toBe(true);
    expect(await text(armor(armored, 'auto'))).toBe(armored);
    expect(sameBytes(await bytes(dearmor(armored)), cert)).toBe(true);
    expect(sameBytes(await bytes(dearmor(cert)), cert)).toBe(true);
    const signature = await bytes(await sign({ input: 'x', signingKeys: [alice], detached: true, armor: false }));
    expect((await text(armor(signature, 'auto'))).startsWith('-----BEGIN PGP SIGNATURE-----')).toBe(true);
    expect((await text(armor(signature, 'message'))).startsWith('-----BEGIN PGP MESSAGE-----')).toBe(true);
  });

  it('dearmor of broken armor is MALFORMED_ARMOR', async () => {
    await expect(bytes(dearmor('-----BEGIN PGP MESSAGE-----\n\nnot*base64*at*all\n'))).rejects.toMatchObject({ code: 'MALFORMED_ARMOR' });
    await expect(bytes(dearmor(''))).rejects.toMatchObject({ code: 'MALFORMED_ARMOR' });
  });
});
