/**
 * The options page: own keys per Thunderbird identity, correspondents' keys, settings, whole-keyring
 * backup. Every action is a typed request to the background, where the keyring lives; this page only
 * renders (as text nodes, never HTML) and offers files.
 */
// Types only: the core (and OpenPGP.js) stays in the background, out of this page's bundle.
import type { Acceptance, KeyProfile, RevocationReason } from '../../src/core/index.ts';
import { browserApi } from '../platform/browser.ts';
import { errorText, localizePage, translator } from '../shared/i18n.ts';
import { request, type FileOffer, type IdentityView, type ImportReportView, type KeyView, type RequestName, type RequestOf, type ResponseOf } from '../shared/messages.ts';
import { passphraseStrength } from './strength.ts';
import { KEYS_CHANGED_EVENT, startFinding } from './find.ts';
import { keyTarget, openKeyTarget } from './find-target.ts';
import { h } from '../shared/dom.ts';

const api = browserApi();
const t = translator(api);
const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.runtime.sendMessage(message), name, payload);

/** Correspondents' keys drawn at once; the search narrows the rest. */
const LIST_LIMIT = 100;
const DEFAULT_EXPIRY_DAYS = 3 * 365;

const dateFormat = new Intl.DateTimeFormat(api.i18n.getUILanguage() || undefined, { dateStyle: 'medium' });
const numberFormat = new Intl.NumberFormat(api.i18n.getUILanguage() || undefined);

// ---- small DOM helpers -------------------------------------------------------------------------------


function button(label: string, onClick: (event: MouseEvent) => void, props: Partial<Record<string, string | boolean>> = {}): HTMLButtonElement {
  const element = h('button', { type: 'button', ...props }, label);
  element.addEventListener('click', onClick);
  return element;
}

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`options.html has no #${id}`);
  return found as T;
}

function date(iso: string | undefined): string {
  return iso === undefined ? t('never') : dateFormat.format(new Date(iso));
}

function say(message: string, kind: 'success' | 'error' = 'success'): void {
  const status = byId('status');
  status.textContent = message;
  status.className = `status ${kind}`;
}

function fail(error: unknown): void {
  say(errorText(t, api, error), 'error');
}

/** Runs `action` with `control` disabled, reporting any failure in the status line. */
async function busy<T>(control: HTMLButtonElement | null, action: () => Promise<T>): Promise<T | undefined> {
  if (control !== null) control.disabled = true;
  try {
    return await action();
  } catch (error) {
    fail(error);
    return undefined;
  } finally {
    if (control !== null) control.disabled = false;
  }
}

