/**
 * Streaming decryption of a version 1 Symmetrically Encrypted and Integrity Protected Data packet
 * (RFC 9580 §5.13.1) with bounded memory.
 *
 * OpenPGP.js buffers the whole plaintext of SEIPDv1 before checking the MDC unless
 * `allowUnauthenticatedStream` is set, which we never do. Instead this module decrypts the
 * packet body as it streams and verifies the MDC at the end; the caller feeds the resulting inner
 * packet stream to the OpenPGP.js parser and from there into an uncommitted PlaintextSink, and
 * commits only if `integrity` resolved true. The returned stream closes only after the MDC has been
 * verified and errors (INTEGRITY_FAILURE) otherwise, so nothing downstream can finish on forged data.
 *
 * The primitives are not ours: AES-CFB comes from the platform (the `cfb` option, else the one
 * installed with useCfb: node:crypto, or OpenSSL's C code as WebAssembly in Thunderbird), else from
 * @noble/ciphers; SHA-1 likewise, else from @noble/hashes. What is written here is the RFC framing:
 *
 *   plaintext = prefix (block size + 2 octets, the last two repeating the two before, §5.13.1)
 *            || inner packets (an OpenPGP Message, §10.3)
 *            || MDC packet: 0xD3 0x14 || SHA-1(prefix || inner packets || 0xD3 0x14)   (§5.13.1)
 *
 * encrypted with CFB mode, zero IV, no resynchronisation (unlike the old SED packet, §5.7).
 */
import { cfb } from '@noble/ciphers/aes';
import { sha1 } from '@noble/hashes/legacy';
import { SigillError } from '../errors.ts';
import { installedCfbDecryptor } from '../platform.ts';
import { concatBytes } from './streams.ts';
import type { CfbDecipher, CfbDecryptorFactory, IncrementalHash } from './types.ts';

const BLOCK = 16;
/** MDC packet: a new-format header for tag 19 (0xD3) with length 20 (0x14), then the SHA-1 digest. */
const MDC_LENGTH = 22;
/** Ciphertext octets gathered per decryption step (see stepNow). */
const COALESCE = 256 * 1024;

/** The ciphers this streaming path supports, with their key sizes. */
export const streamingCiphers: Record<string, number> = { aes128: 16, aes192: 24, aes256: 32 };

/**
 * Legacy 64-bit-block ciphers still decrypted (RFC 9580 §9.3: never to encrypt with; old mail uses
 * them): CAST5 was GnuPG 1.x's default and GnuPG 2.2 still decrypts it (with a warning), as Sequoia
 * (sqop 0.27) does; TripleDES is RFC 4880's mandatory cipher (GnuPG decrypts it, sqop refuses it).
 * They are not streamed (no audited streaming CFB for them on every platform: @noble/ciphers has
 * neither, Node's OpenSSL 3 only in its legacy provider, Thunderbird's WebCrypto none), so they go
 * through OpenPGP.js's in-memory path, capped by DecryptLimits.maxLegacyCipherBytes (TOO_LARGE past
 * it): mail-sized legacy messages stay readable and memory stays bounded. Every other cipher
 * (IDEA, Blowfish, Twofish, Camellia) is UNSUPPORTED_ALGORITHM for decryption: none is a default of
 * a current implementation, and OpenPGP.js has no Camellia at all.
 */
export const legacyCiphers: ReadonlySet<string> = new Set(['cast5', 'tripledes']);

/** Whether the core decrypts data encrypted with this cipher (OpenPGP.js name). */
export function isDecryptableCipher(algorithm: string): boolean {
  return streamingCiphers[algorithm] !== undefined || legacyCiphers.has(algorithm);
}

/** CFB decryption with noble: whole blocks at a time, the IV of the next call being the last ciphertext block. */
class NobleCfb implements CfbDecipher {
  private iv: Uint8Array;
  private pending = new Uint8Array(0);
  constructor(private readonly key: Uint8Array, iv: Uint8Array) {
    this.iv = iv.slice();
  }
  update(chunk: Uint8Array): Uint8Array {
    const data = this.pending.length ? concatBytes([this.pending, chunk]) : chunk;
    const whole = data.length - (data.length % BLOCK);
    this.pending = data.slice(whole);
    if (whole === 0) return new Uint8Array(0);
    const ciphertext = data.subarray(0, whole);
    const plaintext = cfb(this.key, this.iv).decrypt(ciphertext);
    this.iv = ciphertext.slice(whole - BLOCK);
    return plaintext;
  }
  final(): Uint8Array {
    if (this.pending.length === 0) return new Uint8Array(0);
    const out = cfb(this.key, this.iv).decrypt(this.pending);
    this.pending = new Uint8Array(0);
    return out;
  }
}

