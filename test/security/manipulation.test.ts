/**
 * MG family (docs/security.md): manipulated ciphertexts must fail hard with their code and release no
 * partial plaintext: the PlaintextSink is never committed (it is aborted), so nothing reaches the
 * output. Messages are built with OpenPGP.js packet classes; AES-CFB for hand-built SEIPDv1 bodies
 * comes from @noble/ciphers.
 */
import { cfb } from '@noble/ciphers/aes';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isSigillError } from '../../src/core/index.ts';
import { decrypt, encrypt, memorySink, type PlaintextSink, type SessionKey } from '../../src/core/index.ts';
import { bytes, generatedStream, privateKey, randomBytes } from '../unit/core/messages/helpers.ts';

interface RecordingSink extends PlaintextSink {
  written: number;
  committed: boolean;
  aborted: boolean;
}

/** Records what the decryptor did with the sink; a committed sink is what would reach the output. */
function recordingSink(): RecordingSink {
  const sink: RecordingSink = {
    written: 0,
    committed: false,
    aborted: false,
    async write(chunk) {
      sink.written += chunk.length;
    },
    async commit() {
      sink.committed = true;
    },
    async abort() {
      sink.aborted = true;
    },
  };
  return sink;
}

/** Fields of SEIPD packets that OpenPGP.js's typings mark private. */
interface SeipdFields {
  version: number;
  encrypted: Uint8Array;
}

let bob: openpgp.PrivateKey; // v4 Cv25519: SEIPDv1
let erin: openpgp.PrivateKey; // v6 X25519: SEIPDv2 (GCM)

beforeAll(async () => {
  [bob, erin] = await Promise.all([privateKey('bob'), privateKey('erin')]);
});

async function encryptTo(key: openpgp.PrivateKey, data: Uint8Array | ReadableStream<Uint8Array>): Promise<openpgp.Message<Uint8Array>> {
  const binary = await bytes(await encrypt({ input: data, recipients: [key.toPublic()], armor: false }));
  return openpgp.readMessage({ binaryMessage: binary });
}

/**
 * OpenPGP.js keeps non-streamed packet bodies as an "ArrayStream" (an Array of chunks, filled
 * asynchronously): wait for it to be complete, then flatten it.
 */
async function complete(data: unknown): Promise<Uint8Array> {
  const arrayStream = data as { readToEnd?: (join: (chunks: unknown[]) => Uint8Array) => Promise<Uint8Array> };
  if (Array.isArray(data) && typeof arrayStream.readToEnd === 'function') return arrayStream.readToEnd((chunks) => flat(chunks));
  return flat(data);
}

function flat(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) {
    const chunks = data.map(flat);
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
  throw new Error('unexpected OpenPGP.js data');
}

async function seipdOf(message: openpgp.Message<Uint8Array>): Promise<SeipdFields> {
  const packet = message.packets.findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as SeipdFields;
  packet.encrypted = await complete(packet.encrypted);
  return packet;
}

async function serialize(message: openpgp.Message<Uint8Array>): Promise<Uint8Array> {
  await seipdOf(message);
  return complete(message.write());
}

/** Expects decryption to fail with `code` and the sink never to be committed. */
async function expectRefused(input: Uint8Array, key: openpgp.PrivateKey, code: string | string[], sessionKey?: openpgp.SessionKey): Promise<RecordingSink> {
  const sink = recordingSink();
  const codes = Array.isArray(code) ? code : [code];
  const options = sessionKey ? { input, sink, sessionKeys: [sessionKey] } : { input, sink, decryptionKeys: [key] };
  const error = await decrypt(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'decryption must fail').toBeDefined();
  expect(isSigillError(error) ? error.code : String(error)).toSatisfy((c: string) => codes.includes(c));
  expect(sink.committed).toBe(false);
  expect(sink.aborted).toBe(true);
  return sink;
}