/** Offers `offer` as a file download (a Blob URL: no permission, nothing leaves the machine). */
function offerFile(offer: FileOffer): void {
  const url = URL.createObjectURL(new Blob([offer.text], { type: 'application/octet-stream' }));
  const link = h('a', { href: url, download: offer.fileName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Key files are small; anything larger is refused before it is read into memory. */
const MAX_FILE_BYTES = 5 * 1024 * 1024;

/** A picked file as an import request: armored text as it is, binary OpenPGP data as base64. */
type KeyFile = { text: string } | { base64: string };

async function readFile(input: HTMLInputElement): Promise<KeyFile[]> {
  const files = [...(input.files ?? [])];
  const tooLarge = files.find((file) => file.size > MAX_FILE_BYTES);
  if (tooLarge !== undefined) {
    input.value = '';
    throw new Error(t('fileTooLarge', [tooLarge.name]));
  }
  return Promise.all(
    files.map(async (file) => {
      const bytes = new Uint8Array(await file.arrayBuffer());
      // Every OpenPGP packet starts with bit 7 set (RFC 9580 §4.2); armor and text never do.
      if (bytes.length > 0 && ((bytes[0] ?? 0) & 0x80) !== 0) {
        let binary = '';
        for (let offset = 0; offset < bytes.length; offset += 0x8000) binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
        return { base64: btoa(binary) };
      }
      return { text: new TextDecoder().decode(bytes) };
    }),
  );
}

function mergeReports(reports: ImportReportView[]): ImportReportView {
  return { imported: reports.flatMap((report) => report.imported), failed: reports.flatMap((report) => report.failed) };
}

function statusBadge(key: KeyView): HTMLElement {
  const good = key.status === 'usable';
  const bad = ['revoked', 'expired', 'invalid', 'rejected', 'no-encryption-key'].includes(key.status);
  return h('span', { className: `badge ${good ? 'good' : bad ? 'bad' : 'neutral'}` }, t(`keyStatus_${key.status}`));
}

function facts(key: KeyView): HTMLElement {
  return h(
    'dl',
    { className: 'facts' },
    h('dt', {}, t('fingerprint')),
    h('dd', { className: 'fingerprint' }, key.formattedFingerprint),
    h('dt', {}, t('userIDs')),
    h('dd', {}, h('ul', { className: 'plain' }, ...key.userIDs.map((userID) => h('li', {}, userID)))),
    h('dt', {}, t('algorithms')),
    h('dd', {}, key.algorithms.join(', ') + (key.version === 6 ? ` (${t('v6Key')})` : '')),
    h('dt', {}, t('created')),
    h('dd', {}, date(key.created)),
    h('dt', {}, t('expires')),
    h('dd', {}, date(key.expires)),
    h('dt', {}, t('status')),
    h('dd', {}, statusBadge(key), ' ', t(`keyStatusText_${key.status}`)),
  );
}

function importSummary(report: ImportReportView): HTMLElement {
  const list = h('ul', { className: 'plain' });
  for (const { result, key } of report.imported) {
    list.append(h('li', { className: 'success' }, t(result === 'added' ? 'importAdded' : 'importUpdated', [key.primaryUserID ?? key.fingerprint])));
  }
  for (const failure of report.failed) {
    list.append(h('li', { className: 'error' }, `${failure.fingerprint === undefined ? '' : `${failure.fingerprint}: `}${errorText(t, api, failure)}`));
  }
  return list;
}

// ---- my keys -------------------------------------------------------------------------------------------

let identities: IdentityView[] = [];

async function renderIdentities(): Promise<void> {
  identities = await call('identities.list', {});
  const container = byId('identities');
  container.replaceChildren();
  if (identities.length === 0) {
    container.append(h('p', { className: 'muted' }, t('noIdentities')));
  }
  for (const identity of identities) container.append(identityCard(identity));
  // Own keys whose address is not (or no longer) an identity are still shown.
  const shown = new Set(identities.flatMap((identity) => identity.keys.map((key) => key.fingerprint)));
  const others = (await call('keys.list', { secret: true, limit: 1000 })).keys.filter((key) => !shown.has(key.fingerprint));
  if (others.length > 0) {
    container.append(h('div', { className: 'identity' }, h('h3', {}, t('otherOwnKeys')), ...others.map((key) => ownKeyCard(key))));
  }
}

function identityCard(identity: IdentityView): HTMLElement {
  const title = identity.name === '' ? identity.email : `${identity.name} <${identity.email}>`;
  const card = h('div', { className: 'identity', 'data-email': identity.email }, h('h3', {}, title), h('p', { className: 'muted' }, t('account', [identity.accountName])));
  if (identity.keys.length === 0) card.append(h('p', {}, t('noOwnKey')));
  for (const key of identity.keys) card.append(ownKeyCard(key));
  const generateArea = h('div', { className: 'generate-area' });
  const open = button(identity.keys.length === 0 ? t('generateFirst') : t('generateAnother'), () => {
    open.hidden = true;
    generateArea.append(generateForm(identity, () => {
      generateArea.replaceChildren();
      open.hidden = false;
    }));
  }, { className: identity.keys.length === 0 ? 'primary generate-open' : 'generate-open' });
  card.append(open, generateArea);
  return card;
}

let formCounter = 0;

function generateForm(identity: IdentityView, close: () => void): HTMLElement {
  const id = `generate-${(formCounter += 1)}`;
  const passphrase = h('input', { type: 'password', id: `${id}-passphrase`, autocomplete: 'new-password', 'aria-describedby': `${id}-strength` });
  const repeat = h('input', { type: 'password', id: `${id}-repeat`, autocomplete: 'new-password' });
  const strength = h('span', { className: 'hint', id: `${id}-strength`, 'aria-live': 'polite' }, t('strength_empty'));
  const profile = h(
    'select',
    { id: `${id}-profile`, 'aria-describedby': `${id}-profile-warning` },
    ...(['default', 'rsa3072', 'rsa4096', 'rfc9580'] as KeyProfile[]).map((value) => h('option', { value }, t(`profile_${value}`))),
  );
  const profileWarning = h('p', { className: 'warning small', id: `${id}-profile-warning`, hidden: true }, t('profileV6Warning'));
  const expiry = h(
    'select',
    { id: `${id}-expiry` },
    ...[365, 2 * 365, DEFAULT_EXPIRY_DAYS, 5 * 365, 0].map((days) =>
      h('option', { value: String(days), ...(days === DEFAULT_EXPIRY_DAYS ? { selected: true } : {}) }, days === 0 ? t('expiryNever') : t('expiryYears', [String(days / 365)])),
    ),
  );
  const error = h('p', { className: 'error', role: 'alert', hidden: true });
  const create = h('button', { type: 'submit', className: 'primary' }, t('generateButton'));
  passphrase.addEventListener('input', () => {
    strength.textContent = t(`strength_${passphraseStrength(passphrase.value)}`);
  });
  profile.addEventListener('change', () => {
    profileWarning.hidden = profile.value !== 'rfc9580';
  });
  const form = h(
    'form',
    { className: 'generate', 'aria-label': t('generateFor', [identity.email]) },
    h('p', {}, t('generateIntro', [identity.email])),
    h('div', { className: 'field' }, h('label', { for: passphrase.id }, t('passphrase')), passphrase, strength),
    h('div', { className: 'field' }, h('label', { for: repeat.id }, t('passphraseRepeat')), repeat),
    h('div', { className: 'field' }, h('label', { for: profile.id }, t('keyType')), profile),
    profileWarning,
    h('div', { className: 'field' }, h('label', { for: expiry.id }, t('expiry')), expiry),
    error,
    h('div', { className: 'buttons' }, create, button(t('cancel'), close)),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const problem = passphrase.value === '' ? 'passphraseRequired' : passphraseStrength(passphrase.value) === 'tooShort' ? 'passphraseTooShort' : passphrase.value !== repeat.value ? 'passphraseMismatch' : undefined;
    if (problem !== undefined) {
      error.textContent = t(problem);
      error.hidden = false;
      (problem === 'passphraseMismatch' ? repeat : passphrase).focus();
      return;
    }
    error.hidden = true;
    create.textContent = t('generating');
    void busy(create, async () => {
      const days = Number(expiry.value);
      const generated = await call('keys.generate', {
        name: identity.name,
        email: identity.email,
        passphrase: passphrase.value,
        profile: profile.value as KeyProfile,
        expiresInDays: days === 0 ? null : days,
      });
      passphrase.value = '';
      repeat.value = '';
      await renderIdentities();
      showBackupOffer(generated.key, generated.backup);
    }).finally(() => {
      create.textContent = t('generateButton');
    });
  });
  queueMicrotask(() => passphrase.focus());
  return form;
}

/** Right after creation: the backup, offered before anything else. */
function showBackupOffer(key: KeyView, offer: FileOffer): void {
  const card = document.querySelector<HTMLElement>(`[data-fingerprint="${key.fingerprint}"]`);
  if (card === null) return;
  const save = button(t('saveBackupNow'), () => {
    offerFile(offer);
    void busy(save, async () => {
      await call('keys.markBackedUp', { fingerprint: key.fingerprint });
      await renderIdentities();
      say(t('backupSaved', [offer.fileName]));
    });
  }, { className: 'primary save-backup-now' });
  const box = h('div', { className: 'backup-offer', role: 'alert' }, h('h4', {}, t('keyReady')), h('p', {}, t('backupOfferText')), save);
  card.prepend(box);
  save.focus();
}

function ownKeyCard(key: KeyView): HTMLElement {
  const actions = h('div', { className: 'buttons' });
  const panel = h('div', { className: 'panel' });
  const card = h(
    'article',
    { className: 'own-key', 'data-fingerprint': key.fingerprint, 'aria-label': key.primaryUserID ?? key.fingerprint },
    h(
      'div',
      { className: 'own-key-title' },
      h('strong', {}, key.primaryUserID ?? key.formattedFingerprint),
      ' ',
      statusBadge(key),
      key.backedUp === false ? h('span', { className: 'badge bad not-backed-up' }, t('notBackedUp')) : null,
      key.unlocked ? h('span', { className: 'badge neutral' }, t('unlockedNow')) : null,
    ),
    facts(key),
    actions,
    panel,
  );
  const showPanel = (content: HTMLElement) => {
    panel.replaceChildren(content);
    content.querySelector<HTMLElement>('input, select, textarea, button')?.focus();
  };
  actions.append(
    button(t('saveBackup'), (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
      const offer = await call('keys.backupFile', { fingerprint: key.fingerprint });
      offerFile(offer);
      await call('keys.markBackedUp', { fingerprint: key.fingerprint });
      await renderIdentities();
      say(t('backupSaved', [offer.fileName]));
    }), { className: key.backedUp === false ? 'primary action-backup' : 'action-backup' }),
    button(t('exportPublic'), (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
      const offer = await call('keys.exportPublic', { fingerprint: key.fingerprint });
      offerFile(offer);
      say(t('exported', [offer.fileName]));
    }), { className: 'action-export' }),
    button(t('changePassphrase'), () => showPanel(changePassphrasePanel(key)), { className: 'action-change-passphrase' }),
    button(t('extendExpiry'), () => showPanel(extendPanel(key)), { disabled: key.revoked, className: 'action-extend' }),
    button(t('revoke'), () => showPanel(revokePanel(key)), { disabled: key.revoked, className: 'action-revoke' }),
    button(t('delete'), () => showPanel(deletePanel(key, true)), { className: 'danger action-delete' }),
  );
  return card;
}

