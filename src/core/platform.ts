/**
 * The platform seams: every service the core needs from where it runs, declared in one place. The core
 * never reaches for Thunderbird (`browser.*`) or Node (`node:*`) itself; a caller passes an
 * implementation of these interfaces in options objects. Each platform lists what it provides in one
 * index: Node in src/platform/node/index.ts, Thunderbird in extension/platform/index.ts.
 */

/**
 * Where decrypted or verified plaintext goes. The contract that makes streaming safe: a producer
 * writes as it goes, but calls `commit()` only after every integrity check passed (MDC, AEAD final
 * tag, packet grammar); on any failure it calls `abort()` and the sink must discard what it got.
 * A sink never exposes bytes before `commit()`.
 *
 * Implementations: `memorySink` (the core, bounded by a limit), the extension's bounded memory sink,
 * Node's file-backed `fileSink` for data of any size.
 */
export interface PlaintextSink {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

/** One running CFB decryption (RFC 9580 §5.13.1 uses plain CFB with a zero IV, no resync). */
export interface CfbDecipher {
  /**
   * Decrypts the next ciphertext bytes of any length; may hold back bytes until a block is complete.
   * The answer is a new array (or a view of one) that the decipher never writes to again: the reader
   * hands views of it on to the plaintext sink without a copy.
   */
  update(chunk: Uint8Array): Uint8Array;
  /** Returns the bytes still held back (a final partial block); a new array, as `update`'s. */
  final(): Uint8Array;
}

/** An incremental hash (SHA-1 for the MDC). */
export interface IncrementalHash {
  update(chunk: Uint8Array): void;
  digest(): Uint8Array;
}

/**
 * Lets a platform inject faster audited primitives for SEIPDv1 decryption (Node: node:crypto in
 * src/platform/node/cfb.ts; Thunderbird: OpenSSL's AES-CFB compiled to WebAssembly and WebAssembly
 * SHA-1 in extension/platform/cfb.ts, as WebCrypto has neither AES-CFB nor an incremental SHA-1).
 * Without one the core uses @noble/ciphers and @noble/hashes.
 */
export interface CfbDecryptorFactory {
  /** `algorithm` is 'aes128' | 'aes192' | 'aes256'; return undefined if not supported (the default is used). */
  decipher(options: { algorithm: string; key: Uint8Array; iv: Uint8Array }): CfbDecipher | undefined;
  /** An incremental SHA-1; optional (the default is @noble/hashes). May be asynchronous (a WebAssembly instance). */
  sha1?(): IncrementalHash | Promise<IncrementalHash>;
}

/** One running CFB encryption (RFC 9580 §5.13.1: zero IV, no resync); every call returns exactly as many octets as it got. */
export interface CfbEncipher {
  update(chunk: Uint8Array): Uint8Array;
  /** Called once after the last update (or when writing stopped): a platform may wipe its key schedule here. */
  close?(): void;
}

/**
 * Lets a platform write SEIPDv1 with faster audited primitives than OpenPGP.js's own streaming path
 * (Node: node:crypto in src/platform/node/cfb.ts; Thunderbird: WebAssembly in
 * extension/platform/cfb.ts). Optional: without one, OpenPGP.js encrypts.
 */
export interface CfbEncryptorFactory {
  /** `algorithm` is 'aes128' | 'aes192' | 'aes256'; return undefined if not supported (OpenPGP.js encrypts then). */
  encipher(options: { algorithm: string; key: Uint8Array; iv: Uint8Array }): CfbEncipher | undefined;
  /** An incremental SHA-1 for the MDC. May be asynchronous (a WebAssembly instance). */
  sha1(): IncrementalHash | Promise<IncrementalHash>;
}

/** The CFB primitives a platform installs for every call that does not pass its own (see useCfb). */
export interface InstalledCfb {
  decryptor?: CfbDecryptorFactory;
  encryptor?: CfbEncryptorFactory;
}

let installedCfb: InstalledCfb = {};

/**
 * Installs a platform's CFB primitives as the default of decrypt and encrypt (an explicit `cfb`
 * option still wins; undefined removes them). Thunderbird installs its WebAssembly AES-CFB this way
 * (extension/platform/index.ts), so every path of the extension that reads or writes SEIPDv1 uses it
 * without passing it along; the command line passes node:crypto's explicitly.
 */
export function useCfb(cfb: InstalledCfb | undefined): void {
  installedCfb = { ...cfb };
}

/** The installed decryptor, if any (for the core's SEIPDv1 reader). */
export function installedCfbDecryptor(): CfbDecryptorFactory | undefined {
  return installedCfb.decryptor;
}

/** The installed encryptor, if any (for the core's SEIPDv1 writer). */
export function installedCfbEncryptor(): CfbEncryptorFactory | undefined {
  return installedCfb.encryptor;
}

/** Hash algorithms a StreamHashFactory may be asked for (OpenPGP.js names, RFC 9580 §9.5). */
export type StreamHashAlgorithm = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/**
 * Incremental hashes for the data OpenPGP.js hashes as a stream: the message data a signature covers
 * (RFC 9580 §5.2.4), when signing and when verifying. OpenPGP.js hashes streams with @noble/hashes in
 * the browser build, which is slow where JavaScript runs without a JIT (Debian's Thunderbird); a
 * platform installs a faster library once with `useStreamHashes` (Thunderbird: WebAssembly, in
 * extension/platform/hashes.ts). Return undefined for an algorithm it does not offer (OpenPGP.js's
 * own hash is used).
 */
export type StreamHashFactory = (algorithm: StreamHashAlgorithm) => Promise<IncrementalHash | undefined>;

/** Persistent key-value storage: Thunderbird's storage.local; in Node a JSON file or memory. Values are JSON-serialisable. */
export interface KeyValueStorage {
  get(keys: string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string[]): Promise<void>;
}

/**
 * HTTP(S) fetching for key discovery (WKD, keys.openpgp.org): the WHATWG `fetch` of the platform,
 * injected so that tests can point it at a loopback server and nothing in the core goes online by itself.
 */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** The current time, injected so key expiry and signature creation times can be tested at fixed dates. */
export interface Clock {
  now(): Date;
}

/** The clock of the machine: what every platform passes unless a test fixes the date. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * Called now and then by long-running work (decrypting, pumping plaintext) with no other way to show
 * it is alive. Thunderbird suspends an idle Manifest V3 background after 30 s and does not count a
 * busy JavaScript loop as activity; its implementation makes a cheap API call, throttled. Node needs
 * none. A pulse must be cheap and must never throw.
 */
export type ActivityPulse = () => void;

let activityPulse: ActivityPulse | undefined;

/** Installs the platform's pulse (undefined removes it). */
export function useActivityPulse(pulse: ActivityPulse | undefined): void {
  activityPulse = pulse;
}

/** Long-running loops in the core call this once per chunk. */
export function pulseActivity(): void {
  activityPulse?.();
}

/**
 * A full garbage collection of the engine the core runs in, where the platform can ask for one
 * (Thunderbird: the gc Experiment, extension/experiments/gc/; Node: none). Reading a large message makes
 * a few short-lived arrays per chunk (window reads, armor output, AES-CFB output, decoded base64), and
 * SpiderMonkey's own collections, paced by its heap growth, fall behind them: the extension process held
 * 70–160 MiB of such garbage at the peak of a 50 MiB read (docs/architecture.md, "Memory in
 * Thunderbird"). Collecting every few MiB of data keeps that bounded by the chunk size, not the message's.
 * Must be synchronous and cheap against the data it follows; must never throw.
 */
export type GarbageCollector = () => void;

/** How much streamed data (ciphertext read plus plaintext written) passes between two collections by default. */
export const COLLECT_EVERY_BYTES = 16 << 20;

let garbageCollection: { collect: GarbageCollector; every: number; counted: number } | undefined;

/** Installs the platform's collector (undefined removes it), called once per `everyBytes` of streamed data. */
export function useGarbageCollector(collect: GarbageCollector | undefined, options: { everyBytes?: number } = {}): void {
  garbageCollection = collect === undefined ? undefined : { collect, every: Math.max(1, options.everyBytes ?? COLLECT_EVERY_BYTES), counted: 0 };
}

/**
 * The core's streaming loops report here the bytes of each chunk they read or write (the mail's windows,
 * the plaintext sink's writes); every `everyBytes` of them the installed collector runs once, never in
 * between. Without a collector (Node, a Thunderbird without the Experiment) nothing happens.
 */
export function noteStreamedBytes(bytes: number): void {
  const state = garbageCollection;
  if (state === undefined) return;
  state.counted += bytes;
  if (state.counted < state.every) return;
  // One collection however large the chunk was: what it left behind is one chunk's garbage.
  state.counted %= state.every;
  try {
    state.collect();
  } catch {
    /* a failing collector costs memory, never the read */
  }
}
