/**
 * Reading keys and certificates, armored (RFC 9580 §6) or binary, one or many.
 */
import { enums, readKeys as openpgpReadKeys, unarmor, type PrivateKey, type PublicKey } from 'openpgp';
import { SigillError } from '../errors.ts';
import { errorText, type AnyKey } from './internal.ts';

// The armor header line and its tail line (RFC 9580 §6.2); several blocks may follow one another.
const ARMOR_BLOCK = /-----BEGIN PGP ([A-Z0-9 ,/]+)-----\r?\n[\s\S]*?-----END PGP \1-----/g;
const ARMOR_BEGIN = /-----BEGIN PGP /;

/**
 * The first octet of every OpenPGP packet has bit 7 set (RFC 9580 §4.2), so it cannot begin ASCII
 * armor or any text; everything else is read as text.
 */
function looksBinary(data: Uint8Array): boolean {
  const first = data[0];
  return first !== undefined && (first & 0x80) !== 0;
}

function decodeText(data: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch (error) {
    throw new SigillError('MALFORMED_ARMOR', { detail: 'the input is neither binary OpenPGP data nor text', cause: error });
  }
}

/** The binary contents of each armored key block in `text`. */
async function dearmorKeyBlocks(text: string): Promise<Uint8Array[]> {
  const blocks = text.match(ARMOR_BLOCK);
  if (blocks === null) {
    const detail = ARMOR_BEGIN.test(text) ? 'an armor header line has no matching END line' : 'no "-----BEGIN PGP ...-----" armor header line found';
    throw new SigillError('MALFORMED_ARMOR', { detail });
  }
  const binaries: Uint8Array[] = [];
  for (const block of blocks) {
    let armored;
    try {
      armored = await unarmor(block);
    } catch (error) {
      throw new SigillError('MALFORMED_ARMOR', { detail: errorText(error), cause: error });
    }
    if (armored.type !== enums.armor.publicKey && armored.type !== enums.armor.privateKey) {
      const found = /-----BEGIN PGP ([A-Z0-9 ,/]+)-----/.exec(block)?.[1] ?? 'unknown';
      throw new SigillError('BAD_INPUT', { detail: `expected a PUBLIC KEY BLOCK or PRIVATE KEY BLOCK, found PGP ${found}` });
    }
    binaries.push(await collectBytes(armored.data));
  }
  return binaries;
}

/** `unarmor` types its output as a stream; for string input it is a plain Uint8Array, but accept both. */
async function collectBytes(data: Uint8Array | ReadableStream<Uint8Array> | unknown): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ReadableStream) {
    return new Uint8Array(await new Response(data as ReadableStream<Uint8Array>).arrayBuffer());
  }
  throw new SigillError('INTERNAL', { detail: 'unexpected result from unarmor' });
}

async function parseBinaryKeys(binary: Uint8Array): Promise<AnyKey[]> {
  try {
    return await openpgpReadKeys({ binaryKeys: binary });
  } catch (error) {
    const text = errorText(error);
    if (text.startsWith('No key packet found')) {
      throw new SigillError('BAD_INPUT', { detail: 'no OpenPGP key found in the input', cause: error });
    }
    // Well-formed packets in an order that makes no transferable key (RFC 9580 §10.1).
    if (/^(Unexpected packet type|Key block contains multiple keys|Missing Key ID|Invalid key)/.test(text)) {
      throw new SigillError('KEY_INVALID', { detail: text, cause: error });
    }
    // Truncated, garbled or random data.
    throw new SigillError('BAD_INPUT', { detail: `the data is not well-formed OpenPGP key material (${text})`, cause: error });
  }
}

/**
 * Reads every key in `data`: armored (text or bytes, several blocks allowed) or binary (a sequence
 * of transferable keys). Secret key blocks come back as `PrivateKey`. Nothing is verified here; use
 * `keyStatus` / `assertUsable`. Throws MALFORMED_ARMOR, BAD_INPUT (not key data) or KEY_INVALID.
 */
export async function readKeys(data: Uint8Array | string): Promise<AnyKey[]> {
  let binaries: Uint8Array[];
  if (typeof data === 'string') {
    binaries = await dearmorKeyBlocks(data);
  } else if (data instanceof Uint8Array) {
    if (data.length === 0) {
      throw new SigillError('BAD_INPUT', { detail: 'the input is empty' });
    }
    binaries = looksBinary(data) ? [data] : await dearmorKeyBlocks(decodeText(data));
  } else {
    throw new SigillError('BAD_INPUT', { detail: 'keys must be given as text or bytes' });
  }
  const keys: AnyKey[] = [];
  for (const binary of binaries) {
    keys.push(...(await parseBinaryKeys(binary)));
  }
  if (keys.length === 0) {
    throw new SigillError('BAD_INPUT', { detail: 'no OpenPGP key found in the input' });
  }
  return keys;
}

/** Reads certificates (public keys); secret keys in the input are reduced to their public part. */
export async function readCertificates(data: Uint8Array | string): Promise<PublicKey[]> {
  return (await readKeys(data)).map((key) => (key.isPrivate() ? key.toPublic() : key));
}

/** Reads secret keys; throws KEY_NOT_SECRET if any key in the input is a public certificate only. */
export async function readSecretKeys(data: Uint8Array | string): Promise<PrivateKey[]> {
  return (await readKeys(data)).map((key) => {
    if (!key.isPrivate()) {
      throw new SigillError('KEY_NOT_SECRET', { detail: key.getFingerprint() });
    }
    return key;
  });
}