function changePassphrasePanel(key: KeyView): HTMLElement {
  const id = `change-${(formCounter += 1)}`;
  const next = h('input', { type: 'password', id: `${id}-new`, autocomplete: 'new-password' });
  const repeat = h('input', { type: 'password', id: `${id}-repeat`, autocomplete: 'new-password' });
  const strength = h('span', { className: 'hint', 'aria-live': 'polite' }, t('strength_empty'));
  next.addEventListener('input', () => {
    strength.textContent = t(`strength_${passphraseStrength(next.value)}`);
  });
  const error = h('p', { className: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', className: 'primary' }, t('changePassphrase'));
  const form = h(
    'form',
    {},
    h('p', {}, t('changePassphraseIntro')),
    h('div', { className: 'field' }, h('label', { for: next.id }, t('newPassphrase')), next, strength),
    h('div', { className: 'field' }, h('label', { for: repeat.id }, t('passphraseRepeat')), repeat),
    error,
    h('div', { className: 'buttons' }, submit),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const problem = passphraseStrength(next.value) === 'tooShort' ? 'passphraseTooShort' : next.value !== repeat.value ? 'passphraseMismatch' : undefined;
    if (problem !== undefined) {
      error.textContent = t(problem);
      error.hidden = false;
      return;
    }
    void busy(submit, async () => {
      await call('keys.changePassphrase', { fingerprint: key.fingerprint, newPassphrase: next.value });
      await renderIdentities();
      say(t('passphraseChanged'));
    });
  });
  return form;
}

function extendPanel(key: KeyView): HTMLElement {
  const id = `extend-${(formCounter += 1)}`;
  const expiry = h(
    'select',
    { id },
    ...[365, 2 * 365, DEFAULT_EXPIRY_DAYS, 5 * 365, 0].map((days) =>
      h('option', { value: String(days), ...(days === DEFAULT_EXPIRY_DAYS ? { selected: true } : {}) }, days === 0 ? t('expiryNever') : t('expiryFromToday', [String(days / 365)])),
    ),
  );
  const submit = h('button', { type: 'submit', className: 'primary' }, t('extendExpiry'));
  const form = h('form', {}, h('div', { className: 'field' }, h('label', { for: id }, t('newExpiry')), expiry), h('p', { className: 'muted' }, t('extendIntro')), h('div', { className: 'buttons' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const days = Number(expiry.value);
    void busy(submit, async () => {
      await call('keys.extendExpiry', { fingerprint: key.fingerprint, expiresInDays: days === 0 ? null : days });
      await renderIdentities();
      say(t('expiryExtended'));
    });
  });
  return form;
}

function revokePanel(key: KeyView): HTMLElement {
  const id = `revoke-${(formCounter += 1)}`;
  const reason = h(
    'select',
    { id: `${id}-reason` },
    ...(['superseded', 'compromised', 'retired', 'unspecified'] as RevocationReason[]).map((value) => h('option', { value }, t(`revokeReason_${value}`))),
  );
  const certificate = h('textarea', { id: `${id}-certificate`, spellcheck: 'false' });
  const withKey = button(t('revokeWithPassphrase'), (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
    await call('keys.revoke', { fingerprint: key.fingerprint, reasonCode: reason.value as RevocationReason });
    await renderIdentities();
    say(t('revoked'));
  }), { className: 'danger' });
  const withCertificate = button(t('revokeWithCertificate'), (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
    await call('keys.revoke', { fingerprint: key.fingerprint, revocationCertificate: certificate.value });
    await renderIdentities();
    say(t('revoked'));
  }), { className: 'danger' });
  return h(
    'div',
    {},
    h('p', { className: 'warning' }, t('revokeWarning')),
    h('div', { className: 'field' }, h('label', { for: reason.id }, t('revokeReason')), reason),
    h('div', { className: 'buttons' }, withKey),
    h('details', {}, h('summary', {}, t('revokeCertificateSummary')), h('div', { className: 'field' }, h('label', { for: certificate.id }, t('revokeCertificateLabel')), certificate), withCertificate),
  );
}

