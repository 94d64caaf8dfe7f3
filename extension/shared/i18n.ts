/**
 * Page translation: elements carry `data-i18n` (text), `data-i18n-placeholder`, `data-i18n-aria-label`,
 * `data-i18n-title`, filled from _locales through `i18n.getMessage`. Text is set as text, never HTML.
 */
import type { BrowserApi } from '../platform/browser.ts';

export type Translate = (name: string, substitutions?: string | string[]) => string;

export function translator(api: Pick<BrowserApi, 'i18n'>): Translate {
  return (name, substitutions) => {
    // Message names allow only [A-Za-z0-9_@]; statuses such as `not-accepted` are looked up as `not_accepted`.
    const text = api.i18n.getMessage(name.replaceAll('-', '_'), substitutions);
    // A missing string shows its key, which a test or a reviewer notices at once.
    return text === '' ? name : text;
  };
}

const attributes: Array<[string, string]> = [
  ['data-i18n-placeholder', 'placeholder'],
  ['data-i18n-aria-label', 'aria-label'],
  ['data-i18n-title', 'title'],
];

export function localizePage(root: ParentNode, t: Translate, api: Pick<BrowserApi, 'i18n'>): void {
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n ?? '');
  }
  for (const [data, attribute] of attributes) {
    for (const element of root.querySelectorAll<HTMLElement>(`[${data}]`)) {
      element.setAttribute(attribute, t(element.getAttribute(data) ?? ''));
    }
  }
  const language = api.i18n.getUILanguage();
  if (language !== '') document.documentElement.lang = language;
}

/** A person's sentence for a failed request: the translated text of its stable code, else the core's English. */
export function errorText(t: Translate, api: Pick<BrowserApi, 'i18n'>, error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    const translated = api.i18n.getMessage(`error_${error.code}`);
    const detail = 'detail' in error && typeof error.detail === 'string' ? ` (${error.detail})` : '';
    if (translated !== '') return `${translated}${detail}`;
  }
  return error instanceof Error ? error.message : t('errorUnknown');
}