/** A PKESK for `key` of a fresh session key (what an attacker who knows the certificate can make). */
async function sessionKeyFor(key: openpgp.PrivateKey, aead: boolean): Promise<{ sessionKey: openpgp.SessionKey; esk: openpgp.Message<Uint8Array> }> {
  const sessionKey: openpgp.SessionKey = aead ? { data: randomBytes(32, 99), algorithm: 'aes256', aeadAlgorithm: 'gcm' } : { data: randomBytes(32, 99), algorithm: 'aes256' };
  const esk = await openpgp.encryptSessionKey({ ...sessionKey, encryptionKeys: key.toPublic(), format: 'object' });
  return { sessionKey, esk: esk as unknown as openpgp.Message<Uint8Array> };
}

function literalPacket(data: Uint8Array): openpgp.LiteralDataPacket {
  const literal = new openpgp.LiteralDataPacket();
  (literal as unknown as { setBytes(bytes: Uint8Array, format: openpgp.enums.literal): void }).setBytes(data, openpgp.enums.literal.binary);
  return literal;
}

function write(...packets: openpgp.AnyPacket[]): Uint8Array {
  const list = new openpgp.PacketList<openpgp.AnyPacket>();
  list.push(...packets);
  return flat(list.write());
}

/** A SEIPDv1 packet built by hand: CFB (zero IV, RFC 9580 §5.13.1) over prefix || packets [|| MDC]. */
function handMadeSeipdV1(key: Uint8Array, innerPackets: Uint8Array): openpgp.SymEncryptedIntegrityProtectedDataPacket {
  const prefix = randomBytes(18, 5);
  prefix[16] = prefix[14]!;
  prefix[17] = prefix[15]!;
  const plaintext = new Uint8Array(prefix.length + innerPackets.length);
  plaintext.set(prefix, 0);
  plaintext.set(innerPackets, prefix.length);
  const packet = new openpgp.SymEncryptedIntegrityProtectedDataPacket();
  const fields = packet as unknown as SeipdFields;
  fields.version = 1;
  fields.encrypted = cfb(key, new Uint8Array(16)).encrypt(plaintext);
  return packet;
}

const MiB = 1024 * 1024;

describe('MG: no integrity protection', () => {
  it('SED (tag 9) is refused with NO_INTEGRITY_PROTECTION, with a PKESK and with a session key', async () => {
    const { sessionKey, esk } = await sessionKeyFor(bob, false);
    const sed = new openpgp.SymmetricallyEncryptedDataPacket();
    const inner = new openpgp.PacketList<openpgp.AnyPacket>();
    inner.push(literalPacket(new TextEncoder().encode('attack at dawn')));
    (sed as unknown as { packets: openpgp.PacketList<openpgp.AnyPacket> }).packets = inner;
    await (sed as unknown as { encrypt(algo: number, key: Uint8Array, config: openpgp.Config): Promise<void> }).encrypt(openpgp.enums.symmetric.aes256, sessionKey.data, { ...openpgp.config, allowUnauthenticatedMessages: true });
    const message = write(...esk.packets, sed);
    const sink = await expectRefused(message, bob, 'NO_INTEGRITY_PROTECTION');
    expect(sink.written).toBe(0);
    await expectRefused(write(sed), bob, 'NO_INTEGRITY_PROTECTION', sessionKey);
  });

  it('a SEIPDv1 body relabelled as SED (downgrade, MDC ignored) is refused', async () => {
    const message = await encryptTo(bob, new TextEncoder().encode('downgrade me'));
    const seipd = await seipdOf(message);
    const sed = new openpgp.SymmetricallyEncryptedDataPacket();
    (sed as unknown as { encrypted: Uint8Array }).encrypted = seipd.encrypted;
    const esks = message.packets.filter((packet) => packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket);
    await expectRefused(write(...esks, sed), bob, 'NO_INTEGRITY_PROTECTION');
  });
});

