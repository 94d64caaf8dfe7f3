/**
 * The background's key discovery requests: look an address up in the enabled sources, import a
 * candidate, refresh expired or revoked keys, list and resolve key-change warnings (KEY-SWAP), and
 * hand out the identity's public key file. Every key goes through the core's `KeyDiscovery`, so no
 * source can replace a key the user accepted.
 *
 * Network access: the manifest asks for `https://*\/*` as an *optional* host permission. The options
 * page requests it with `permissions.request` when the user first looks a key up or allows automatic
 * lookups (a user action, in context, with the reason on the page); until then Sigill contacts no key
 * server at all. WKD hosts are those of every correspondent's domain, so no narrower pattern fits.
 */
import {
  algorithmName,
  createVksSource,
  createWkdSource,
  formatFingerprint,
  loadSettings,
  readCertificates,
  SigillError,
  type CandidateOutcome,
  type DiscoveredKey,
  type DiscoverySource,
  type Fetch,
  type KeyChangeWarning,
  type KeyDiscovery,
  type Keyring,
  type KeyValueStorage,
  type RejectedKey,
  type Settings,
  type SourceOutcome,
} from '../../src/core/index.ts';
import { LOOKUP_ORIGINS, type DiscoveredKeyView, type KeyChangeWarningView, type KeyView, type RequestOf, type ResponseOf, type SourceResultView } from '../shared/messages.ts';

export { LOOKUP_ORIGINS };

export interface DiscoveryDependencies {
  discovery: KeyDiscovery;
  fetch: Fetch;
  /** Whether the user granted `LOOKUP_ORIGINS` (`permissions.contains`). */
  mayLookUp: () => Promise<boolean>;
}

export type DiscoveryRequestName = 'discovery.lookup' | 'discovery.import' | 'discovery.refresh' | 'keys.warnings' | 'keys.resolveWarning' | 'keys.ownPublicKeyFile';
export type DiscoveryHandlers = { [N in DiscoveryRequestName]: (payload: RequestOf<N>) => Promise<ResponseOf<N>> };

/** What the handlers need of the service: its keyring, storage and key views. */
export interface DiscoveryHost {
  keyring: Keyring;
  storage: KeyValueStorage;
  view(record: NonNullable<ReturnType<Keyring['record']>>): KeyView;
}

/** The enabled network sources, as the settings say. */
export function lookupSources(settings: Settings, fetch: Fetch): DiscoverySource[] {
  return [
    createWkdSource({ fetch, enabled: settings.lookupSources.includes('wkd') }),
    createVksSource({ fetch, baseUrl: settings.vksUrl, enabled: settings.lookupSources.includes('vks') }),
  ];
}

function iso(date: Date | string | undefined): string | undefined {
  if (date === undefined) return undefined;
  return typeof date === 'string' ? date : date.toISOString();
}

/** The primary key's and the subkeys' algorithms, GnuPG's words (`ed25519`, `cv25519` ...), as the key list shows them. */
async function algorithmsOf(key: DiscoveredKey): Promise<string[]> {
  try {
    const [certificate] = await readCertificates(key.certificate);
    if (certificate !== undefined) return [certificate, ...certificate.getSubkeys()].map((component) => algorithmName(component.getAlgorithmInfo()));
  } catch {
    // the certificate was read before; if not again, the primary algorithm alone is still true
  }
  return [key.status.algorithm];
}

async function keyView(key: DiscoveredKey, outcome: Pick<CandidateOutcome, 'decision' | 'stored'>): Promise<DiscoveredKeyView> {
  const { decision } = outcome;
  const expires = iso(key.status.expires);
  return {
    source: key.source,
    address: key.address,
    fingerprint: key.fingerprint,
    formattedFingerprint: formatFingerprint(key.fingerprint),
    userIDs: key.userIDs,
    algorithms: await algorithmsOf(key),
    created: iso(key.status.created) ?? '',
    ...(expires === undefined ? {} : { expires }),
    expired: key.status.expired,
    revoked: key.status.revoked,
    canEncrypt: key.status.canEncrypt,
    problems: key.status.problems,
    origin: key.origin,
    notes: key.notes,
    certificate: key.certificate,
    decision: decision.action,
    ...(decision.action === 'same' ? { heldAcceptance: decision.acceptance } : {}),
    ...(decision.action === 'ignore' ? { ignoredBecause: decision.reason } : {}),
    ...(outcome.stored === undefined ? {} : { stored: outcome.stored }),
  };
}

function rejectedView(rejected: RejectedKey): SourceResultView['rejected'][number] {
  return { ...(rejected.fingerprint === undefined ? {} : { fingerprint: formatFingerprint(rejected.fingerprint) }), code: rejected.reason.code, message: rejected.reason.message };
}

async function sourceView(outcome: SourceOutcome): Promise<SourceResultView> {
  return {
    source: outcome.source,
    address: outcome.address,
    keys: await Promise.all(outcome.candidates.map((candidate) => keyView(candidate.key, candidate))),
    rejected: outcome.rejected.map(rejectedView),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
    attempts: outcome.attempts,
  };
}

