/**
 * `sign --micalg-out` (draft-dkg-openpgp-stateless-cli, section "sign"; RFC 3156 §5): `pgp-<hash>` of
 * the signatures made, or an empty string when they use different hashes. Reads only the hash
 * algorithm field of the signature packets the core produced.
 */
import { enums, readSignature } from 'openpgp';

export async function micalgOf(signatures: Uint8Array): Promise<string> {
  const text = new TextDecoder().decode(signatures.subarray(0, 16));
  const signature = text.startsWith('-----BEGIN') ? await readSignature({ armoredSignature: new TextDecoder().decode(signatures) }) : await readSignature({ binarySignature: signatures });
  const hashes = new Set(signature.packets.map((packet) => packet.hashAlgorithm));
  const [only] = hashes;
  if (hashes.size !== 1 || only === undefined || only === null) return '';
  return `pgp-${enums.read(enums.hash, only).toLowerCase()}`;
}
