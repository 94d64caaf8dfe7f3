/**
 * z-base-32, the human-oriented base-32 encoding that WKD uses for the hashed local part
 * (draft-koch-openpgp-webkey-service §3.1). An encoding, not crypto: 5 bits per character, most
 * significant bit first, no padding.
 */
const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function zBase32Encode(data: Uint8Array): string {
  let output = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      output += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) output += ALPHABET[(buffer << (5 - bits)) & 31];
  return output;
}
