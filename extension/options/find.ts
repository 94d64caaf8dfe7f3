/**
 * The options page's key discovery: "Find a key" by address (each source's answer with fingerprint,
 * user IDs and what Sigill would do with the key; import as undecided or accept), the key-change
 * warnings shown at the top of the page until the user decides (KEY-SWAP), and the lookup settings.
 * Everything is a typed request to the background; text is set as text, never HTML.
 */
import type { BrowserApi } from '../platform/browser.ts';
import { errorText, type Translate } from '../shared/i18n.ts';
import {
  LOOKUP_ORIGINS,
  request,
  type DiscoveredKeyView,
  type KeyChangeWarningView,
  type LookupView,
  type RequestName,
  type RequestOf,
  type ResponseOf,
  type SettingsView,
  type SourceResultView,
} from '../shared/messages.ts';
import { h } from '../shared/dom.ts';
import { keyChangeCard, sourceLabel } from '../shared/key-change.ts';

/** Fired on `document` when discovery changed the keyring, so the key list redraws. */
export const KEYS_CHANGED_EVENT = 'sigill:keys-changed';


function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`options.html has no #${id}`);
  return found as T;
}

export interface FindPageOptions {
  api: BrowserApi;
  t: Translate;
  /** The page's status line. */
  say(message: string, kind?: 'success' | 'error'): void;
}

