/**
 * The core probe (test only, never shipped): a second extension, built by vite from the same
 * src/core/index.ts and extension/platform/ modules as Sigill's background, for the same target, so
 * that what it proves about the core in Thunderbird's extension realm holds for the product: OpenPGP.js
 * streams on Thunderbird's ReadableStream, WebAssembly AES-CFB and SHA-1 for SEIPDv1 and WebAssembly
 * hashes for signatures (or the JavaScript defaults, on request), WebCrypto for SEIPDv2,
 * Argon2 and S2K key unlocking. It answers the e2e driver (runtime messaging between extensions) only.
 */
import { decrypt, encrypt, isSigillError, readAll, readCertificates, readSecretKeys, unlockKey, useCfb, useStreamHashes } from '../../../src/core/index.ts';
import { WasmAesCfb, extensionCfb, extensionCfbEncryptor, extensionSink, extensionStreamHashes, wasmHash } from '../../../extension/platform/index.ts';
import type { AesCfbProbeRequest, AesCfbProbeResult, DecryptProbeRequest, DecryptProbeResult, EncryptProbeRequest, EncryptProbeResult, PrimitivesProbeRequest, PrimitivesProbeResult, ProbePlatform, ProbeRequest, ProbeResponse } from './protocol.ts';

const driverId = 'sigill-e2e-driver@sigill.test';

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Sets the primitives for the next request (requests are answered one at a time by the driver):
 * Sigill's compiled ones, installed as extension/platform/index.ts installs them for the background
 * (so decrypt and encrypt are called without naming them, as the product's read and send paths
 * are), or the JavaScript defaults.
 */
function usePlatform(platform: ProbePlatform = 'compiled'): void {
  const compiled = platform === 'compiled';
  useStreamHashes(compiled ? extensionStreamHashes : undefined);
  useCfb(compiled ? { decryptor: extensionCfb, encryptor: extensionCfbEncryptor } : undefined);
}

async function decryptProbe(request: DecryptProbeRequest): Promise<DecryptProbeResult> {
  const [locked] = await readSecretKeys(request.secretKey);
  if (locked === undefined) throw new Error('no secret key in the request');
  const verificationKeys = (await Promise.all(request.verificationKeys.map((armored) => readCertificates(armored)))).flat();

  let started = performance.now();
  const secretKey = await unlockKey(locked, [request.passphrase]);
  const unlockMs = performance.now() - started;

  const sink = extensionSink();
  usePlatform(request.platform);
  started = performance.now();
  const result = await decrypt({ input: new Blob([request.message]).stream(), sink, decryptionKeys: [secretKey], verificationKeys });
  const decryptMs = performance.now() - started;

  const plaintext = new Uint8Array(sink.bytes()); // a copy on a plain ArrayBuffer, as WebCrypto wants
  return {
    ...(request.returnPlaintext ? { plaintext: sink.text() } : {}),
    plaintextLength: plaintext.length,
    plaintextSha256: hex(await crypto.subtle.digest('SHA-256', plaintext)),
    format: result.format,
    verifications: result.verifications.map(({ status, signingKeyFingerprint, certificateFingerprint, userID, error }) => ({
      status,
      signingKeyFingerprint,
      ...(certificateFingerprint === undefined ? {} : { certificateFingerprint }),
      ...(userID === undefined ? {} : { userID }),
      ...(error === undefined ? {} : { error }),
    })),
    unlockMs,
    decryptMs,
  };
}

async function encryptProbe(request: EncryptProbeRequest): Promise<EncryptProbeResult> {
  const [locked] = await readSecretKeys(request.signingKey);
  if (locked === undefined) throw new Error('no signing key in the request');
  const signingKey = await unlockKey(locked, [request.passphrase]);
  const recipients = (await Promise.all(request.recipients.map((armored) => readCertificates(armored)))).flat();
  usePlatform(request.platform);
  const started = performance.now();
  const armored = request.armor ?? true;
  const encrypted = await readAll(await encrypt({ input: new Blob([request.plaintext]).stream(), recipients, signingKeys: [signingKey], armor: armored }));
  const encryptMs = performance.now() - started;
  return { message: armored ? new TextDecoder().decode(encrypted) : base64(encrypted), encryptMs };
}

/** Base64 of binary output (outside any timing): native where the engine has it. */
function base64(bytes: Uint8Array): string {
  const toBase64 = (Uint8Array.prototype as NativeBase64).toBase64;
  if (toBase64 !== undefined) return toBase64.call(bytes);
  let binary = '';
  for (let at = 0; at < bytes.length; at += 32_768) binary += String.fromCharCode(...bytes.subarray(at, at + 32_768));
  return btoa(binary);
}

/** Native base64 of newer engines (Firefox 133+), not yet in TypeScript's DOM library. */
interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string;
}
interface NativeBase64Constructor {
  fromBase64?: (text: string) => Uint8Array;
}

