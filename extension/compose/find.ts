/**
 * The compose popup's key discovery. For a recipient without a usable key, "Find key" looks the address
 * up in the enabled sources (`discovery.lookup`) and shows each key found — fingerprint in groups of four,
 * the user IDs naming the address, the source — with Accept / Import, decide later / Reject / open in the
 * options page. A recipient whose key changed (KEY-SWAP) gets the key-change warning with both
 * fingerprints and the choices; the old key stays in use until the user decides.
 *
 * Each lookup fills its own panel and shows its own failure there: a slow or failing key server never
 * holds up the rest of the popup. Automatic lookups follow the setting; the permission to contact key
 * servers is given on the options page (a `permissions.*` call from a compose popup closes the popup in
 * Thunderbird), and without it the background refuses and the panel says where to allow it.
 */
import type { BrowserApi } from '../platform/browser.ts';
import { h } from '../shared/dom.ts';
import { errorText, type Translate } from '../shared/i18n.ts';
import { keyChangeCard, sourceLabel } from '../shared/key-change.ts';
import { request, type DiscoveredKeyView, type KeyChangeWarningView, type LookupView, type RequestName, type RequestOf, type ResponseOf } from '../shared/messages.ts';

export interface RecipientFinderOptions {
  api: Pick<BrowserApi, 'runtime' | 'i18n'>;
  t: Translate;
  /** Called after the keyring changed (a key accepted, imported or rejected, a warning resolved): the popup redraws. */
  changed: () => Promise<void>;
  /** Opens a key (or "Find a key" for an address) in the options page. */
  openInOptions: (target: { fingerprint?: string; address?: string }) => Promise<void>;
}

export interface RecipientFinder {
  /** True when lookups may run without a click: the user turned automatic lookups on in the settings. */
  automatic(): Promise<boolean>;
  /**
   * Looks `address` up and fills `target` with what was found, or why nothing was; never throws.
   * `quiet` (an automatic check of a recipient who has a key): the panel stays empty unless a source
   * offers a key other than the one held.
   */
  find(address: string, target: HTMLElement, options?: { quiet?: boolean }): Promise<LookupView | undefined>;
  /** The open key-change warnings for these addresses. */
  warnings(addresses: readonly string[]): Promise<KeyChangeWarningView[]>;
  /** One warning, with both fingerprints and the choices. */
  warningCard(warning: KeyChangeWarningView): HTMLElement;
}

