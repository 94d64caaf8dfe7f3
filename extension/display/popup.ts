/**
 * Sigill's status popup (message display action): everything about the displayed message that the body
 * must not claim for itself: what was encrypted, who signed and when, with the key's fingerprint, why
 * decryption failed (with a retry for a cancelled or wrong passphrase), the attachments (saved decrypted
 * on request, with their decrypted size once known) and keys that came with the message — attached or in
 * its Autocrypt header — offered for import ("Import key of …" as undecided, or accepted); a key that
 * differs from the one accepted for the sender shows the key-change warning with both fingerprints and
 * changes nothing by itself.
 */
import type { ReadError } from '../../src/core/index.ts';
import { browserApi } from '../platform/browser.ts';
import { errorText, localizePage, translator } from '../shared/i18n.ts';
import { keyChangeCard, sourceLabel } from '../shared/key-change.ts';
import { headlineOf } from './headline.ts';
import { request, type KeyChangeWarningView, type RequestName, type RequestOf, type ResponseOf } from '../shared/messages.ts';
import type { AttachmentSummary, MessageView, OfferedKeyView, SignerView } from '../shared/read-view.ts';

const api = browserApi();
const t = translator(api);
const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.runtime.sendMessage(message), name, payload);
const language = api.i18n.getUILanguage() || undefined;
const dateFormat = new Intl.DateTimeFormat(language, { dateStyle: 'long', timeStyle: 'short' });
const numberFormat = new Intl.NumberFormat(language, { maximumFractionDigits: 1 });
const root = document.getElementById('status') as HTMLElement;

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (name === 'className') element.className = value;
    else element.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

function button(label: string, onClick: (control: HTMLButtonElement) => Promise<void>, props: Partial<Record<string, string>> = {}): HTMLButtonElement {
  const control = h('button', { type: 'button', ...props }, label);
  control.addEventListener('click', () => {
    control.disabled = true;
    onClick(control).finally(() => (control.disabled = false));
  });
  return control;
}

function size(bytes: number): string {
  if (bytes < 1024) return t('sizeBytes', String(bytes));
  if (bytes < 1024 * 1024) return t('sizeKiB', numberFormat.format(bytes / 1024));
  return t('sizeMiB', numberFormat.format(bytes / (1024 * 1024)));
}

function headline(view: MessageView): { text: string; className: string } {
  const { key, className } = headlineOf(view);
  return { text: t(key), className };
}

function signerBlock(signer: SignerView, title?: string): HTMLElement {
  const who = signer.userID ?? t('signerUnknownKey', signer.keyID);
  const line = signer.status === 'good' ? t('signerGood', who) : t(`signerStatus_${signer.status}`, who);
  return h(
    'div',
    { className: 'signer', 'data-status': signer.status },
    title === undefined ? null : h('p', { className: 'muted' }, title),
    h('p', { className: signer.status === 'good' ? 'state-ok' : 'state-bad' }, line),
    signer.matchesFrom === false ? h('p', { className: 'state-warn' }, t('signerNotFrom')) : null,
    h(
      'dl',
      { className: 'facts' },
      h('dt', {}, t('signedAt')),
      h('dd', {}, dateFormat.format(new Date(signer.created))),
      h('dt', {}, t('fingerprint')),
      h('dd', { className: 'fingerprint' }, signer.fingerprint),
      signer.acceptance === undefined ? null : h('dt', {}, t('keyAcceptance')),
      signer.acceptance === undefined ? null : h('dd', {}, t(`acceptance_${signer.acceptance}`)),
    ),
  );
}

function errorBlock(error: ReadError, view: MessageView): HTMLElement {
  const text = api.i18n.getMessage(`readError_${error.code}`) || error.message;
  return h(
    'div',
    { className: 'state-warn', 'data-code': error.code },
    h('p', {}, error.where === 'body' ? text : t('readErrorIn', [error.where, text])),
    error.code === 'NOT_ENCRYPTED_FOR_US' && error.keyIDs !== undefined && error.keyIDs.length > 0 ? h('p', { className: 'fingerprint' }, t('readErrorKeyIDs', error.keyIDs.join(', '))) : null,
    error.retryable
      ? h('div', { className: 'buttons' }, button(t('readRetry'), async () => draw(await call('read.retry', { messageId: view.messageId })), { id: 'retry' }))
      : null,
  );
}