function nobleSha1(): IncrementalHash {
  const hash = sha1.create();
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest(),
  };
}

export interface SeipdV1Options {
  /** The packet body after the version octet (RFC 9580 §5.13.1): the CFB ciphertext. */
  ciphertext: ReadableStream<Uint8Array>;
  /** OpenPGP.js symmetric algorithm name: 'aes128' | 'aes192' | 'aes256'. */
  algorithm: string;
  key: Uint8Array;
  /** The platform's primitives; default: those installed with useCfb (src/core/platform.ts), if any. */
  cfb?: CfbDecryptorFactory | undefined;
}

export interface SeipdV1Decryption {
  /** The inner packets; closes only after the MDC matched, errors with INTEGRITY_FAILURE otherwise. */
  packets: ReadableStream<Uint8Array>;
  /**
   * Settles once the whole ciphertext was read (even if `packets` was cancelled early, the rest is
   * drained so the MDC decides): true iff the quick check and the MDC matched. Callers use it to
   * let an integrity failure take precedence over a parse error, so malformed-plaintext errors
   * cannot serve as an oracle on tampered ciphertext.
   */
  integrity: Promise<boolean>;
  /**
   * Stops emitting and reads the rest of the ciphertext only to settle `integrity`, which it
   * returns. Works whoever holds a lock on `packets` (a failed parser may still hold it).
   */
  abandon(): Promise<boolean>;
}

/** The platform's primitives: the caller's, else the installed ones (useCfb), else none (the defaults here). */
function platformCfb(cfb: CfbDecryptorFactory | undefined): CfbDecryptorFactory | undefined {
  return cfb ?? installedCfbDecryptor();
}

function createDecipher(algorithm: string, key: Uint8Array, cfb: CfbDecryptorFactory | undefined): CfbDecipher {
  const iv = new Uint8Array(BLOCK); // §5.13.1: CFB with an all-zero IV.
  return cfb?.decipher({ algorithm, key, iv }) ?? new NobleCfb(key, iv);
}

/** How many ciphertext octets quickCheck needs: the random prefix (§5.13.1). */
export const QUICK_CHECK_LENGTH = BLOCK + 2;

/**
 * The §5.13.1 quick check of a candidate session key on the first QUICK_CHECK_LENGTH ciphertext
 * octets: the last two prefix octets repeat the two before. RFC 9580 §13.4 warns against letting
 * it decide anything an attacker can observe (it leaks 16 bits of plaintext per query). It is used
 * only to choose among several session keys the caller itself supplied (decrypt.ts); when none
 * passes, decryption goes on with the first one and fails at the MDC exactly as a single wrong key
 * does — same error, same full read — so it adds no observable outcome.
 */
export function quickCheck(options: { head: Uint8Array; algorithm: string; key: Uint8Array; cfb?: CfbDecryptorFactory | undefined }): boolean {
  const keySize = streamingCiphers[options.algorithm];
  if (keySize === undefined || options.key.length !== keySize || options.head.length < QUICK_CHECK_LENGTH) return false;
  const decipher = createDecipher(options.algorithm, options.key, platformCfb(options.cfb));
  const prefix = concatBytes([decipher.update(options.head.subarray(0, QUICK_CHECK_LENGTH)), decipher.final()]);
  return prefix[BLOCK] === prefix[BLOCK - 2] && prefix[BLOCK + 1] === prefix[BLOCK - 1];
}

