/**
 * The compose button's popup: will this message go encrypted and signed (per-message toggles, the
 * defaults from the settings), each recipient's key status with a way to fix it (open the key in the
 * options page), the sender's own key, and where drafts of the message are saved. Everything it shows
 * comes from the background (send-status.ts), which also draws the button's badge.
 */
import { browserApi } from '../platform/browser.ts';
import { composeRequest, type ComposeRequestMap, type ComposeRequestName, type ComposeStatus } from '../shared/compose-messages.ts';
import { localizePage, translator } from '../shared/i18n.ts';

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

function render(status: ComposeStatus): void {
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
      const fix = document.createElement('button');
      fix.type = 'button';
      fix.className = 'open-key';
      fix.textContent = t(recipient.fingerprint === undefined ? 'composeFindKey' : 'composeOpenKey');
      fix.addEventListener('click', () => {
        void call('compose.openKey', recipient.fingerprint === undefined ? { address: recipient.address } : { fingerprint: recipient.fingerprint });
      });
      item.append(who, state, fix);
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
  const drafts = element('drafts');
  drafts.textContent = t(`composeDrafts_${status.drafts.location}`, [status.drafts.accountName ?? '']);
  drafts.className = `drafts ${status.drafts.location}`;
}

function showError(error: unknown): void {
  const box = element('error');
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

async function refresh(update?: { encrypt?: boolean; sign?: boolean; attachPublicKey?: boolean }): Promise<void> {
  try {
    render(update === undefined ? await call('compose.status', { tabId }) : await call('compose.choose', { tabId, ...update }));
  } catch (error) {
    showError(error);
  }
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