function deletePanel(key: KeyView, own: boolean): HTMLElement {
  const confirm = button(t('deleteConfirm'), (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
    await call('keys.delete', { fingerprint: key.fingerprint });
    say(t('deleted', [key.primaryUserID ?? key.formattedFingerprint]));
    if (own) await renderIdentities();
    else {
      byId('key-details').hidden = true;
      await renderList();
    }
  }), { className: 'danger delete-confirm' });
  return h('div', { className: 'confirm', role: 'alertdialog', 'aria-label': t('delete') }, h('p', {}, t(own ? 'deleteOwnQuestion' : 'deleteQuestion', [key.primaryUserID ?? key.formattedFingerprint])), h('div', { className: 'buttons' }, confirm));
}

async function importSecret(): Promise<void> {
  const fileInput = byId<HTMLInputElement>('import-secret-file');
  const textInput = byId<HTMLTextAreaElement>('import-secret-text');
  const passphrase = byId<HTMLInputElement>('import-secret-passphrase');
  const result = byId('import-secret-result');
  const sources: KeyFile[] = [...(textInput.value.trim() === '' ? [] : [{ text: textInput.value }]), ...(await readFile(fileInput))];
  if (sources.length === 0) {
    result.replaceChildren(h('span', { className: 'error' }, t('importNothing')));
    return;
  }
  await busy(byId<HTMLButtonElement>('import-secret-button'), async () => {
    const reports: ImportReportView[] = [];
    for (const source of sources) reports.push(await call('keys.importSecret', { ...source, passphrase: passphrase.value }));
    result.replaceChildren(importSummary(mergeReports(reports)));
    passphrase.value = '';
    textInput.value = '';
    fileInput.value = '';
    await renderIdentities();
  });
}

