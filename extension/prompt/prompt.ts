/**
 * The passphrase prompt window: says which key and why, sends each passphrase to the background,
 * which tries it; a wrong one is reported here and the field is cleared for another try. Enter
 * submits, Escape or Cancel cancels (closing the window cancels too).
 */
import { browserApi } from '../platform/browser.ts';
import { errorText as describeError, localizePage, translator } from '../shared/i18n.ts';
import { request, RequestError, type RequestName, type RequestOf, type ResponseOf } from '../shared/messages.ts';

const api = browserApi();
const t = translator(api);
const call = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.runtime.sendMessage(message), name, payload);

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`prompt.html has no #${id}`);
  return found as T;
}

const requestId = new URLSearchParams(location.search).get('request') ?? '';
const form = element<HTMLFormElement>('form');
const passphrase = element<HTMLInputElement>('passphrase');
const errorText = element<HTMLParagraphElement>('error');
const submit = element<HTMLButtonElement>('submit');
let busy = false;

function showError(message: string): void {
  errorText.textContent = message;
  errorText.hidden = false;
  passphrase.setAttribute('aria-invalid', 'true');
}

async function cancel(): Promise<void> {
  try {
    await call('prompt.cancel', { requestId });
  } finally {
    window.close();
  }
}

async function start(): Promise<void> {
  localizePage(document, t, api);
  try {
    const info = await call('prompt.info', { requestId });
    element('reason').textContent = t(`promptReason_${info.reason}`);
    element('user-id').textContent = info.userID;
    element('fingerprint').textContent = info.fingerprint;
    document.title = `${t('promptTitle')} — ${info.userID}`;
  } catch (error) {
    showError(error instanceof RequestError && error.code === 'CANCELLED' ? t('promptGone') : describeError(t, api, error));
    submit.disabled = true;
    passphrase.disabled = true;
    return;
  }
  passphrase.focus();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (busy) return;
  busy = true;
  submit.disabled = true;
  errorText.hidden = true;
  void call('prompt.submit', { requestId, passphrase: passphrase.value })
    .then(() => window.close())
    .catch((error: unknown) => {
      if (error instanceof RequestError && error.code === 'BAD_PASSPHRASE') {
        showError(passphrase.value === '' ? t('promptEmpty') : t('promptWrong'));
        passphrase.value = '';
        passphrase.focus();
      } else {
        showError(describeError(t, api, error));
      }
    })
    .finally(() => {
      busy = false;
      submit.disabled = false;
    });
});

element('cancel').addEventListener('click', () => void cancel());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    event.preventDefault();
    void cancel();
  }
});

void start();