/** A key-change warning as the pages show it: fingerprints in groups of four, user IDs from the keyring. */
export function keyChangeWarningView(keyring: Keyring, warning: KeyChangeWarning): KeyChangeWarningView {
  const userIDOf = (fingerprint: string): string | undefined => {
    const record = keyring.record(fingerprint);
    return record?.primaryUserID ?? record?.userIDs[0];
  };
  const offeredUserID = userIDOf(warning.offered.fingerprint);
  return {
    address: warning.address,
    inUse: warning.inUse.map((key) => {
      const userID = userIDOf(key.fingerprint);
      return { ...key, formattedFingerprint: formatFingerprint(key.fingerprint), ...(userID === undefined ? {} : { userID }) };
    }),
    offered: { ...warning.offered, formattedFingerprint: formatFingerprint(warning.offered.fingerprint), ...(offeredUserID === undefined ? {} : { userID: offeredUserID }) },
    detectedAt: warning.detectedAt,
    lastSeenAt: warning.lastSeenAt,
  };
}

export function discoveryHandlers(host: DiscoveryHost, deps: DiscoveryDependencies | undefined): DiscoveryHandlers {
  const warningView = (warning: KeyChangeWarning): KeyChangeWarningView => keyChangeWarningView(host.keyring, warning);
  const require = (): DiscoveryDependencies => {
    if (deps === undefined) throw new SigillError('LOOKUP_FAILED', { detail: 'key discovery is not available in this background' });
    return deps;
  };
  const networkSources = async (): Promise<DiscoverySource[]> => {
    const { fetch, mayLookUp } = require();
    if (!(await mayLookUp())) {
      throw new SigillError('LOOKUP_FAILED', { detail: 'Sigill has not been allowed to contact key servers yet; allow it on the options page' });
    }
    const settings = await loadSettings(host.storage);
    const sources = lookupSources(settings, fetch).filter((source) => source.enabled);
    if (sources.length === 0) throw new SigillError('LOOKUP_FAILED', { detail: 'no key source is switched on in the settings' });
    return sources;
  };
  const view = (fingerprint: string): KeyView => {
    const record = host.keyring.record(fingerprint);
    if (record === undefined) throw new SigillError('KEY_NOT_FOUND', { detail: fingerprint });
    return host.view(record);
  };

  return {
    'discovery.lookup': async ({ address, store }) => {
      const { discovery } = require();
      if (typeof address !== 'string' || address.trim() === '') throw new SigillError('BAD_INPUT', { detail: 'the address is missing' });
      const sources = await networkSources();
      // 'all' (the compose popup): new keys arrive in the keyring as undecided with their source, so what
      // was found is still there, to accept, when the popup has been closed meanwhile.
      const outcomes = await discovery.lookup(address, sources, { store: store === 'all' ? 'all' : 'changes' });
      const normalised = outcomes[0]?.address ?? address.trim().toLowerCase();
      return { address: normalised, sources: await Promise.all(outcomes.map(sourceView)), warnings: discovery.warnings(normalised).map(warningView) };
    },
    'discovery.import': async ({ candidate, accept }) => {
      const { discovery } = require();
      if (typeof candidate !== 'object' || candidate === null) throw new SigillError('BAD_INPUT', { detail: 'the candidate is missing' });
      const outcome = await discovery.importCandidate(candidate);
      const fingerprint = outcome.key.fingerprint;
      const warning = discovery.warnings(outcome.key.address).find((open) => open.offered.fingerprint === fingerprint);
      if (accept === true && warning === undefined) {
        const record = host.keyring.record(fingerprint);
        // Accepting never lowers a verified key; an undecided or rejected one becomes accepted.
        if (record !== undefined && record.acceptance !== 'accepted' && record.acceptance !== 'verified') await host.keyring.setAcceptance(fingerprint, 'accepted');
      }
      return { key: view(fingerprint), decision: outcome.decision.action, ...(warning === undefined ? {} : { warning: warningView(warning) }) };
    },
    'discovery.refresh': async () => {
      const { discovery } = require();
      const report = await discovery.refresh(await networkSources(), { trigger: 'user' });
      return { refreshed: report.refreshed.length, notDue: report.notDue.length, warnings: discovery.warnings().map(warningView) };
    },
    'keys.warnings': async ({ address }) => require().discovery.warnings(typeof address === 'string' && address !== '' ? address : undefined).map(warningView),
    'keys.resolveWarning': async ({ address, fingerprint, choice }) => {
      const result = await require().discovery.resolveWarning({ address, fingerprint, choice });
      return {
        ...(result.accepted === undefined ? {} : { accepted: host.view(result.accepted) }),
        ...(result.rejected === undefined ? {} : { rejected: host.view(result.rejected) }),
        demoted: result.demoted.map((record) => host.view(record)),
      };
    },
    'keys.ownPublicKeyFile': async ({ identity }) => {
      if (typeof identity !== 'string' || identity.trim() === '') throw new SigillError('BAD_INPUT', { detail: 'the identity’s address is missing' });
      const [record] = host.keyring.ownKeysFor(identity);
      if (record === undefined) throw new SigillError('KEY_NOT_FOUND', { detail: `no own key that can sign for ${identity.trim()}` });
      // Thunderbird's own name for an attached public key, which other mail clients recognise.
      return { fileName: `OpenPGP_0x${record.keyID.toUpperCase()}.asc`, text: await host.keyring.exportPublic(record.fingerprint) };
    },
  };
}
