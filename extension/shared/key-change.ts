/**
 * The key-change warning (KEY-SWAP) as every Sigill page shows it — options page, compose popup, message
 * status popup: whose key changed, the key still in use and the offered one as fingerprints one above the
 * other, where the new one came from, what to do, and the choices (keep the old key / use the new one /
 * open the key in the options page). The card never decides anything itself: until the user clicks, the
 * accepted key stays the one in use. Text is set as text, never HTML.
 */
import { h } from './dom.ts';
import { errorText, type Translate } from './i18n.ts';
import type { BrowserApi } from '../platform/browser.ts';
import type { KeyChangeWarningView } from './messages.ts';

/** A source's name for people ("Web Key Directory of the mail provider (WKD)" ...). */
export function sourceLabel(t: Translate, source: string): string {
  return source === 'wkd' ? t('sourceName_wkd') : source === 'vks' ? t('sourceName_vks') : source === 'autocrypt' ? t('sourceName_autocrypt') : t('sourceName_attachment');
}

export interface KeyChangeCardOptions {
  t: Translate;
  api: Pick<BrowserApi, 'i18n'>;
  /** The sentence under the title (the page says what happens to mail meanwhile). */
  text: string;
  /** Carries out the user's choice; a failure is shown inside the card and the buttons work again. */
  resolve(choice: 'accept' | 'reject'): Promise<void>;
  /** Opens the offered key in the options page (pages other than the options page). */
  openOptions?: () => Promise<void>;
}

export function keyChangeCard(warning: KeyChangeWarningView, options: KeyChangeCardOptions): HTMLElement {
  const { t, api } = options;
  const who = warning.inUse[0]?.userID ?? warning.offered.userID ?? warning.address;
  const problem = h('p', { className: 'error key-change-error', role: 'alert', hidden: true });
  const buttons: HTMLButtonElement[] = [];
  const act = (run: () => Promise<void>) => async (): Promise<void> => {
    for (const button of buttons) button.disabled = true;
    problem.hidden = true;
    try {
      await run();
    } catch (error) {
      problem.textContent = errorText(t, api, error);
      problem.hidden = false;
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  };
  const button = (className: string, label: string, run: () => Promise<void>): HTMLButtonElement => {
    const made = h('button', { type: 'button', className }, label);
    made.addEventListener('click', () => void act(run)());
    buttons.push(made);
    return made;
  };
  const line = (label: string, fingerprint: string, extra: string): HTMLElement =>
    h('div', { className: 'key-change-key' }, h('span', { className: 'key-change-label' }, label), h('span', { className: 'fingerprint' }, fingerprint), h('span', { className: 'muted' }, extra));
  return h(
    'article',
    { className: 'key-change', role: 'alert', 'data-address': warning.address, 'data-offered': warning.offered.fingerprint },
    h('h3', {}, t('keyChangeTitle', [who])),
    h('p', {}, options.text),
    ...warning.inUse.map((key) => line(t('keyChangeInUse'), key.formattedFingerprint, t(key.acceptance === 'verified' ? 'keyChangeVerified' : 'keyChangeAcceptedOld'))),
    line(t('keyChangeOffered'), warning.offered.formattedFingerprint, t('keyChangeOfferedFrom', [warning.offered.origin])),
    h('p', {}, t('keyChangeAdvice')),
    h(
      'div',
      { className: 'buttons' },
      button('primary key-change-reject', t('keyChangeReject'), () => options.resolve('reject')),
      button('key-change-accept', t('keyChangeAccept'), () => options.resolve('accept')),
      options.openOptions === undefined ? null : button('key-change-open', t('keyChangeOpenOptions'), options.openOptions),
    ),
    problem,
  );
}