export function recipientFinder({ api, t, changed, openInOptions }: RecipientFinderOptions): RecipientFinder {
  const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.runtime.sendMessage(message), name, payload);

  function decisionText(key: DiscoveredKeyView): string {
    switch (key.decision) {
      case 'new':
        return key.stored === 'added' ? t('composeFoundStored') : t('foundNew');
      case 'same':
        return key.heldAcceptance === 'verified' ? t('foundSameVerified') : key.heldAcceptance === 'accepted' ? t('foundSameAccepted') : t('foundSameUndecided');
      case 'conflict':
        return t('composeFoundConflict');
      default:
        return key.ignoredBecause === 'rejected-before' ? t('foundRejectedBefore') : t('foundUnusable');
    }
  }

  function foundKey(key: DiscoveredKeyView): HTMLElement {
    const actions = h('div', { className: 'buttons' });
    const problem = h('p', { className: 'error', role: 'alert', hidden: true });
    const settle = (run: () => Promise<{ text: string; good: boolean }>) => async (event: MouseEvent): Promise<void> => {
      const control = event.currentTarget as HTMLButtonElement;
      control.disabled = true;
      problem.hidden = true;
      try {
        const outcome = await run();
        actions.replaceChildren(h('span', { className: `badge ${outcome.good ? 'good' : 'bad'}` }, outcome.text));
        await changed();
      } catch (error) {
        problem.textContent = errorText(t, api, error);
        problem.hidden = false;
        control.disabled = false;
      }
    };
    const importKey = (accept: boolean) => async (): Promise<{ text: string; good: boolean }> => {
      const { address, source, fingerprint, certificate, origin } = key;
      const imported = await call('discovery.import', { candidate: { address, source, fingerprint, certificate, origin }, accept });
      if (imported.warning !== undefined) return { text: t('composeFoundConflict'), good: false };
      return { text: imported.key.acceptance === 'undecided' ? t('foundStateUndecided') : t('foundStateAccepted'), good: true };
    };
    const button = (className: string, label: string, run: (event: MouseEvent) => Promise<void>): HTMLButtonElement => {
      const made = h('button', { type: 'button', className }, label);
      made.addEventListener('click', (event) => void run(event));
      return made;
    };
    // A new key is already stored as undecided (the lookup keeps it): Accept or Reject it.
    const undecided = key.decision === 'new' || (key.decision === 'same' && key.heldAcceptance === 'undecided');
    if (undecided) {
      actions.append(button('primary found-accept', t('foundAccept'), settle(importKey(true))));
      actions.append(
        button(
          'found-reject',
          t('composeFoundReject'),
          settle(async () => {
            // Stored as rejected: the same key offered again is ignored, never asked about twice.
            await call('keys.setAcceptance', { fingerprint: key.fingerprint, acceptance: 'rejected' });
            return { text: t('foundStateRejected'), good: false };
          }),
        ),
      );
    }
    actions.append(button('found-open', t('composeOpenInOptions'), async () => openInOptions({ fingerprint: key.fingerprint })));
    const state = key.decision === 'conflict' || key.decision === 'ignore' ? 'bad' : key.decision === 'same' ? 'good' : 'neutral';
    return h(
      'article',
      { className: `found-key decision-${key.decision}`, 'data-fingerprint': key.fingerprint, 'data-source': key.source },
      h('p', { className: 'fingerprint' }, key.formattedFingerprint),
      h('ul', { className: 'plain user-ids' }, ...key.userIDs.map((userID) => h('li', {}, userID))),
      h('p', { className: 'muted found-source', title: key.origin }, t('composeFoundFrom', [sourceLabel(t, key.source)])),
      h('p', { className: `found-decision ${state}` }, decisionText(key)),
      actions,
      problem,
    );
  }

  return {
    async automatic() {
      const settings = await call('settings.get', {});
      return settings.lookupAutomatically;
    },

    async find(address, target, options = {}) {
      const quiet = options.quiet === true;
      if (!quiet) target.replaceChildren(h('p', { className: 'muted finding' }, t('finding', [address])));
      try {
        // Found keys are kept as undecided at once (Thunderbird may close the popup before the user decides).
        const found = await call('discovery.lookup', { address, store: 'all' });
        const keys = found.sources.flatMap((source) => source.keys);
        if (quiet && keys.every((key) => key.decision === 'same' || key.decision === 'ignore')) {
          target.replaceChildren();
          return found;
        }
        const failures = found.sources
          .filter((source) => source.error !== undefined)
          .map((source) => h('p', { className: 'muted source-failed' }, `${sourceLabel(t, source.source)}: ${t('sourceFailed', [errorText(t, api, source.error)])}`));
        target.replaceChildren(...(keys.length === 0 ? [h('p', { className: 'muted found-nothing' }, t('composeFoundNothing', [found.address]))] : keys.map(foundKey)), ...failures);
        // A held key may have been refreshed or a rival stored beside it (a key-change warning).
        if (found.warnings.length > 0 || keys.some((key) => key.stored !== undefined)) await changed();
        return found;
      } catch (error) {
        if (quiet) target.replaceChildren();
        else target.replaceChildren(h('p', { className: 'error', role: 'alert' }, errorText(t, api, error)));
        return undefined;
      }
    },

    async warnings(addresses) {
      const wanted = new Set(addresses.map((address) => address.toLowerCase()));
      return (await call('keys.warnings', {})).filter((warning) => wanted.has(warning.address.toLowerCase()));
    },

    warningCard(warning) {
      return keyChangeCard(warning, {
        t,
        api,
        text: t('composeKeyChangeText', [warning.address, sourceLabel(t, warning.offered.source)]),
        resolve: async (choice) => {
          await call('keys.resolveWarning', { address: warning.address, fingerprint: warning.offered.fingerprint, choice });
          await changed();
        },
        openOptions: () => openInOptions({ fingerprint: warning.offered.fingerprint }),
      });
    },
  };
}
