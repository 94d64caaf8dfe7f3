/**
 * What the read path allocates, counted: `npx tsx bench/read-allocations.ts [--size 20M]`.
 *
 * gpg (carol) signs and encrypts a PGP/MIME message to bob (SEIPDv1, armored: what most OpenPGP mail is)
 * with a short text and a base64 attachment of SIZE random bytes; `read()` reads it from a Blob as the
 * extension does (`attachments: 'defer'`, the extension's AES-CFB), then `decodeAttachment` decodes the
 * attachment as "Save decrypted" does. Every byte array and string of 4 KiB or more made meanwhile is
 * counted by where it comes from (the global constructors and decoders are wrapped for this process), and
 * printed per MiB of decrypted MIME: short-lived allocations are what a garbage collector has to keep up
 * with, so this is the figure that tells a change in the read path's garbage apart from the noise of
 * Thunderbird's own memory (bench/memory-in-thunderbird.ts measures that). Node has neither
 * `Uint8Array.fromBase64` nor `setFromBase64`, which Thunderbird 140+ has: stand-ins on Node's own base64
 * decoder take their place. Not counted: what the engine allocates inside (stream queues, the Blob's own
 * storage) and strings made by joining or replacing. Figures are printed, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pgpMimeBody, pgpMimeContentType, randomBase64Lines, textWithAttachment } from '../test/support/mail-bodies.ts';
import { missingTools } from '../test/support/tools.ts';
import { option, parseSize } from './args.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CRLF = '\r\n';
const MiB = 1 << 20;

/** The message: gpg's signed and encrypted PGP/MIME with a text and a base64 attachment of `size` bytes. */
function gpgMessage(size: number): string {
  const home = mkdtempSync(join(tmpdir(), 'sigill-alloc-gpg-'));
  const gpg = (args: string[], input?: string): Buffer =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--trust-model', 'always', ...args], { input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    gpg(['--import', join(root, 'keys-fixtures', 'carol.unprotected.sec.asc'), join(root, 'keys-fixtures', 'bob.pub.asc')]);
    const inner = textWithAttachment('See the file.', randomBase64Lines(size));
    const armored = gpg(['--encrypt', '--sign', '--armor', '-u', 'carol@sigill.test', '-r', 'bob@sigill.test'], inner).toString('latin1');
    return ['From: Carol <carol@sigill.test>', 'To: Bob <bob@sigill.test>', 'Subject: allocations', 'MIME-Version: 1.0',
      `Content-Type: ${pgpMimeContentType}`, '', pgpMimeBody(armored)].join(CRLF);
  } finally {
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    } catch {
      /* no agent was started */
    }
    rmSync(home, { recursive: true, force: true });
  }
}

/** Stand-ins for the engine's base64 decoders (Thunderbird 140+), on Node's decoder; strict about the alphabet as they are. */
function installBase64StandIns(): void {
  const foreign = /[^A-Za-z0-9+/=\t\n\f\r ]/;
  const whitespace = /[\t\n\f\r ]/;
  (Uint8Array as unknown as { fromBase64: (text: string) => Uint8Array }).fromBase64 = (text) => {
    if (foreign.test(text)) throw new SyntaxError('not base64');
    return new Uint8Array(Buffer.from(text, 'base64'));
  };
  (Uint8Array.prototype as unknown as { setFromBase64: (this: Uint8Array, text: string) => { read: number; written: number } }).setFromBase64 = function (text) {
    if (foreign.test(text)) throw new SyntaxError('not base64');
    const clean = text.replace(/[\t\n\f\r ]/g, '');
    // 'stop-before-partial': whole groups only, unless padding ends the data.
    const whole = clean.includes('=') ? clean.length : clean.length - (clean.length % 4);
    let read = text.length;
    if (whole !== clean.length) {
      read = 0;
      for (let taken = 0; taken < whole; read++) if (!whitespace.test(text[read] as string)) taken++;
    }
    const bytes = Buffer.from(clean.slice(0, whole), 'base64');
    this.set(bytes);
    return { read, written: bytes.length };
  };
}

const counts = new Map<string, { count: number; bytes: number }>();
let phase = 'set-up';
/** Where in Sigill's sources an allocation was made (file:line), else who made it. */
function origin(fallback: string): string {
  const line = (new Error().stack ?? '').split('\n').slice(3).find((frame) => frame.includes(`${root}/src/`) || frame.includes(`${root}/extension/`));
  const match = line === undefined ? null : /([\w.-]+\.ts):(\d+)/.exec(line);
  return match ? `${match[1]}:${match[2]}` : fallback;
}
function note(what: string, size: number): void {
  if (size < 4096) return;
  const key = `${phase}\t${what}`;
  const entry = counts.get(key) ?? { count: 0, bytes: 0 };
  entry.count++;
  entry.bytes += size;
  counts.set(key, entry);
}

