/**
 * Stand-ins for the engine's base64 decoders that Thunderbird 140+ has and Node 20 lacks
 * (`Uint8Array.fromBase64`, `Uint8Array.prototype.setFromBase64`), written from the TC39 proposal's
 * FromBase64 algorithm (ECMA-262 2025 draft, "FromBase64"): ASCII whitespace is skipped, any other
 * character outside the alphabet throws a SyntaxError, padding ends the data and only whitespace may
 * follow it; 'stop-before-partial' stops before a partial final group, 'loose' decodes it. The e2e
 * scenarios run the real ones in Thunderbird.
 */
import type { Base64Setter } from '../../src/core/index.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const isWhitespace = (char: string): boolean => char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f';

/** Counts the characters each stand-in was given, so a test can tell they were used. */
export const standInUse = { characters: 0 };

function fromBase64(text: string, lastChunkHandling: 'loose' | 'stop-before-partial', maxLength: number): { read: number; bytes: number[] } {
  standInUse.characters += text.length;
  const bytes: number[] = [];
  let chunk: number[] = [];
  let read = 0;
  const flush = (): void => {
    const [a = 0, b = 0, c = 0, d = 0] = chunk;
    const triple = (a << 18) | (b << 12) | (c << 6) | d;
    bytes.push((triple >> 16) & 0xff);
    if (chunk.length > 2) bytes.push((triple >> 8) & 0xff);
    if (chunk.length > 3) bytes.push(triple & 0xff);
  };
  let index = 0;
  for (;;) {
    while (index < text.length && isWhitespace(text[index] as string)) index++;
    if (index === text.length) {
      if (chunk.length > 0) {
        if (lastChunkHandling === 'stop-before-partial') return { read, bytes };
        if (chunk.length === 1) throw new SyntaxError('a final group of one character');
        flush();
      }
      return { read: text.length, bytes };
    }
    const char = text[index] as string;
    index++;
    if (char === '=') {
      if (chunk.length < 2) throw new SyntaxError('padding too early');
      while (index < text.length && isWhitespace(text[index] as string)) index++;
      if (chunk.length === 2) {
        if (index === text.length) {
          if (lastChunkHandling === 'stop-before-partial') return { read, bytes };
          throw new SyntaxError('incomplete padding');
        }
        if (text[index] !== '=') throw new SyntaxError('incomplete padding');
        index++;
        while (index < text.length && isWhitespace(text[index] as string)) index++;
      }
      if (index < text.length) throw new SyntaxError('data after the padding');
      flush();
      return { read: text.length, bytes };
    }
    const value = ALPHABET.indexOf(char);
    if (value < 0) throw new SyntaxError(`not base64: ${JSON.stringify(char)}`);
    const room = maxLength - bytes.length;
    if ((room === 1 && chunk.length === 2) || (room === 2 && chunk.length === 3)) return { read, bytes };
    chunk.push(value);
    if (chunk.length === 4) {
      flush();
      chunk = [];
      read = index;
      if (bytes.length >= maxLength) return { read, bytes };
    }
  }
}

/** `target.setFromBase64(text, { lastChunkHandling: 'stop-before-partial' })`. */
export const setFromBase64StandIn: Base64Setter = (target, text) => {
  const { read, bytes } = fromBase64(text, 'stop-before-partial', target.length);
  target.set(bytes);
  return { read, written: bytes.length };
};