describe('MG: SEIPDv1 (CFB + MDC)', () => {
  it('a bit flip anywhere (prefix, body, MDC) is INTEGRITY_FAILURE with nothing committed', async () => {
    const message = await encryptTo(bob, randomBytes(MiB + 3));
    const original = (await seipdOf(message)).encrypted;
    const positions = [3, 17, 600_000, original.length - 30, original.length - 21, original.length - 1];
    let sawUncommittedWrites = false;
    for (const position of positions) {
      const tampered = original.slice();
      tampered[position]! ^= 0x01;
      (await seipdOf(message)).encrypted = tampered;
      const sink = await expectRefused(await serialize(message), bob, 'INTEGRITY_FAILURE');
      if (sink.written > 0) sawUncommittedWrites = true;
    }
    // The stream did run ahead of the MDC check into the (uncommitted) sink: the commit is what protects.
    expect(sawUncommittedWrites).toBe(true);
  });

  it('MDC stripped: a hand-made SEIPDv1 without the MDC packet is INTEGRITY_FAILURE', async () => {
    const { sessionKey, esk } = await sessionKeyFor(bob, false);
    const seipd = handMadeSeipdV1(sessionKey.data, write(literalPacket(randomBytes(100_000))));
    await expectRefused(write(...esk.packets, seipd), bob, 'INTEGRITY_FAILURE');
  });

  it('MDC stripped: the last 22 octets (the MDC packet) cut off a real message is INTEGRITY_FAILURE', async () => {
    const message = await encryptTo(bob, randomBytes(200_000));
    const seipd = await seipdOf(message);
    seipd.encrypted = seipd.encrypted.slice(0, seipd.encrypted.length - 22);
    await expectRefused(await serialize(message), bob, 'INTEGRITY_FAILURE');
  });

  it('a forged MDC over tampered inner packets cannot be made without the key: wrong SHA-1 is refused', async () => {
    // Hand-made with a valid-looking MDC header but a zero digest.
    const { sessionKey, esk } = await sessionKeyFor(bob, false);
    const inner = write(literalPacket(new TextEncoder().encode('forged')));
    const withMdc = new Uint8Array(inner.length + 22);
    withMdc.set(inner, 0);
    withMdc.set([0xd3, 0x14], inner.length);
    await expectRefused(write(...esk.packets, handMadeSeipdV1(sessionKey.data, withMdc)), bob, 'INTEGRITY_FAILURE');
  });

  it('the message cut off mid-packet is refused', async () => {
    const message = await serialize(await encryptTo(bob, randomBytes(300_000)));
    await expectRefused(message.slice(0, message.length - 1000), bob, ['INTEGRITY_FAILURE', 'MALFORMED_MESSAGE']);
  });
});

describe('MG: several candidate session keys (chosen by the §5.13.1 quick check, RFC 9580 §13.4)', () => {
  it('a tampered SEIPDv1 fails the same way whatever the candidates, quick check passing or not; nothing committed', async () => {
    const message = await encryptTo(bob, randomBytes(100_000));
    const original = (await seipdOf(message)).encrypted;
    const { sessionKey: right } = await decrypt({ input: await serialize(message), sink: memorySink(), decryptionKeys: [bob] });
    const wrong: SessionKey[] = [
      { algorithm: 'aes256', data: randomBytes(32, 21) },
      { algorithm: 'aes256', data: randomBytes(32, 22) },
    ];
    // Untampered, the right key is found behind wrong ones.
    const found = memorySink();
    await decrypt({ input: await serialize(message), sink: found, sessionKeys: [...wrong, right] });
    expect(found.state).toBe('committed');
    // 3 and 17 spoil the prefix, so the right key fails the quick check too; the others leave it
    // passing and only the MDC fails. Every case must look the same from outside.
    for (const position of [3, 17, 50_000, original.length - 1]) {
      const tampered = original.slice();
      tampered[position]! ^= 0x01;
      (await seipdOf(message)).encrypted = tampered;
      const input = await serialize(message);
      for (const sessionKeys of [[right], [...wrong, right], [right, ...wrong], wrong]) {
        const sink = recordingSink();
        const error = await decrypt({ input, sink, sessionKeys }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isSigillError(error) ? error.code : String(error), `flip at ${position}, ${sessionKeys.length} candidates`).toBe('INTEGRITY_FAILURE');
        expect(sink.committed).toBe(false);
        expect(sink.aborted).toBe(true);
      }
    }
  });
});