async function primitivesProbe(request: PrimitivesProbeRequest): Promise<PrimitivesProbeResult> {
  const data = new Uint8Array(request.size);
  for (let at = 0; at < data.length; at += 65_536) crypto.getRandomValues(data.subarray(at, Math.min(data.length, at + 65_536)));
  const time = async (run: () => unknown): Promise<number> => {
    const started = performance.now();
    await run();
    return performance.now() - started;
  };
  const hashTime = (algorithm: 'sha1' | 'sha256' | 'sha512') =>
    time(async () => {
      const hash = await wasmHash(algorithm);
      for (let at = 0; at < data.length; at += 262_144) hash.update(data.subarray(at, at + 262_144));
      hash.digest();
    });
  // AES-256-CFB, zero IV (SEIPDv1), in 256 KiB pieces as the core feeds it (WebAssembly, OpenSSL's C code).
  const key = crypto.getRandomValues(new Uint8Array(32));
  const iv = new Uint8Array(16);
  const ciphertext = new Uint8Array(data.length);
  const aesCfb = await time(() => {
    const encipher = extensionCfbEncryptor.encipher({ algorithm: 'aes256', key, iv });
    if (encipher === undefined) throw new Error('WebAssembly AES-CFB did not start');
    for (let at = 0; at < data.length; at += 262_144) ciphertext.set(encipher.update(data.subarray(at, at + 262_144)), at);
    encipher.close?.();
  });
  const decrypted = new Uint8Array(data.length);
  const aesCfbDecrypt = await time(() => {
    const decipher = extensionCfb.decipher({ algorithm: 'aes256', key, iv });
    if (decipher === undefined) throw new Error('WebAssembly AES-CFB did not start');
    for (let at = 0; at < data.length; at += 262_144) decrypted.set(decipher.update(ciphertext.subarray(at, at + 262_144)), at);
    decipher.final();
  });
  // Compared outside the timing, by WebCrypto digests (a JavaScript loop would be slow without the JIT).
  const [dataDigest, decryptedDigest] = await Promise.all([crypto.subtle.digest('SHA-256', data), crypto.subtle.digest('SHA-256', decrypted)]);
  if (hex(dataDigest) !== hex(decryptedDigest)) throw new Error('WebAssembly AES-CFB did not decrypt its own ciphertext');
  const result: PrimitivesProbeResult = {
    sha1: await hashTime('sha1'),
    sha256: await hashTime('sha256'),
    sha512: await hashTime('sha512'),
    webCryptoSha256: await time(() => crypto.subtle.digest('SHA-256', data)),
    aesCfb,
    aesCfbDecrypt,
  };
  const toBase64 = (Uint8Array.prototype as NativeBase64).toBase64;
  const fromBase64 = (Uint8Array as NativeBase64Constructor).fromBase64;
  if (toBase64 !== undefined && fromBase64 !== undefined) {
    let text = '';
    result.toBase64 = await time(() => (text = toBase64.call(data)));
    result.fromBase64 = await time(() => fromBase64(text));
  }
  return result;
}

/**
 * Runs Sigill's WebAssembly AES-CFB on the request's data, cut into the request's piece sizes in turn,
 * so the test can compare with OpenSSL in Node octet for octet.
 */
function aesCfbProbe(request: AesCfbProbeRequest): AesCfbProbeResult {
  const key = fromHex(request.keyHex);
  const iv = fromHex(request.ivHex);
  const input = fromHex(request.dataHex);
  const context = WasmAesCfb.create({ algorithm: request.algorithm, key, iv, encrypt: request.encrypt });
  if (context === undefined) throw new Error(`WebAssembly AES-CFB did not start for ${request.algorithm}`);
  const output = new Uint8Array(input.length);
  for (let at = 0, turn = 0; at < input.length; turn++) {
    const size = request.pieces[turn % request.pieces.length] ?? input.length;
    output.set(context.update(input.subarray(at, at + size)), at);
    at += size;
  }
  context.clear();
  return { outputHex: hex(output.buffer) };
}

function fromHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** The error and its causes, one per line: what went wrong below a SigillError is what a test needs to see. */
function describe(error: unknown): string {
  const lines: string[] = [];
  for (let current: unknown = error; current !== undefined && lines.length < 5; current = current instanceof Error ? current.cause : undefined) {
    lines.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
  }
  return lines.join('\n  caused by ');
}

async function answer(request: ProbeRequest): Promise<ProbeResponse> {
  try {
    switch (request.kind) {
      case 'decrypt':
        return { ok: true, result: await decryptProbe(request) };
      case 'encrypt':
        return { ok: true, result: await encryptProbe(request) };
      case 'primitives':
        return { ok: true, result: await primitivesProbe(request) };
      case 'aes-cfb':
        return { ok: true, result: aesCfbProbe(request) };
      default:
        throw new Error(`unknown probe request ${String((request as { kind?: unknown }).kind)}`);
    }
  } catch (error) {
    return {
      ok: false,
      code: isSigillError(error) ? error.code : null,
      message: describe(error),
    };
  }
}

browser.runtime.onMessageExternal.addListener((message: unknown, sender: browser.runtime.MessageSender) => {
  if (sender.id !== driverId) return undefined;
  return answer(message as ProbeRequest);
});
console.info('sigill-core-probe: listening');