export function decryptSeipdV1(options: SeipdV1Options): SeipdV1Decryption {
  const keySize = streamingCiphers[options.algorithm];
  if (keySize === undefined) throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: options.algorithm });
  if (options.key.length !== keySize) throw new SigillError('INTEGRITY_FAILURE', { detail: 'session key size does not match the cipher' });
  const cfb = platformCfb(options.cfb);
  const decipher = createDecipher(options.algorithm, options.key, cfb);
  // An injected SHA-1 may need an asynchronous start (a WebAssembly instance); if it cannot start,
  // the audited default hashes instead, so a platform problem never decides an integrity verdict.
  const injected = cfb?.sha1;
  const hashReady: Promise<IncrementalHash> = Promise.resolve()
    .then(() => injected?.call(cfb))
    .catch(() => undefined)
    .then((hash) => hash ?? nobleSha1());

  const reader = options.ciphertext.getReader();
  const prefix = new Uint8Array(BLOCK + 2);
  let prefixFilled = 0;
  let tail = new Uint8Array(0); // the last up to 22 plaintext octets: maybe the MDC packet
  let discard = false; // downstream cancelled: keep hashing, emit nothing
  let readFailure: unknown;
  let settle!: (ok: boolean) => void;
  const integrity = new Promise<boolean>((resolve) => (settle = resolve));

  /**
   * Feeds decrypted octets through the framing; returns the inner packet octets that are ready,
   * in order (two pieces rather than one joined copy: the held-back tail, then the new octets).
   */
  const frame = (plain: Uint8Array, hash: IncrementalHash): Uint8Array[] => {
    let data = plain;
    if (prefixFilled < prefix.length) {
      const take = Math.min(prefix.length - prefixFilled, data.length);
      prefix.set(data.subarray(0, take), prefixFilled);
      prefixFilled += take;
      hash.update(data.subarray(0, take));
      data = data.subarray(take);
    }
    if (data.length === 0) return [];
    // Hold back the last 22 octets: they may be the MDC packet, which is not plaintext.
    let out: Uint8Array[];
    if (data.length >= MDC_LENGTH) {
      out = [tail, data.subarray(0, data.length - MDC_LENGTH)];
      tail = data.slice(data.length - MDC_LENGTH);
    } else {
      const joined = concatBytes([tail, data]);
      const ready = Math.max(0, joined.length - MDC_LENGTH);
      out = [joined.subarray(0, ready)];
      tail = joined.slice(ready);
    }
    out = out.filter((part) => part.length > 0);
    for (const part of out) hash.update(part);
    return out;
  };

  const check = (hash: IncrementalHash): boolean => {
    if (prefixFilled < prefix.length || tail.length !== MDC_LENGTH) return false;
    // §5.13.1 quick check: the last two prefix octets repeat the two before. Evaluated only at the
    // end together with the MDC, never early, so it is no faster oracle than the MDC itself.
    const quick = prefix[BLOCK] === prefix[BLOCK - 2] && prefix[BLOCK + 1] === prefix[BLOCK - 1];
    if (tail[0] !== 0xd3 || tail[1] !== 0x14) return false;
    hash.update(tail.subarray(0, 2));
    const digest = hash.digest();
    let diff = 0;
    for (let i = 0; i < 20; i++) diff |= (digest[i] ?? 0) ^ (tail[2 + i] ?? 0);
    return quick && diff === 0;
  };

  let ended = false;
  // Steps run one after the other, whether called by a pull or by abandon().
  let queue: Promise<unknown> = Promise.resolve();
  /** Decrypts the next ciphertext chunk; undefined once the end was reached (`integrity` settled). */
  const step = (): Promise<Uint8Array[] | undefined> => {
    const next = queue.then(stepNow);
    queue = next.catch(() => undefined);
    return next;
  };
  const stepNow = async (): Promise<Uint8Array[] | undefined> => {
    if (ended) return undefined;
    const hash = await hashReady;
    // Gather at least COALESCE octets of ciphertext before decrypting: GnuPG writes 8 KiB partial
    // body chunks, which OpenPGP.js hands over one by one, and every chunk costs a decipher call,
    // a hash update and a trip through the parser's streams downstream (profiled: 12,800 chunks
    // per 100 MiB made this path about twice as slow as with large chunks).
    const chunks: Uint8Array[] = [];
    let length = 0;
    let done = false;
    try {
      while (length < COALESCE) {
        const next = await reader.read();
        if (next.done) {
          done = true;
          break;
        }
        chunks.push(next.value);
        length += next.value.length;
      }
    } catch (error) {
      // A truncated or broken packet body: never authenticated.
      readFailure = error;
      settle(false);
      throw error;
    }
    // Each chunk deciphered as it came (CFB is a stream mode): joining them first copied every
    // octet of a large chunk that followed a small one, and OpenPGP.js cuts its body stream at every
    // partial length header (profiled with bench/crypto.ts: half of Sigill's 100 MiB message copied).
    const ready: Uint8Array[] = [];
    for (const chunk of chunks) ready.push(...frame(decipher.update(chunk), hash));
    if (!done) return ready;
    ended = true;
    ready.push(...frame(decipher.final(), hash));
    settle(check(hash));
    return ready;
  };

  const drain = async (): Promise<boolean> => {
    discard = true;
    try {
      while ((await step()) !== undefined) {
        /* hashing only */
      }
    } catch {
      /* settled false in step */
    }
    return integrity;
  };

  const packets = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const out = await step();
            if (out === undefined) {
              if (await integrity) controller.close();
              else controller.error(new SigillError('INTEGRITY_FAILURE', { detail: 'SEIPDv1 modification detection code mismatch' }));
              return;
            }
            if (discard) return;
            if (out.length > 0) {
              for (const part of out) controller.enqueue(part);
              return;
            }
          }
        } catch (error) {
          controller.error(new SigillError('INTEGRITY_FAILURE', { detail: 'encrypted data truncated or unreadable', cause: readFailure ?? error }));
        }
      },
      async cancel() {
        await drain();
      },
    },
    { highWaterMark: 1 },
  );
  return { packets, integrity, abandon: drain };
}