describe('MG: SEIPDv2 (AEAD, GCM)', () => {
  // 1 MiB = four 256 KiB chunks (chunk size octet 12, RFC 9580 §5.13.2), each with a 16-octet tag,
  // then the final 16-octet tag.
  const chunk = 256 * 1024 + 16;

  it('a tampered chunk after good chunks is INTEGRITY_FAILURE, nothing committed', async () => {
    const message = await encryptTo(erin, randomBytes(MiB));
    expect((await seipdOf(message)).version).toBe(2);
    const original = (await seipdOf(message)).encrypted;
    for (const position of [10, chunk + 100, 3 * chunk + 5, original.length - 1]) {
      const tampered = original.slice();
      tampered[position]! ^= 0x80;
      (await seipdOf(message)).encrypted = tampered;
      await expectRefused(await serialize(message), erin, 'INTEGRITY_FAILURE');
    }
  });

  it('truncation (final tag dropped, last chunks dropped, swapped chunks) is INTEGRITY_FAILURE', async () => {
    const message = await encryptTo(erin, randomBytes(MiB));
    const original = (await seipdOf(message)).encrypted;
    const swapped = original.slice();
    swapped.set(original.subarray(chunk, 2 * chunk), 0);
    swapped.set(original.subarray(0, chunk), chunk);
    const variants = [original.slice(0, original.length - 16), original.slice(0, 2 * chunk), original.slice(0, 2 * chunk + 16), original.slice(0, original.length - 17), swapped];
    for (const variant of variants) {
      (await seipdOf(message)).encrypted = variant;
      await expectRefused(await serialize(message), erin, 'INTEGRITY_FAILURE');
    }
  });
});

describe('MG: packets outside the encrypted data', () => {
  for (const [name, version] of [['bob', 1], ['erin', 2]] as const) {
    it(`literal data after or before the SEIPDv${version} packet is MALFORMED_MESSAGE`, async () => {
      const key = name === 'bob' ? bob : erin;
      const message = await encryptTo(key, new TextEncoder().encode('the real message'));
      const injected = literalPacket(new TextEncoder().encode('INJECTED'));
      await expectRefused(write(...message.packets, injected), key, 'MALFORMED_MESSAGE');
      await expectRefused(write(injected, ...message.packets), key, 'MALFORMED_MESSAGE');
    });
  }

  it('an encrypted packet whose plaintext holds another encryption layer instead of literal data is refused', async () => {
    const { sessionKey, esk } = await sessionKeyFor(bob, false);
    const nested = await encryptTo(bob, new TextEncoder().encode('nested'));
    const innerMessage = await serialize(nested);
    // Valid MDC this time, made by OpenPGP.js itself over the nested message's packets.
    const seipd = new openpgp.SymEncryptedIntegrityProtectedDataPacket() as unknown as openpgp.SymEncryptedIntegrityProtectedDataPacket & {
      version: number;
      packets: openpgp.PacketList<openpgp.AnyPacket>;
      encrypt(algo: number, key: Uint8Array, config: openpgp.Config): Promise<void>;
    };
    seipd.version = 1;
    seipd.packets = await openpgp.PacketList.fromBinary(innerMessage, { [openpgp.enums.packet.publicKeyEncryptedSessionKey]: openpgp.PublicKeyEncryptedSessionKeyPacket, [openpgp.enums.packet.symEncryptedIntegrityProtectedData]: openpgp.SymEncryptedIntegrityProtectedDataPacket } as never);
    await seipd.encrypt(openpgp.enums.symmetric.aes256, sessionKey.data, openpgp.config);
    await expectRefused(write(...esk.packets, seipd), bob, 'MALFORMED_MESSAGE');
  });
});

