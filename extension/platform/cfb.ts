/**
 * SEIPDv1 (RFC 9580 §5.13.1) primitives in Thunderbird, for reading and for writing: AES in CFB128
 * mode from OpenSSL's C code compiled to WebAssembly (native/aes-cfb: OpenSSL's portable AES and its
 * CFB128 mode, the library behind node:crypto, unmodified), and the MDC's SHA-1 from hash-wasm (hashes.ts).
 *
 * Why WebAssembly: Debian's Thunderbird runs JavaScript without its baseline JIT, so the core's
 * JavaScript AES (@noble/ciphers, the code OpenPGP.js itself uses in browsers) runs interpreted there,
 * and asm.js is interpreted too; WebAssembly has its own compilers, which stay on. WebCrypto has no
 * CFB, and WebCrypto's SHA-1 digests whole buffers only where the streaming MDC needs an incremental
 * hash. SEIPDv2 (AEAD) is unaffected: OpenPGP.js runs it on WebCrypto's AES-GCM.
 *
 * Each CFB context is its own instance of the compiled module (a fixed 192 KiB memory, freed with the
 * instance): JavaScript copies a chunk of at most 64 KiB into the instance, OpenSSL's
 * CRYPTO_cfb128_encrypt runs on it in place, and the result is copied out, so memory is bounded by the
 * chunk, whatever the message size. The module is compiled once, synchronously at first use (12 KiB).
 * If WebAssembly is refused (a profile with it switched off), the factories answer undefined, so the
 * core's JavaScript AES runs: slower, never wrong, and said once on the console.
 */
import type { CfbDecipher, CfbDecryptorFactory, CfbEncipher, CfbEncryptorFactory } from '../../src/core/index.ts';
import { aesCfbWasmBase64 } from './aes-cfb-wasm.ts';
import { wasmHash } from './hashes.ts';

/** What native/aes-cfb/glue.c exports. */
interface AesCfbExports {
  memory: WebAssembly.Memory;
  sigill_key(): number;
  sigill_iv(): number;
  sigill_data(): number;
  sigill_chunk(): number;
  sigill_cfb_init(bits: number): number;
  sigill_cfb_crypt(length: number, encrypt: number): number;
  sigill_cfb_clear(): void;
}

const keyBits: Record<string, number> = { aes128: 128, aes192: 192, aes256: 256 };
const BLOCK = 16;

/** The compiled module; null once WebAssembly was refused. */
let compiled: WebAssembly.Module | null | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function aesCfbModule(): WebAssembly.Module | undefined {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(decodeBase64(aesCfbWasmBase64));
    } catch (error) {
      compiled = null;
      console.warn('Sigill: WebAssembly is not available, AES-CFB runs as (slower) JavaScript', error);
    }
  }
  return compiled ?? undefined;
}

/**
 * One AES-CFB128 context in its own WebAssembly instance. CFB128 is a stream mode in OpenSSL (it
 * keeps the position inside the block), so every update returns exactly as many octets as it got,
 * for chunks of any length, as node:crypto's `aes-*-cfb` does.
 */
export class WasmAesCfb {
  private readonly memory: Uint8Array;
  private readonly data: number;
  private readonly chunk: number;
  private cleared = false;

  private constructor(
    private readonly exports: AesCfbExports,
    private readonly direction: 0 | 1,
  ) {
    this.memory = new Uint8Array(exports.memory.buffer); // fixed size: the module's memory never grows
    this.data = exports.sigill_data();
    this.chunk = exports.sigill_chunk();
  }

  /** A context for `algorithm` ('aes128' | 'aes192' | 'aes256'), or undefined if it cannot run here. */
  static create(options: { algorithm: string; key: Uint8Array; iv: Uint8Array; encrypt: boolean }): WasmAesCfb | undefined {
    const bits = keyBits[options.algorithm];
    if (bits === undefined || options.key.length * 8 !== bits || options.iv.length !== BLOCK) return undefined;
    const module = aesCfbModule();
    if (module === undefined) return undefined;
    const exports = new WebAssembly.Instance(module, {}).exports as unknown as AesCfbExports;
    const memory = new Uint8Array(exports.memory.buffer);
    memory.set(options.key, exports.sigill_key());
    memory.set(options.iv, exports.sigill_iv());
    // The glue wipes its key area either way; a refused key size was excluded above.
    if (exports.sigill_cfb_init(bits) !== 0) return undefined;
    return new WasmAesCfb(exports, options.encrypt ? 1 : 0);
  }

  update(input: Uint8Array): Uint8Array {
    if (this.cleared) throw new Error('AES-CFB context used after it was cleared');
    const output = new Uint8Array(input.length);
    for (let at = 0; at < input.length; at += this.chunk) {
      const length = Math.min(this.chunk, input.length - at);
      this.memory.set(input.subarray(at, at + length), this.data);
      if (this.exports.sigill_cfb_crypt(length, this.direction) !== 0) throw new Error('AES-CFB refused the chunk');
      output.set(this.memory.subarray(this.data, this.data + length), at);
    }
    return output;
  }

  /** Zeroes the key schedule, the feedback register and the data area; the context is unusable after it. */
  clear(): void {
    if (this.cleared) return;
    this.cleared = true;
    this.exports.sigill_cfb_clear();
  }
}

/** For reading SEIPDv1 (src/core/messages/seipd-v1.ts). */
export const extensionCfb: CfbDecryptorFactory = {
  decipher(options): CfbDecipher | undefined {
    const context = WasmAesCfb.create({ ...options, encrypt: false });
    if (context === undefined) return undefined;
    return {
      update: (chunk) => context.update(chunk),
      // A stream mode holds nothing back; the end of the message is where the key can go.
      final: () => {
        context.clear();
        return new Uint8Array(0);
      },
    };
  },
  sha1: () => wasmHash('sha1'),
};

/** For writing SEIPDv1 (src/core/messages/seipd-v1-write.ts), signed or not. */
export const extensionCfbEncryptor: CfbEncryptorFactory = {
  encipher(options): CfbEncipher | undefined {
    const context = WasmAesCfb.create({ ...options, encrypt: true });
    if (context === undefined) return undefined;
    return {
      update: (chunk) => context.update(chunk),
      close: () => context.clear(),
    };
  },
  sha1: () => wasmHash('sha1'),
};
