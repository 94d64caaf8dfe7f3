/**
 * Sigill's message display script: runs in the message pane of every displayed message. It asks the
 * background what to show; for mail with OpenPGP content that was decrypted or verified it replaces the
 * body with that content ALONE (EFAIL: nothing of the mail around it is kept, so no attacker part can
 * wrap or exfiltrate it), text as text nodes and HTML only as the background's HTML policy returned it
 * (already sanitized: nothing in it can load). Mail without OpenPGP content is left untouched.
 *
 * The status (encrypted, signed by whom) is never drawn here: a body can draw anything, so a status in
 * the body could be faked by the mail itself (SIG-UI). It lives in Sigill's message display action.
 *
 * A content script cannot be an ES module, so this file imports nothing at run time (types only) and
 * reaches the one API it needs, runtime messaging, through the content script's `browser` global.
 */
import type { DisplayPart } from '../../src/core/index.ts';
import type { DisplayContent } from '../shared/read-view.ts';

interface Reply {
  ok: boolean;
  value?: DisplayContent;
  error?: { code: string; message: string };
}

const LINK = /\bhttps?:\/\/[^\s<>"'`]+/g;
/** Punctuation that ends a sentence rather than a URL. */
const TRAILING = /[.,;:!?)\]}]+$/;

function link(url: string): HTMLAnchorElement | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  } catch {
    return undefined;
  }
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer';
  anchor.textContent = url;
  return anchor;
}

/** One line of text with its http(s) URLs made into links; everything else stays a text node. */
function lineNodes(line: string): Node[] {
  const nodes: Node[] = [];
  let last = 0;
  for (const match of line.matchAll(LINK)) {
    const url = match[0].replace(TRAILING, '');
    const anchor = link(url);
    if (anchor === undefined) continue;
    nodes.push(document.createTextNode(line.slice(last, match.index)), anchor);
    last = match.index + url.length;
  }
  nodes.push(document.createTextNode(line.slice(last)));
  return nodes;
}

/** Plain text: lines as text nodes, runs of quoted lines ("> ") in a blockquote per depth. */
function textPart(text: string): HTMLElement {
  const root = document.createElement('div');
  root.className = 'sigill-text';
  const stack: HTMLElement[] = [root];
  for (const line of text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n')) {
    const depth = /^(>\s?)*/.exec(line)?.[0].replace(/[^>]/g, '').length ?? 0;
    while (stack.length - 1 > depth) stack.pop();
    while (stack.length - 1 < depth) {
      const quote = document.createElement('blockquote');
      quote.className = 'sigill-quote';
      (stack[stack.length - 1] as HTMLElement).append(quote);
      stack.push(quote);
    }
    const target = stack[stack.length - 1] as HTMLElement;
    target.append(...lineNodes(depth > 0 ? line.replace(/^(>\s?)+/, '') : line), document.createElement('br'));
  }
  return root;
}

/** HTML exactly as the background's policy returned it, parsed in an inert document (nothing runs or loads there). */
function htmlPart(html: string): HTMLElement {
  const root = document.createElement('div');
  root.className = 'sigill-html';
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  root.append(...[...parsed.body.childNodes].map((node) => document.adoptNode(node)));
  return root;
}

/**
 * The content's style, added by the script itself: a registered display stylesheet is injected again each
 * time Sigill's background starts afresh (Thunderbird suspends an idle Manifest V3 background), and a
 * second copy of the same sheet makes Thunderbird's injection fail.
 */
const STYLE = `
#sigill-content {
  font: message-box;
  font-size: 100%;
  line-height: 1.45;
  padding: 0.5em 1em 1.5em;
  max-width: 60em;
}
#sigill-content .sigill-subject {
  font-size: 1.35em;
  margin: 0.3em 0 0.8em;
}
#sigill-content .sigill-text {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-family: monospace;
}
#sigill-content .sigill-quote {
  margin: 0.2em 0 0.2em 0.2em;
  padding-left: 0.8em;
  border-left: 3px solid #8f8f9d;
  color: #5b5b66;
}
#sigill-content hr {
  border: none;
  border-top: 1px solid #cfcfd8;
  margin: 1.2em 0;
}
@media (prefers-color-scheme: dark) {
  #sigill-content .sigill-quote { color: #bfbfc9; }
}
`;

function render(content: DisplayContent): void {
  const container = document.createElement('div');
  container.id = 'sigill-content';
  if (content.protectedSubject !== undefined) {
    const subject = document.createElement('h1');
    subject.className = 'sigill-subject';
    subject.textContent = content.protectedSubject;
    container.append(subject);
  }
  content.parts.forEach((part: DisplayPart, index) => {
    if (index > 0) container.append(document.createElement('hr'));
    container.append(part.kind === 'html' ? htmlPart(part.content) : textPart(part.content));
  });
  // The mail's own styles go with its body: they could hide or restyle what is shown now.
  for (const sheet of document.querySelectorAll('style, link')) sheet.remove();
  for (const attribute of [...document.body.attributes]) document.body.removeAttribute(attribute.name);
  const style = document.createElement('style');
  style.textContent = STYLE;
  document.head.append(style);
  document.body.replaceChildren(container);
  document.documentElement.dataset.sigill = 'shown';
}

async function show(): Promise<void> {
  const reply = (await browser.runtime.sendMessage({ sigill: 'read.display', payload: {} })) as Reply | undefined;
  if (reply?.ok === true && reply.value !== undefined && reply.value.parts.length > 0) render(reply.value);
  else if (document.documentElement.dataset.sigill !== 'shown') document.documentElement.dataset.sigill = 'untouched';
}

browser.runtime.onMessage.addListener((message: unknown) => {
  if (typeof message === 'object' && message !== null && (message as { sigill?: unknown }).sigill === 'display.refresh') void show();
});
void show().catch((error: unknown) => console.error('sigill: the message could not be shown', error));