// ---- correspondents' keys ------------------------------------------------------------------------------

let searchSequence = 0;
let selected: string | undefined;

/** Draws the first LIST_LIMIT keys matching the search; answers to older keystrokes are dropped. */
async function renderList(): Promise<void> {
  const query = byId<HTMLInputElement>('search').value;
  const sequence = (searchSequence += 1);
  const started = performance.now();
  const { total, keys } = await call('keys.list', { query, secret: false, limit: LIST_LIMIT });
  if (sequence !== searchSequence) return;
  const list = byId('key-list');
  const rows = document.createDocumentFragment();
  for (const key of keys) {
    const row = h(
      'button',
      { type: 'button', className: 'key-row', 'data-fingerprint': key.fingerprint, 'aria-pressed': String(key.fingerprint === selected) },
      h('span', { className: 'who' }, key.primaryUserID ?? key.formattedFingerprint),
      h('span', { className: 'fingerprint short' }, key.formattedFingerprint.slice(-19)),
      statusBadge(key),
    );
    row.addEventListener('click', () => void showDetails(key.fingerprint));
    rows.append(h('li', {}, row));
  }
  list.replaceChildren(rows);
  byId('key-count').textContent =
    total === 0 ? (query === '' ? t('noCorrespondents') : t('noMatch')) : total > keys.length ? t('countCapped', [numberFormat.format(keys.length), numberFormat.format(total)]) : total === 1 ? t('countOne') : t('count', [numberFormat.format(total)]);
  // For the harness: how long the last list took from request to drawn rows.
  document.body.dataset.listMs = (performance.now() - started).toFixed(1);
  document.body.dataset.listQuery = query;
  performance.mark('sigill-list-drawn');
}

