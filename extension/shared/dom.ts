/**
 * The one small DOM builder Sigill's pages use: elements are made with properties and children, and text is
 * always appended as text nodes (never parsed as HTML).
 */
export type Child = Node | string | null | undefined | false;

/** `h('button', { className: 'primary', disabled: true }, 'Save')`; false/null/undefined props and children are skipped. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string | boolean>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (name === 'className') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}