/** Wraps the constructors and decoders that make large arrays and strings, to count what they make. */
function countAllocations(): void {
  const Native = Uint8Array;
  globalThis.Uint8Array = new Proxy(Native, {
    construct(target, args, newTarget) {
      const made = Reflect.construct(target, args, newTarget) as Uint8Array;
      // A view of an existing ArrayBuffer is no allocation; a length, an array or a copy is.
      if (typeof args[0] === 'number' || ArrayBuffer.isView(args[0]) || Array.isArray(args[0])) note(`new Uint8Array (${origin('OpenPGP.js')})`, made.byteLength);
      return made;
    },
  });
  const slice = Native.prototype.slice;
  Native.prototype.slice = function (this: Uint8Array, ...args: Parameters<Uint8Array['slice']>) {
    const made = slice.apply(this, args);
    note(`Uint8Array slice (${origin('OpenPGP.js')})`, made.byteLength);
    return made;
  } as typeof slice;
  const arrayBuffer = Blob.prototype.arrayBuffer;
  Blob.prototype.arrayBuffer = async function (this: Blob) {
    const made = await arrayBuffer.call(this);
    note('Blob.arrayBuffer (a read of the mail or the plaintext)', made.byteLength);
    return made;
  };
  const decode = TextDecoder.prototype.decode;
  TextDecoder.prototype.decode = function (this: TextDecoder, ...args: Parameters<TextDecoder['decode']>) {
    const made = decode.apply(this, args);
    note(`string from TextDecoder ${this.encoding} (characters; UTF-16 in Gecko)`, made.length);
    return made;
  } as typeof decode;
  const fromCharCode = String.fromCharCode;
  String.fromCharCode = function (...codes: number[]) {
    const made = fromCharCode(...codes);
    note('string from String.fromCharCode (characters; one byte each in SpiderMonkey)', made.length);
    return made;
  };
}

async function main(): Promise<void> {
  const missing = missingTools([{ command: 'gpg', debianPackage: 'gnupg' }]);
  if (missing.length > 0) {
    console.log('SKIPPED: needs gpg (apt-get install gnupg)');
    return;
  }
  const size = parseSize(option('size', '20M'));
  const mail = new Blob([Buffer.from(gpgMessage(size), 'latin1')]);
  installBase64StandIns();
  countAllocations();
  // Imported only now, so that the core sees the wrapped globals as it would see the engine's.
  const core = await import('../src/core/index.ts');
  const { extensionCfb } = await import('../extension/platform/cfb.ts');
  const { loadCertificate, loadSecretKey } = await import('../keys-fixtures/index.ts');
  core.useCfb({ decryptor: extensionCfb });
  const bob = await loadSecretKey('bob', { unlocked: true });
  const carol = await loadCertificate('carol');
  phase = 'read';
  const view = await core.read(mail, { decryptionKeys: async () => [bob], verificationKeys: async () => [carol], attachments: 'defer' });
  const attachment = view.attachments[0];
  if (view.errors.length > 0) throw new Error(`the read failed: ${JSON.stringify(view.errors)}`);
  if (attachment?.encoded === undefined) throw new Error(`the ${option('size', '20M')} attachment was decoded while reading (only large ones are left encoded): give a larger --size`);
  phase = 'decodeAttachment';
  const saved = await core.decodeAttachment(attachment.encoded);
  // The decrypted MIME is the attachment's base64 and a few hundred octets of headers and text.
  const base64 = attachment.encoded.data.size;
  console.log(`mail ${(mail.size / MiB).toFixed(1)} MiB, attachment ${((saved instanceof Blob ? saved.size : saved.length) / MiB).toFixed(1)} MiB (${(base64 / MiB).toFixed(1)} MiB as base64), signature ${view.signature}`);
  console.log("made per MiB of the attachment's base64 (for read: about the decrypted MIME):");
  for (const [key, { count, bytes }] of [...counts].sort()) {
    const [when, what] = key.split('\t') as [string, string];
    if (when === 'set-up') continue;
    console.log(`  ${when.padEnd(17)} ${what.padEnd(86)} ${String(count).padStart(6)} × ${(bytes / count / 1024).toFixed(0).padStart(5)} KiB  ${(bytes / base64).toFixed(2).padStart(5)} MiB/MiB`);
  }
}

await main();
