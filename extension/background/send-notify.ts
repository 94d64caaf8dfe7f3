/**
 * The notification shown when Sigill cancels a send: what was not sent, which recipient or step stopped
 * it, and where to fix it. A notification rather than a window: the compose window stays as it was and
 * keeps the focus, nothing has to be dismissed, and the compose button's popup shows the same problems
 * with a way to fix each (see compose/).
 */
import type { BrowserApi } from '../platform/browser.ts';
import type { FormatNotice, SendFailure } from './send.ts';

type Translate = (name: string, substitutions?: string | string[]) => string;

const fieldNames: Record<string, string> = { to: 'fieldTo', cc: 'fieldCc', bcc: 'fieldBcc', from: 'fieldFrom' };

/** Title and message of the notification, translated. */
export function sendFailureText(failure: SendFailure, t: Translate): { title: string; message: string } {
  const reason = (code: string, fallback: string) => {
    // "No such key." says too little about a recipient: say that no key is known for the address.
    const text = code === 'KEY_NOT_FOUND' ? t('sendNoKeyKnown') : t(`error_${code}`);
    return text === '' ? fallback : text;
  };
  let message: string;
  if (failure.step === 'recipients' && failure.problems.some((problem) => problem.address !== undefined)) {
    const lines = failure.problems.map((problem) => {
      const field = problem.field === undefined ? '' : ` (${t(fieldNames[problem.field] ?? 'fieldTo')})`;
      return `${problem.address ?? ''}${field}: ${reason(problem.code, problem.message)}`;
    });
    // The recipients first: a notification shows only a few lines, and who is missing a key matters most.
    message = `${lines.join('\n')}\n${t('sendCancelledRecipients')} ${t('sendCancelledFix')}`;
  } else {
    const first = failure.problems[0];
    const why = first === undefined ? '' : first.message;
    message = t(`sendCancelledStep_${failure.step}`, [why]);
  }
  return { title: t('sendCancelledTitle'), message };
}

/**
 * Shows the notification; `remember` keeps the text for the compose popup too (on a desktop without a
 * notification service the popup is where the reason can still be read).
 */
export function notifySendFailure(api: Pick<BrowserApi, 'notifications' | 'i18n' | 'runtime'>, remember?: (tabId: number, text: string) => void): (failure: SendFailure) => Promise<void> {
  const t: Translate = (name, substitutions) => api.i18n.getMessage(name, substitutions);
  return async (failure) => {
    const { title, message } = sendFailureText(failure, t);
    remember?.(failure.tabId, `${title}. ${message}`);
    await api.notifications.create(`sigill-send-${failure.tabId}-${Date.now()}`, { type: 'basic', title, message, iconUrl: api.runtime.getURL('icons/sigill-96.png') });
  };
}

/**
 * Shows that a message goes inline although the setting asks for PGP/MIME (the Experiment cannot work
 * in this Thunderbird): the send goes on, encrypted as before, but its subject and attachment names are
 * visible on the way.
 */
export function notifyFormatNotice(api: Pick<BrowserApi, 'notifications' | 'i18n' | 'runtime'>): (notice: FormatNotice) => Promise<void> {
  return async (notice) => {
    const title = api.i18n.getMessage('formatNoticeTitle');
    const message = api.i18n.getMessage('formatNoticeUnavailable', [notice.reason]);
    await api.notifications.create(`sigill-format-${notice.tabId}-${Date.now()}`, { type: 'basic', title, message, iconUrl: api.runtime.getURL('icons/sigill-96.png') });
  };
}
