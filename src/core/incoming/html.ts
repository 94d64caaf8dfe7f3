/**
 * The HTML policy for showing mail: DOMPurify (injected: the core has no DOM) configured so that the
 * sanitized HTML can make no request of any kind when shown, and links open outside the message.
 *
 * EFAIL's direct exfiltration (DE) and read receipts alike need the shown HTML to load something: an
 * image (src, srcset, lowsrc, input type=image, video poster, background attributes), a style sheet
 * or font (<style>, <link>, @import, url() in a style attribute), a frame or object, a form action, a
 * <base> that re-targets relative URLs, a meta refresh, a ping, SVG references. Everything that can
 * load is removed; what stays is text, layout and links (which load only when clicked, in the
 * browser, with noopener/noreferrer). Styles that lift an element over others (position fixed,
 * absolute, sticky) go too, so a body cannot cover what the display shows around it (SIG-UI).
 */
import type { Config, DOMPurify, UponSanitizeAttributeHookEvent } from 'dompurify';

/** Elements that load, embed, submit, re-target or run something; removed with their content. */
const forbiddenTags = [
  'base', 'link', 'meta', 'style', 'script', 'noscript', 'template', 'iframe', 'frame', 'frameset', 'object', 'embed',
  'applet', 'param', 'form', 'input', 'button', 'select', 'option', 'textarea', 'keygen', 'video', 'audio', 'source',
  'track', 'picture', 'image', 'svg', 'math', 'canvas', 'portal', 'bgsound', 'marquee', 'map', 'area', 'xml', 'xmp', 'plaintext', 'listing', 'dialog',
];

/** Attributes that load (or submit, or ping) a URL, on any element. */
const forbiddenAttributes = [
  'src', 'srcset', 'lowsrc', 'dynsrc', 'background', 'poster', 'action', 'formaction', 'ping', 'data', 'codebase', 'cite',
  'longdesc', 'usemap', 'manifest', 'icon', 'profile', 'archive', 'classid', 'xlink:href', 'xmlns', 'srcdoc', 'itemtype', 'itemid', 'integrity',
  'imagesrcset', 'imagesizes', 'attributionsrc', 'sizes', 'http-equiv', 'content', 'autofocus',
];

const config: Config = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: forbiddenTags,
  FORBID_ATTR: forbiddenAttributes,
  ALLOW_DATA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  // Only what a link may point to; applied by DOMPurify to every URI attribute left.
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ADD_ATTR: ['target'],
};

/**
 * Whether a CSS text could load something. CSS escapes (`u\72l(`), comments and `image-set("x")`
 * without url() all load, so any backslash or comment is refused outright rather than decoded.
 */
export function cssCanLoad(css: string): boolean {
  const lower = css.toLowerCase();
  if (/[\\]|\/\*|&/.test(lower)) return true;
  return /url\s*\(|image-set|image\s*\(|cross-fade|element\s*\(|src\s*\(|@import|@font-face|expression\s*\(|behavior\s*:|-moz-binding|paint\s*\(/.test(lower);
}

/**
 * Whether a CSS text takes an element out of the flow so that it can cover other content: a body that
 * draws a fake status banner over whatever the display puts around it (SIG-UI).
 */
export function cssCanOverlay(css: string): boolean {
  return /position\s*:\s*(?:fixed|absolute|sticky)/i.test(css);
}

function onAttribute(node: Element, data: UponSanitizeAttributeHookEvent): void {
  const name = data.attrName.toLowerCase();
  if (name === 'style' && (cssCanLoad(data.attrValue) || cssCanOverlay(data.attrValue))) {
    data.keepAttr = false;
    return;
  }
  // A URL only on links (which load nothing until clicked).
  if (name === 'href' && node.nodeName.toLowerCase() !== 'a') data.keepAttr = false;
}

function afterAttributes(node: Element): void {
  if (node.nodeName.toLowerCase() !== 'a') return;
  if (node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  } else {
    node.removeAttribute('target');
  }
}

/**
 * Sanitizes mail HTML with the given DOMPurify instance (from the page's window in the extension,
 * from jsdom in Node). The hooks are added for this call only and removed after it, so the instance
 * stays usable for other policies.
 */
export function sanitizeHtml(purify: DOMPurify, html: string): string {
  purify.addHook('uponSanitizeAttribute', onAttribute);
  purify.addHook('afterSanitizeAttributes', afterAttributes);
  try {
    return purify.sanitize(html, { ...config, RETURN_DOM: false, RETURN_DOM_FRAGMENT: false });
  } finally {
    purify.removeHook('uponSanitizeAttribute', onAttribute);
    purify.removeHook('afterSanitizeAttributes', afterAttributes);
  }
}

/** A `sanitizeHtml` bound to one DOMPurify instance, as `read()` takes it. */
export function htmlSanitizer(purify: DOMPurify): (html: string) => string {
  return (html) => sanitizeHtml(purify, html);
}
