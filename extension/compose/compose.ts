/**
 * The compose button's popup: will this message go encrypted and signed (per-message toggles, the
 * defaults from the settings), each recipient's key status with a way to fix it (open the key in the
 * options page, or find one on the key servers: find.ts), key-change warnings of the recipients, the
 * sender's own key, and where drafts of the message are saved. Everything it shows comes from the
 * background (send-status.ts), which also draws the button's badge.
 *
 * Drawing order: the status is drawn as soon as it arrives; key-change warnings and key lookups come
 * after, each on its own and with its own error display, so that a slow or failing key server or
 * request never keeps the recipient list from showing.
 */
import { browserApi } from '../platform/browser.ts';
import { composeRequest, type ComposeRequestMap, type ComposeRequestName, type ComposeStatus } from '../shared/compose-messages.ts';
import type { DraftsStatus } from '../background/drafts.ts';
import { localizePage, translator } from '../shared/i18n.ts';
import { recipientFinder } from './find.ts';

const api = browserApi();
const t = translator(api);
const call = <N extends ComposeRequestName>(name: N, payload: ComposeRequestMap[N]['request']) => composeRequest((message) => api.runtime.sendMessage(message), name, payload);

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`compose.html has no #${id}`);
  return found as T;
}

const encrypt = element<HTMLInputElement>('encrypt');
const sign = element<HTMLInputElement>('sign');
const attachPublicKey = element<HTMLInputElement>('attach-public-key');
let tabId = -1;

const GOOD_STATES = new Set(['accepted', 'verified']);

const finder = recipientFinder({
  api,
  t,
  changed: () => refresh(),
  openInOptions: async (target) => void (await call('compose.openKey', target)),
});
/** Each recipient's lookup panel (what "Find key" showed), kept across redraws of the list. */
const lookupPanels = new Map<string, HTMLElement>();
/** Addresses already looked up without a click, so that a redraw does not ask again. */
const lookedUpAutomatically = new Set<string>();
let automaticLookups: Promise<boolean> | undefined;

function lookupPanel(address: string): HTMLElement {
  let panel = lookupPanels.get(address);
  if (panel === undefined) {
    panel = document.createElement('div');
    panel.className = 'found';
    panel.dataset.address = address;
    lookupPanels.set(address, panel);
  }
  return panel;
}

/** The recipients' key-change warnings, on top where they cannot be missed; a failure to list them is shown there too. */
async function renderWarnings(status: ComposeStatus): Promise<void> {
  const box = element('key-warnings');
  try {
    const warnings = await finder.warnings(status.recipients.map((recipient) => recipient.address));
    box.replaceChildren(...warnings.map((warning) => finder.warningCard(warning)));
    box.hidden = warnings.length === 0;
    for (const item of element('recipients').querySelectorAll<HTMLElement>('li[data-address]')) {
      item.classList.toggle('key-changed', warnings.some((warning) => warning.address === item.dataset.address?.toLowerCase()));
    }
  } catch (error) {
    const problem = document.createElement('p');
    problem.className = 'error';
    problem.textContent = t('composeWarningsFailed', [error instanceof Error ? error.message : String(error)]);
    box.replaceChildren(problem);
    box.hidden = false;
  }
}

/**
 * When the user allowed automatic lookups, every recipient is looked up once per popup: one without a
 * usable key to find one, one with a key to notice a changed key (KEY-SWAP; its panel stays empty
 * unless a source offers another key, and the warning then shows on top).
 */
async function lookUpAutomatically(status: ComposeStatus): Promise<void> {
  const pending = status.recipients.filter((recipient) => !lookedUpAutomatically.has(recipient.address));
  if (pending.length === 0) return;
  automaticLookups ??= finder.automatic().catch(() => false);
  if (!(await automaticLookups)) return;
  for (const recipient of pending) {
    lookedUpAutomatically.add(recipient.address);
    void finder.find(recipient.address, lookupPanel(recipient.address), { quiet: GOOD_STATES.has(recipient.state) });
  }
}