async function showDetails(fingerprint: string): Promise<void> {
  selected = fingerprint;
  for (const row of document.querySelectorAll<HTMLElement>('.key-row')) row.setAttribute('aria-pressed', String(row.dataset.fingerprint === fingerprint));
  const key = await call('keys.get', { fingerprint });
  const details = byId('key-details');
  const acceptance = h('fieldset', { className: 'acceptance' }, h('legend', {}, t('acceptance')));
  for (const state of ['undecided', 'accepted', 'verified', 'rejected'] as Acceptance[]) {
    const input = h('input', { type: 'radio', name: 'acceptance', value: state, id: `acceptance-${state}`, ...(key.acceptance === state ? { checked: true } : {}) });
    input.addEventListener('change', () => void busy(null, async () => {
      const updated = await call('keys.setAcceptance', { fingerprint, acceptance: state });
      say(t('acceptanceSaved', [updated.primaryUserID ?? updated.formattedFingerprint, t(`acceptance_${state}`)]));
      await renderList();
      await showDetails(fingerprint);
    }));
    acceptance.append(h('label', { className: 'check', for: input.id }, input, h('span', {}, h('strong', {}, t(`acceptance_${state}`)), h('br'), h('span', { className: 'muted' }, t(`acceptanceHint_${state}`)))));
  }
  const panel = h('div', { className: 'panel' });
  details.replaceChildren(
    h('h3', {}, key.primaryUserID ?? key.formattedFingerprint),
    facts(key),
    acceptance,
    h(
      'div',
      { className: 'buttons' },
      button(t('exportPublic'), (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
        const offer = await call('keys.exportPublic', { fingerprint });
        offerFile(offer);
        say(t('exported', [offer.fileName]));
      })),
      button(t('delete'), () => {
        panel.replaceChildren(deletePanel(key, false));
        panel.querySelector('button')?.focus();
      }, { className: 'danger' }),
    ),
    panel,
  );
  details.hidden = false;
}

async function importPublic(payloads: Array<RequestOf<'keys.importPublic'>>, control: HTMLButtonElement | null): Promise<void> {
  await busy(control, async () => {
    const reports: ImportReportView[] = [];
    for (const payload of payloads) reports.push(await call('keys.importPublic', payload));
    const report = mergeReports(reports);
    byId('import-result').replaceChildren(importSummary(report), report.imported.length > 0 ? h('p', { className: 'muted' }, t('importAcceptHint')) : '');
    await renderList();
    const first = report.imported[0];
    if (first !== undefined && !first.key.secret) await showDetails(first.key.fingerprint);
  });
}

// ---- settings and backup -------------------------------------------------------------------------------

async function renderSettings(): Promise<void> {
  const settings = await call('settings.get', {});
  byId<HTMLInputElement>('encrypt-by-default').checked = settings.encryptByDefault;
  byId<HTMLInputElement>('sign-by-default').checked = settings.signByDefault;
  byId<HTMLInputElement>('unlock-minutes').value = String(settings.unlockMinutes);
  byId<HTMLInputElement>(`send-format-${settings.sendFormat}`).checked = true;
  byId<HTMLInputElement>('outer-subject').value = settings.outerSubject;
  byId<HTMLTextAreaElement>('inline-only').value = settings.inlineOnlyCorrespondents.join('\n');
  byId('unlocked-count').textContent = t('unlockedCount', [String(settings.unlockedKeys)]);
}

async function saveSetting(update: RequestOf<'settings.set'>): Promise<void> {
  await busy(null, async () => {
    const settings = await call('settings.set', update);
    byId('unlocked-count').textContent = t('unlockedCount', [String(settings.unlockedKeys)]);
    say(t('settingsSaved'));
  });
}

