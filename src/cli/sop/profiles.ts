/**
 * Profiles (draft-dkg-openpgp-stateless-cli, section "Profiles" and "list-profiles"): the first one
 * listed is the default; `default` always names it; aliases are announced in the description.
 */
import { SigillError } from '../../core/index.ts';
import type { KeyProfile } from '../../core/index.ts';

export interface SopProfile<T extends string> {
  name: string;
  description: string;
  aliases: readonly string[];
  /** What the core is asked for. */
  value: T;
}

export const generateKeyProfiles: readonly SopProfile<KeyProfile>[] = [
  {
    name: 'default',
    description: 'v4 key, Ed25519 signing and Cv25519 encryption (curve25519Legacy); read by GnuPG 2.2 and every current implementation',
    aliases: ['rfc4880'],
    value: 'default',
  },
  { name: 'rsa3072', description: 'v4 key, RSA-3072 signing and encryption, for old peers', aliases: [], value: 'rsa3072' },
  { name: 'rsa4096', description: 'v4 key, RSA-4096 signing and encryption, for old peers', aliases: [], value: 'rsa4096' },
  { name: 'rfc9580', description: 'v6 key (RFC 9580), Ed25519 and X25519, announcing SEIPDv2 (AEAD); not read by GnuPG 2.2', aliases: [], value: 'rfc9580' },
];

/** Encryption has one policy, decided by the core from the recipients' certificates. */
export type EncryptProfile = 'default';

export const encryptProfiles: readonly SopProfile<EncryptProfile>[] = [
  {
    name: 'default',
    description: 'SEIPDv2 (AES-256, GCM) when every recipient announces support for it, SEIPDv1 otherwise',
    aliases: [],
    value: 'default',
  },
];

export const profilesBySubcommand: Record<string, readonly SopProfile<string>[]> = {
  'generate-key': generateKeyProfiles,
  encrypt: encryptProfiles,
};

export function findProfile<T extends string>(profiles: readonly SopProfile<T>[], name: string | undefined): T {
  const first = profiles[0];
  if (first === undefined) throw new SigillError('UNSUPPORTED_PROFILE', { detail: 'no profiles' });
  if (name === undefined || name === 'default') return first.value;
  const profile = profiles.find((candidate) => candidate.name === name || candidate.aliases.includes(name));
  if (!profile) throw new SigillError('UNSUPPORTED_PROFILE', { detail: `${name}; known: ${profiles.map((candidate) => candidate.name).join(', ')}` });
  return profile.value;
}

export function formatProfiles(profiles: readonly SopProfile<string>[]): string {
  return profiles
    .map((profile) => `${profile.name}: ${profile.description}${profile.aliases.length > 0 ? ` (aliases: ${profile.aliases.join(', ')})` : ''}\n`)
    .join('');
}