function summary(status: ComposeStatus): { text: string; className: string } {
  if (status.error !== undefined) return { text: t('composeSummaryError', [status.error]), className: 'blocked' };
  if (status.encryptRequired && status.problems.length > 0) return { text: t('composeSummaryBlocked'), className: 'blocked' };
  if (status.encrypt) return { text: t(status.sign ? 'composeSummaryEncryptedSigned' : 'composeSummaryEncrypted'), className: 'encrypted' };
  if (status.sign) return { text: t('composeSummarySigned'), className: '' };
  return { text: t('composeSummaryPlain'), className: '' };
}

/** The wire format line: "PGP/MIME", or "Inline PGP — because …" (shown when the message is protected). */
function formatLine(status: ComposeStatus): string | undefined {
  const format = status.format;
  if (format === undefined || (!status.encrypt && !status.sign)) return undefined;
  if (format.format === 'pgp-mime') return t('composeFormat_pgpmime');
  if (format.because === 'correspondent') return t('composeFormat_correspondent', [format.inlineRecipients.join(', ')]);
  if (format.because === 'unavailable') return t('composeFormat_unavailable', [format.reason ?? '']);
  return t('composeFormat_setting');
}

function render(status: ComposeStatus, draftsStatus?: DraftsStatus): void {
  const lastFailure = element('last-failure');
  lastFailure.textContent = status.lastFailure ?? '';
  lastFailure.hidden = status.lastFailure === undefined;
  const { text, className } = summary(status);
  const summaryElement = element('summary');
  summaryElement.textContent = text;
  summaryElement.className = `summary ${className}`;
  encrypt.checked = status.encrypt;
  sign.checked = status.sign;
  attachPublicKey.checked = status.attachPublicKey;
  const list = element<HTMLUListElement>('recipients');
  list.replaceChildren(
    ...status.recipients.map((recipient) => {
      const item = document.createElement('li');
      item.dataset.address = recipient.address;
      item.dataset.state = recipient.state;
      const who = document.createElement('span');
      who.className = 'address';
      who.textContent = recipient.address;
      const field = document.createElement('span');
      field.className = 'field';
      field.textContent = t(recipient.field === 'to' ? 'fieldTo' : recipient.field === 'cc' ? 'fieldCc' : 'fieldBcc');
      who.append(field);
      const state = document.createElement('span');
      state.className = `state ${GOOD_STATES.has(recipient.state) ? 'good' : 'bad'}`;
      state.textContent = t(`recipientState_${recipient.state}`);
      // One button per recipient: with a usable key, open it in the options page; without one, find one (what a
      // lookup finds shows below, each key with "Open in options"). Keep the row this narrow: a popup whose
      // content grows wider than Thunderbird can place it next to the button is closed at once (seen in real
      // Thunderbird with a second button per row).
      const hasKey = GOOD_STATES.has(recipient.state);
      const action = document.createElement('button');
      action.type = 'button';
      action.className = hasKey ? 'open-key' : 'find-key';
      action.textContent = t(hasKey ? 'composeOpenKey' : 'composeLookUp');
      action.addEventListener('click', () => {
        if (hasKey && recipient.fingerprint !== undefined) void call('compose.openKey', { fingerprint: recipient.fingerprint });
        else void finder.find(recipient.address, lookupPanel(recipient.address));
      });
      item.append(who, state, action, lookupPanel(recipient.address));
      return item;
    }),
  );
  element('no-recipients').hidden = status.recipients.length > 0;
  const format = element('format');
  const line = formatLine(status);
  format.textContent = line ?? '';
  format.hidden = line === undefined;
  format.dataset.format = status.format?.format ?? '';
  element('own-key').textContent = t(`composeOwnKey_${status.ownKey === 'ok' || status.ownKey === 'locked-ok' || status.ownKey === 'missing' ? status.ownKey.replace('-', '_') : 'problem'}`);
  renderDrafts(status, draftsStatus);
}