function attachmentBlock(attachment: AttachmentSummary, view: MessageView): HTMLElement {
  const status = h('p', { className: 'status', role: 'status' });
  const kind = attachment.encrypted || attachment.deferred ? t('attachmentEncrypted') : t('attachmentNotEncrypted');
  // Until it is decrypted, only the size of the ciphertext is known, and it is labelled so.
  const sizeText = (bytes: number, ofCiphertext: boolean): string => (ofCiphertext ? t('attachmentSizeEncrypted', size(bytes)) : size(bytes));
  const facts = h('p', { className: 'muted facts-line' }, `${attachment.contentType} · ${sizeText(attachment.size, attachment.sizeOfCiphertext)} · ${kind}`);
  return h(
    'div',
    { className: 'attachment', 'data-name': attachment.name },
    h('p', { className: 'name' }, attachment.name),
    facts,
    attachment.detachedSignature === undefined ? null : signerBlock(attachment.detachedSignature, t('attachmentSignature')),
    attachment.error === undefined ? null : h('p', { className: 'error' }, api.i18n.getMessage(`readError_${attachment.error.code}`) || attachment.error.message),
    h(
      'div',
      { className: 'buttons' },
      button(
        t('attachmentSave'),
        async () => {
          status.textContent = t('attachmentSaving');
          try {
            const saved = await call('read.saveAttachment', { messageId: view.messageId, index: attachment.index });
            status.textContent = t('attachmentSaved', saved.fileName);
            facts.textContent = `${attachment.contentType} · ${sizeText(saved.size, false)} · ${kind}`;
          } catch (error) {
            status.textContent = errorText(t, api, error);
          }
        },
        { className: 'save', 'data-index': String(attachment.index) },
      ),
    ),
    status,
  );
}

function openInOptions(fingerprint: string): Promise<void> {
  return api.tabs.create({ url: api.runtime.getURL(`options/options.html#key=${encodeURIComponent(fingerprint.replace(/\s+/g, ''))}`) }).then(() => undefined);
}

function keyChangeBlock(warning: KeyChangeWarningView): HTMLElement {
  return keyChangeCard(warning, {
    t,
    api,
    text: t('offeredKeyChangeText', [warning.address, sourceLabel(t, warning.offered.source)]),
    resolve: async (choice) => {
      await call('keys.resolveWarning', { address: warning.address, fingerprint: warning.offered.fingerprint, choice });
      draw(await call('read.status', { tabId: await shownTab() }));
    },
    openOptions: () => openInOptions(warning.offered.fingerprint),
  });
}

function offeredBlock(offered: OfferedKeyView, view: MessageView): HTMLElement {
  const status = h('p', { className: 'status', role: 'status' });
  const who = offered.userIDs.join(', ') || offered.fingerprint;
  const importButton = (label: string, accept: boolean, className: string): HTMLButtonElement =>
    button(
      label,
      async () => {
        try {
          const report = await call('read.importKey', { messageId: view.messageId, index: offered.index, accept });
          if (report.failed.length > 0) {
            status.textContent = report.failed[0]?.message ?? '';
            return;
          }
          // Redrawn from the keyring: acceptance, and the key-change warning when the key differs from an accepted one.
          draw(await call('read.status', { tabId: await shownTab() }));
        } catch (error) {
          status.textContent = errorText(t, api, error);
        }
      },
      { className, 'data-index': String(offered.index) },
    );
  const actions: Child[] = [];
  if (offered.keyChange === undefined && offered.decision !== 'ignore') {
    if (offered.acceptance === undefined) {
      actions.push(importButton(t('offeredKeyImportOf', who), false, 'import'));
      if (offered.namesSender) actions.push(importButton(t('offeredKeyImportAccept'), true, 'import-accept'));
    } else if (offered.acceptance === 'undecided' && offered.namesSender) {
      actions.push(importButton(t('offeredKeyAccept'), true, 'import-accept'));
    }
  }
  return h(
    'div',
    { className: 'offered', 'data-fingerprint': offered.fingerprint, 'data-source': offered.source },
    h('p', {}, t('offeredKey', who)),
    h('p', { className: 'fingerprint' }, offered.fingerprint),
    h('p', { className: 'muted offered-source' }, offered.source === 'autocrypt' ? t('offeredKeyFromAutocrypt') : t('offeredKeyFromAttachment', offered.from)),
    offered.encrypted ? null : h('p', { className: 'muted' }, t('offeredKeyInClear')),
    offered.keyChange !== undefined
      ? keyChangeBlock(offered.keyChange)
      : offered.others.length === 0
        ? null
        : h(
            'div',
            { className: 'state-warn' },
            h('p', {}, t('offeredKeyOthers')),
            ...offered.others.map((other) => h('p', { className: 'fingerprint' }, `${other.fingerprint} — ${other.userID} (${t(`acceptance_${other.acceptance}`)})`)),
          ),
    offered.acceptance === undefined ? null : h('p', { className: 'muted offered-state' }, t('offeredKeyKnown', t(`acceptance_${offered.acceptance}`))),
    actions.length === 0 ? null : h('div', { className: 'buttons' }, ...actions),
    status,
  );
}