function wire(): void {
  byId('import-secret-button').addEventListener('click', () => void importSecret().catch(fail));
  byId<HTMLInputElement>('import-file').addEventListener('change', (event) => {
    const input = event.currentTarget as HTMLInputElement;
    void readFile(input)
      .then((files) => importPublic(files, null))
      .catch(fail)
      .finally(() => (input.value = ''));
  });
  byId('import-text-button').addEventListener('click', (event) => void importPublic([{ text: byId<HTMLTextAreaElement>('import-text').value }], event.currentTarget as HTMLButtonElement));
  byId('import-url-button').addEventListener('click', (event) => void importPublic([{ url: byId<HTMLInputElement>('import-url').value.trim() }], event.currentTarget as HTMLButtonElement));
  byId('search').addEventListener('input', () => void renderList().catch(fail));
  byId<HTMLInputElement>('encrypt-by-default').addEventListener('change', (event) => void saveSetting({ encryptByDefault: (event.currentTarget as HTMLInputElement).checked }));
  byId<HTMLInputElement>('sign-by-default').addEventListener('change', (event) => void saveSetting({ signByDefault: (event.currentTarget as HTMLInputElement).checked }));
  byId<HTMLInputElement>('unlock-minutes').addEventListener('change', (event) => {
    const value = Number((event.currentTarget as HTMLInputElement).value);
    void saveSetting({ unlockMinutes: value });
  });
  for (const format of ['pgp-mime', 'inline'] as const) {
    byId<HTMLInputElement>(`send-format-${format}`).addEventListener('change', (event) => {
      if ((event.currentTarget as HTMLInputElement).checked) void saveSetting({ sendFormat: format });
    });
  }
  byId<HTMLInputElement>('outer-subject').addEventListener('change', (event) => void saveSetting({ outerSubject: (event.currentTarget as HTMLInputElement).value }));
  byId<HTMLTextAreaElement>('inline-only').addEventListener('change', (event) => {
    const addresses = (event.currentTarget as HTMLTextAreaElement).value.split(/[\s,;]+/).filter((address) => address !== '');
    void saveSetting({ inlineOnlyCorrespondents: addresses });
  });
  byId('forget-button').addEventListener('click', (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
    const settings = await call('unlock.forget', {});
    byId('unlocked-count').textContent = t('unlockedCount', [String(settings.unlockedKeys)]);
    say(t('forgotten'));
    await renderIdentities();
  }));
  byId('backup-all-button').addEventListener('click', (event) => void busy(event.currentTarget as HTMLButtonElement, async () => {
    const offer = await call('keyring.backupFile', {});
    offerFile(offer);
    say(t('backupSaved', [offer.fileName]));
  }));
  byId<HTMLInputElement>('restore-file').addEventListener('change', (event) => {
    const input = event.currentTarget as HTMLInputElement;
    void busy(null, async () => {
      const [file] = await readFile(input);
      if (file === undefined) return;
      if (!('text' in file)) throw new Error(t('restoreNotBackup'));
      const text = file.text;
      const report = await call('keyring.restore', { text });
      byId('restore-result').replaceChildren(importSummary(report));
      input.value = '';
      await Promise.all([renderIdentities(), renderList()]);
    });
  });
}

/** `#key=<fingerprint|address>`: open that key's details, or "Find a key" for an address without one. */
async function openTarget(): Promise<void> {
  const opened = await openKeyTarget(keyTarget(window.location.hash), {
    has: async (fingerprint) => (await call('keys.get', { fingerprint }).then(() => true, () => false)),
    keyFor: async (address) => {
      const { keys } = await call('keys.list', { query: address, secret: false });
      const holding = keys.filter((key) => key.addresses.includes(address));
      return (holding.find((key) => key.status === 'usable') ?? holding[0])?.fingerprint;
    },
    showKey: async (fingerprint) => {
      await showDetails(fingerprint);
      byId('key-details').scrollIntoView({ block: 'start' });
    },
    prefillFind: (address) => {
      byId<HTMLInputElement>('find-address').value = address;
      byId('find-keys').scrollIntoView({ block: 'start' });
      byId<HTMLButtonElement>('find-button').focus();
    },
  });
  document.body.dataset.keyTarget = opened;
}

async function start(): Promise<void> {
  performance.mark('sigill-options-start');
  localizePage(document, t, api);
  wire();
  document.addEventListener(KEYS_CHANGED_EVENT, () => void renderList().catch(fail));
  await Promise.all([renderIdentities(), renderList(), renderSettings(), startFinding({ api, t, say })]);
  await openTarget();
  window.addEventListener('hashchange', () => void openTarget().catch(fail));
  performance.mark('sigill-options-ready');
  document.body.dataset.ready = 'true';
  document.body.dataset.openMs = performance.measure('sigill-options-open', 'sigill-options-start', 'sigill-options-ready').duration.toFixed(1);
}

void start().catch(fail);