describe('MG: compression bombs', () => {
  it('a 64 MiB bomb compressed to a few KiB stops at the size limit (TOO_LARGE), nothing committed', async () => {
    let left = 64 * MiB;
    const zeros = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (left <= 0) return controller.close();
        controller.enqueue(new Uint8Array(MiB));
        left -= MiB;
      },
    });
    const message = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: zeros }),
      encryptionKeys: bob.toPublic(),
      format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
    });
    const binary = await bytes(message as ReadableStream<Uint8Array>);
    expect(binary.length).toBeLessThan(MiB);
    const sink = recordingSink();
    await expect(decrypt({ input: binary, sink, decryptionKeys: [bob], maxDecompressedSize: 4 * MiB })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(sink.committed).toBe(false);
    expect(sink.written).toBeLessThanOrEqual(4 * MiB);
    const limited = memorySink({ limit: 2 * MiB });
    await expect(decrypt({ input: binary, sink: limited, decryptionKeys: [bob] })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(limited.state).toBe('aborted');
  });
});

describe('MG: signatures by subkeys that are not bound to the certificate', () => {
  it('a subkey grafted onto a certificate (no binding, or a copied binding) never verifies as good', async () => {
    const { privateKey: victim } = await openpgp.generateKey({ userIDs: [{ name: 'Victim', email: 'victim@sigill.test' }], subkeys: [{ sign: true }], format: 'object' });
    const { privateKey: attacker } = await openpgp.generateKey({ userIDs: [{ name: 'Mallory', email: 'mallory@sigill.test' }], subkeys: [{}, { sign: true }], format: 'object' });
    const attackerSubkey = attacker.subkeys[1]!;
    const victimSigningSubkey = victim.subkeys[0]!;
    // Graft: victim's certificate + attacker's signing subkey packet, first with no binding
    // signature, then with the victim's binding signature of another subkey copied over.
    const base = victim.toPublic().toPacketList();
    const publicSubkey = new openpgp.PublicSubkeyPacket();
    publicSubkey.read((attackerSubkey.keyPacket as unknown as { writePublicKey(): Uint8Array }).writePublicKey());
    const unbound = await openpgp.readKey({ binaryKey: write(...base, publicSubkey) });
    const forged = await openpgp.readKey({ binaryKey: write(...base, publicSubkey, victimSigningSubkey.bindingSignatures[0]!) });
    for (const certificate of [unbound, forged]) {
      // Signed by the attacker's subkey, encrypted to bob: decrypts, but the signature is not good.
      const signingKeyIDs = [attackerSubkey.getKeyID()];
      const encrypted = await openpgp.encrypt({ message: await openpgp.createMessage({ text: 'pay mallory' }), encryptionKeys: bob.toPublic(), signingKeys: attacker, signingKeyIDs, format: 'binary' });
      const sink = memorySink();
      const result = await decrypt({ input: encrypted as Uint8Array, sink, decryptionKeys: [bob], verificationKeys: [certificate] });
      expect(result.verifications).toHaveLength(1);
      expect(['bad', 'unknown-key']).toContain(result.verifications[0]!.status);
      // And never attributed to the victim as good through the detached path either.
      const { verifyDetached } = await import('../../src/core/messages/index.ts');
      const detached = await openpgp.sign({ message: await openpgp.createMessage({ text: 'pay mallory' }), signingKeys: attacker, signingKeyIDs, detached: true, format: 'binary' });
      const verifications = await verifyDetached({ input: 'pay mallory', signature: detached as Uint8Array, verificationKeys: [certificate] });
      expect(verifications.map((v) => v.status)).not.toContain('good');
    }
  });
});

describe('MG: streamed tampered input', () => {
  it('a tampered large SEIPDv1 stream fails at the end and never commits', async () => {
    const size = 8 * MiB;
    const message = await encryptTo(bob, generatedStream(size));
    const tampered = (await seipdOf(message)).encrypted.slice();
    tampered[size / 2]! ^= 4;
    (await seipdOf(message)).encrypted = tampered;
    const sink = await expectRefused(await serialize(message), bob, 'INTEGRITY_FAILURE');
    expect(sink.written).toBeGreaterThan(size / 4);
  });
});