function draw(view: MessageView | null): void {
  if (view === null) {
    root.replaceChildren(h('h1', { id: 'headline' }, t('statusNoMessage')));
    document.body.dataset.ready = 'true';
    return;
  }
  const top = headline(view);
  const sections: Child[] = [h('h1', { id: 'headline', className: top.className }, top.text)];
  if (view.openpgp) {
    // When the body could not be decrypted, nothing can be said of what it held (nor of a signature inside it).
    const bodyFailed = view.errors.some((error) => error.where === 'body');
    if (!bodyFailed) sections.push(h('p', { id: 'encryption' }, t(`encryptionState_${view.encryption.replaceAll('-', '_')}`)));
    if (view.protectedSubject !== undefined) sections.push(h('p', { id: 'protected-subject' }, t('protectedSubject', view.protectedSubject)));
    if (view.unprotectedParts > 0) sections.push(h('p', { className: 'state-warn', id: 'unprotected' }, t('unprotectedParts', String(view.unprotectedParts))));
    for (const error of view.errors) sections.push(errorBlock(error, view));
    if (view.signers.length > 0) {
      sections.push(h('h2', {}, t('signaturesHeading')), ...view.signers.map((signer) => signerBlock(signer)));
    } else if (view.signature === 'not-signed' && !bodyFailed) {
      sections.push(h('p', { id: 'not-signed', className: 'muted' }, t('notSigned')));
    }
    for (const warning of view.warnings) {
      if (warning.code === 'SIGNER_NOT_FROM') continue; // shown with the signer
      if (warning.code === 'UNPROTECTED_PARTS' && view.unprotectedParts > 0) continue; // said above, with the count
      sections.push(h('p', { className: 'state-warn', 'data-warning': warning.code }, api.i18n.getMessage(`readWarning_${warning.code}`) || warning.message));
    }
    if (view.attachments.length > 0) sections.push(h('h2', {}, t('attachmentsHeading')), ...view.attachments.map((attachment) => attachmentBlock(attachment, view)));
  }
  // Keys come with plain mail too (an Autocrypt header, an attached key).
  if (view.offeredKeys.length > 0) sections.push(h('h2', {}, t('offeredKeysHeading')), ...view.offeredKeys.map((offered) => offeredBlock(offered, view)));
  root.replaceChildren(...sections.filter((child): child is Node | string => Boolean(child)));
  document.body.dataset.ready = 'true';
}

/**
 * The tabs that may show the message the button was clicked for: the active tab of the popup's own
 * window first. Right after another window closed (the passphrase prompt) Thunderbird can still name
 * that one "current", so the active tabs of the other windows follow.
 */
async function candidateTabs(): Promise<number[]> {
  const current = await api.tabs.query({ active: true, currentWindow: true });
  const active = await api.tabs.query({ active: true });
  const ids = [...current, ...active].map((tab) => tab.id).filter((id): id is number => id !== undefined);
  return [...new Set(ids)];
}

/** The tab whose message the popup shows. */
let drawnTab: number | undefined;
async function shownTab(): Promise<number> {
  if (drawnTab !== undefined) return drawnTab;
  const [first] = await candidateTabs();
  if (first === undefined) throw new Error(t('statusNoMessage'));
  return first;
}

async function start(): Promise<void> {
  localizePage(document, t, api);
  try {
    for (const tabId of await candidateTabs()) {
      const view = await call('read.status', { tabId });
      if (view !== null) {
        drawnTab = tabId;
        draw(view);
        return;
      }
    }
    draw(null);
  } catch (error) {
    root.replaceChildren(h('p', { className: 'error' }, errorText(t, api, error)));
    document.body.dataset.ready = 'true';
  }
}

void start();