// ---- where drafts go (the background's drafts.ts) ----

type DraftsReply = { ok: true; value: DraftsStatus } | { ok: false; error: { code: string; message: string } };

async function draftsRequest(name: 'drafts.status' | 'drafts.keepLocal', status?: ComposeStatus): Promise<DraftsStatus | undefined> {
  const payload = status === undefined ? { tabId } : { tabId, encrypt: status.encrypt || status.encryptRequired };
  const reply = (await api.runtime.sendMessage({ sigillDrafts: name, payload })) as DraftsReply | undefined;
  if (reply === undefined || reply === null) return undefined; // no drafts service (no Experiment)
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.value;
}

/**
 * Where drafts of this message go and whether they are encrypted; without the drafts service, the compose
 * status's guess. Drawn in the same pass as the rest: content that grows after the popup opened can keep
 * it from opening over a busy compose window.
 */
function renderDrafts(status: ComposeStatus, info: DraftsStatus | undefined): void {
  const drafts = element('drafts');
  const keepLocal = element<HTMLButtonElement>('drafts-keep-local');
  if (info === undefined) {
    drafts.textContent = t(`composeDrafts_${status.drafts.location}`, [status.drafts.accountName ?? '']);
    drafts.className = `drafts ${status.drafts.location}`;
    keepLocal.hidden = true;
    return;
  }
  // Whether this message is encrypted comes from the popup's own status (drawn in the same pass).
  const encrypt = status.encrypt || status.encryptRequired;
  const encrypted = encrypt && info.encryptsDrafts;
  const unsafe = info.location === 'server' && !encrypted;
  if (encrypt && info.autoEncryptDraftsOff) drafts.textContent = t('composeDraftsNotSaved');
  else if (encrypted && info.location !== 'unknown') drafts.textContent = t(`composeDraftsEncrypted_${info.location}`, [info.place]);
  else drafts.textContent = t(`composeDrafts_${info.location}`, [info.place]);
  drafts.className = `drafts ${unsafe ? 'server' : encrypted ? 'encrypted' : info.location}`;
  keepLocal.hidden = !info.canKeepLocal;
}

element('drafts-keep-local').addEventListener('click', () => {
  void (async () => {
    try {
      const status = await call('compose.status', { tabId });
      render(status, await draftsRequest('drafts.keepLocal', status));
    } catch (error) {
      showError(error);
    }
  })();
});

function showError(error: unknown): void {
  const box = element('error');
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

async function refresh(update?: { encrypt?: boolean; sign?: boolean; attachPublicKey?: boolean }): Promise<void> {
  let status: ComposeStatus;
  try {
    // Both at once, drawn in one pass (the drafts line takes "encrypted" from the status).
    let drafts: DraftsStatus | undefined;
    [status, drafts] = await Promise.all([
      update === undefined ? call('compose.status', { tabId }) : call('compose.choose', { tabId, ...update }),
      draftsRequest('drafts.status').catch(() => undefined),
    ]);
    render(status, drafts);
  } catch (error) {
    showError(error);
    return;
  }
  // Drawn already; what may be slow comes after, each part on its own.
  void renderWarnings(status);
  void lookUpAutomatically(status).catch(showError);
}

async function start(): Promise<void> {
  localizePage(document, t, api);
  const [tab] = await api.tabs.query({ active: true, currentWindow: true });
  if (tab?.id === undefined) {
    showError(t('composeNoTab'));
    return;
  }
  tabId = tab.id;
  encrypt.addEventListener('change', () => void refresh({ encrypt: encrypt.checked }));
  sign.addEventListener('change', () => void refresh({ sign: sign.checked }));
  attachPublicKey.addEventListener('change', () => void refresh({ attachPublicKey: attachPublicKey.checked }));
  element('manage').addEventListener('click', () => void call('compose.openKey', {}));
  await refresh();
}

void start();