export function startFinding({ api, t, say }: FindPageOptions): Promise<void> {
  const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.runtime.sendMessage(message), name, payload);
  const dateFormat = new Intl.DateTimeFormat(api.i18n.getUILanguage() || undefined, { dateStyle: 'medium' });
  const dateTimeFormat = new Intl.DateTimeFormat(api.i18n.getUILanguage() || undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const date = (iso: string | undefined): string => (iso === undefined ? t('never') : dateFormat.format(new Date(iso)));
  const fail = (error: unknown): void => say(errorText(t, api, error), 'error');
  const keysChanged = (): void => void document.dispatchEvent(new CustomEvent(KEYS_CHANGED_EVENT));
  const sourceName = (source: string): string => sourceLabel(t, source);

  // Whether the user already allowed network lookups (read at start): then no request is needed.
  let granted = false;

  /**
   * Asks Thunderbird for network access when it was not given yet. `permissions.request` only works in
   * a user action, so this runs first in the click handler, before any other await.
   */
  const allowLookups = async (): Promise<boolean> => {
    if (granted) return true;
    granted = await api.permissions.request({ origins: LOOKUP_ORIGINS });
    if (!granted) say(t('lookupPermissionDenied'), 'error');
    return granted;
  };

  // ---- key-change warnings ------------------------------------------------------------------------

  async function renderWarnings(): Promise<void> {
    const warnings = await call('keys.warnings', {});
    const container = byId('key-warnings');
    container.replaceChildren(...warnings.map(warningCard));
    container.hidden = warnings.length === 0;
  }

  function warningCard(warning: KeyChangeWarningView): HTMLElement {
    return keyChangeCard(warning, {
      t,
      api,
      text: t('keyChangeText', [warning.address, sourceName(warning.offered.source), dateTimeFormat.format(new Date(warning.detectedAt))]),
      resolve: async (choice) => {
        await call('keys.resolveWarning', { address: warning.address, fingerprint: warning.offered.fingerprint, choice });
        say(choice === 'accept' ? t('keyChangeAccepted', [warning.address]) : t('keyChangeRejected', [warning.address]));
        keysChanged();
      },
    });
  }

  // ---- find a key ---------------------------------------------------------------------------------

  function decisionText(key: DiscoveredKeyView): string {
    switch (key.decision) {
      case 'new':
        return t('foundNew');
      case 'same':
        return key.heldAcceptance === 'verified' ? t('foundSameVerified') : key.heldAcceptance === 'accepted' ? t('foundSameAccepted') : t('foundSameUndecided');
      case 'conflict':
        return t('foundConflict');
      default:
        return key.ignoredBecause === 'rejected-before' ? t('foundRejectedBefore') : t('foundUnusable');
    }
  }

  function foundKeyCard(key: DiscoveredKeyView): HTMLElement {
    const actions = h('div', { className: 'buttons' });
    const importKey = (accept: boolean) => async (event: MouseEvent): Promise<void> => {
      const control = event.currentTarget as HTMLButtonElement;
      control.disabled = true;
      try {
        const { address, source, fingerprint, certificate, origin } = key;
        const imported = await call('discovery.import', { candidate: { address, source, fingerprint, certificate, origin }, accept });
        if (imported.warning !== undefined) say(t('foundConflict'), 'error');
        else say(accept ? t('foundAcceptedNow', [imported.key.primaryUserID ?? imported.key.formattedFingerprint]) : t('foundImportedNow', [imported.key.primaryUserID ?? imported.key.formattedFingerprint]));
        keysChanged();
        actions.replaceChildren(h('span', { className: 'badge good' }, imported.key.acceptance === 'undecided' ? t('foundStateUndecided') : t('foundStateAccepted')));
      } catch (error) {
        fail(error);
        control.disabled = false;
      }
    };
    const offerImport = key.decision === 'new' || (key.decision === 'same' && key.heldAcceptance === 'undecided');
    if (offerImport) {
      const accept = h('button', { type: 'button', className: 'primary found-accept' }, t('foundAccept'));
      accept.addEventListener('click', (event) => void importKey(true)(event));
      actions.append(accept);
      if (key.decision === 'new') {
        const keep = h('button', { type: 'button', className: 'found-import' }, t('foundImport'));
        keep.addEventListener('click', (event) => void importKey(false)(event));
        actions.append(keep);
      }
    }
    const state = key.decision === 'conflict' ? 'bad' : key.decision === 'ignore' ? 'bad' : key.decision === 'same' ? 'good' : 'neutral';
    return h(
      'article',
      { className: `found-key decision-${key.decision}`, 'data-fingerprint': key.fingerprint, 'data-source': key.source },
      h('dl', { className: 'facts' },
        h('dt', {}, t('fingerprint')),
        h('dd', { className: 'fingerprint' }, key.formattedFingerprint),
        h('dt', {}, t('userIDs')),
        h('dd', {}, h('ul', { className: 'plain' }, ...key.userIDs.map((userID) => h('li', {}, userID)))),
        h('dt', {}, t('algorithms')),
        h('dd', {}, key.algorithms.join(', ')),
        h('dt', {}, t('created')),
        h('dd', {}, date(key.created)),
        h('dt', {}, t('expires')),
        h('dd', {}, date(key.expires)),
        h('dt', {}, t('status')),
        h('dd', { className: `found-decision ${state}` }, decisionText(key)),
        ...(key.notes.length === 0 ? [] : [h('dt', {}, t('foundNotes')), h('dd', { className: 'muted' }, key.notes.join('; '))]),
      ),
      actions,
    );
  }

  function sourceCard(result: SourceResultView): HTMLElement {
    const summary = result.error !== undefined
      ? h('p', { className: 'error' }, t('sourceFailed', [errorText(t, api, result.error)]))
      : result.keys.length === 0
        ? h('p', { className: 'muted' }, result.rejected.length === 0 ? t('sourceNothing') : t('sourceOnlyRefused'))
        : null;
    return h(
      'section',
      { className: 'found-source', 'data-source': result.source, 'aria-label': sourceName(result.source) },
      h('h3', {}, sourceName(result.source)),
      summary,
      ...result.keys.map(foundKeyCard),
      result.rejected.length === 0
        ? null
        : h('ul', { className: 'plain refused' }, ...result.rejected.map((refused) => h('li', {}, t('sourceRefused', [refused.fingerprint ?? '—', errorText(t, api, refused)])))),
    );
  }

  function renderFound(found: LookupView): void {
    byId('find-results').replaceChildren(h('p', { className: 'muted' }, t('foundFor', [found.address])), ...found.sources.map(sourceCard));
  }

  async function find(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const address = byId<HTMLInputElement>('find-address').value.trim();
    const submit = byId<HTMLButtonElement>('find-button');
    if (address === '') {
      say(t('findAddressMissing'), 'error');
      return;
    }
    if (!(await allowLookups())) return;
    submit.disabled = true;
    byId('find-results').replaceChildren(h('p', { className: 'muted' }, t('finding', [address])));
    try {
      const found = await call('discovery.lookup', { address });
      renderFound(found);
      await renderWarnings();
      // A changed key is the one thing on the page that must not be missed: bring its warning into view.
      if (found.warnings.length > 0) byId('key-warnings').scrollIntoView({ block: 'start' });
      // A held key may have been refreshed or a rival stored beside it.
      keysChanged();
    } catch (error) {
      byId('find-results').replaceChildren();
      fail(error);
    } finally {
      submit.disabled = false;
    }
  }

  async function refreshExpired(event: MouseEvent): Promise<void> {
    const control = event.currentTarget as HTMLButtonElement;
    if (!(await allowLookups())) return;
    control.disabled = true;
    try {
      const report = await call('discovery.refresh', {});
      say(report.refreshed === 0 ? t('refreshNothing') : t('refreshDone', [String(report.refreshed)]));
      await renderWarnings();
      keysChanged();
    } catch (error) {
      fail(error);
    } finally {
      control.disabled = false;
    }
  }

  // ---- settings -----------------------------------------------------------------------------------

  function renderSettings(settings: SettingsView): void {
    byId<HTMLInputElement>('lookup-automatically').checked = settings.lookupAutomatically;
    byId<HTMLInputElement>('source-wkd').checked = settings.lookupSources.includes('wkd');
    byId<HTMLInputElement>('source-vks').checked = settings.lookupSources.includes('vks');
    byId<HTMLInputElement>('vks-url').value = settings.vksUrl;
    byId<HTMLInputElement>('attach-public-key').checked = settings.attachPublicKey;
  }

  async function save(update: RequestOf<'settings.set'>): Promise<void> {
    try {
      renderSettings(await call('settings.set', update));
      say(t('settingsSaved'));
    } catch (error) {
      fail(error);
      renderSettings(await call('settings.get', {}));
    }
  }

  function wire(): void {
    byId<HTMLFormElement>('find-form').addEventListener('submit', (event) => void find(event));
    byId('refresh-button').addEventListener('click', (event) => void refreshExpired(event));
    byId<HTMLInputElement>('lookup-automatically').addEventListener('change', (event) => {
      const box = event.currentTarget as HTMLInputElement;
      if (!box.checked) return void save({ lookupAutomatically: false });
      void allowLookups().then((allowed) => (allowed ? save({ lookupAutomatically: true }) : void (box.checked = false)));
    });
    const sources = (): Array<'wkd' | 'vks'> => [...(byId<HTMLInputElement>('source-wkd').checked ? ['wkd' as const] : []), ...(byId<HTMLInputElement>('source-vks').checked ? ['vks' as const] : [])];
    byId('source-wkd').addEventListener('change', () => void save({ lookupSources: sources() }));
    byId('source-vks').addEventListener('change', () => void save({ lookupSources: sources() }));
    byId('vks-url').addEventListener('change', (event) => void save({ vksUrl: (event.currentTarget as HTMLInputElement).value }));
    byId<HTMLInputElement>('attach-public-key').addEventListener('change', (event) => void save({ attachPublicKey: (event.currentTarget as HTMLInputElement).checked }));
    document.addEventListener(KEYS_CHANGED_EVENT, () => void renderWarnings().catch(fail));
  }

  wire();
  return Promise.all([
    renderWarnings(),
    call('settings.get', {}).then(renderSettings),
    api.permissions.contains({ origins: LOOKUP_ORIGINS }).then((allowed) => void (granted = allowed)),
  ]).then(() => undefined);
}
