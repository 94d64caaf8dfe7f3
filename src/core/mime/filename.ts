/**
 * Attachment names as a sender chose them are attacker input (NAMES): `../` walks out of a download
 * folder, U+202E (RIGHT-TO-LEFT OVERRIDE) makes `txt.exe` read as `exe.txt`, control characters and
 * line breaks forge lines in a dialog, `CON` or `aux.txt` are devices on Windows, and a name of
 * thousands of characters breaks file systems and layouts. `sanitizeFilename` returns a name that is
 * safe to show and to save on every platform.
 */

export interface SanitizeFilenameOptions {
  /** Used when nothing usable is left; default 'attachment'. */
  fallback?: string;
  /** Longest result in UTF-16 code units; default 120 (well under the 255 bytes of common file systems). */
  maxLength?: number;
}

// C0 and C1 controls and DEL.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controls = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional formatting (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM), zero-width
// characters, line/paragraph separators, the byte order mark, interlinear annotations, tag characters
// and variation selectors: invisible characters that change how a name reads. Listed by code point on
// purpose (the rule warns about combining marks in a class, which is what is being removed).
// eslint-disable-next-line no-misleading-character-class
const invisible = /[\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]/gu;
// Characters Windows forbids in names, and path separators everywhere.
const forbidden = /[<>:"/\\|?*]/g;
// Windows device names, with or without an extension (RFC 6266 §4.3 asks receivers to guard against them).
const reserved = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$|clock\$)(?:\..*)?$/i;

export function sanitizeFilename(name: string | undefined, options: SanitizeFilenameOptions = {}): string {
  const fallback = options.fallback ?? 'attachment';
  const maxLength = Math.max(8, options.maxLength ?? 120);
  if (!name) return fallback;
  // Only the last path segment: a name is never a path (`../../.bashrc` → `.bashrc` → `bashrc`).
  const segments = name.normalize('NFC').split(/[/\\]/);
  let result = segments.filter((segment) => segment.trim() !== '' && segment !== '.' && segment !== '..').pop() ?? '';
  result = result.replace(invisible, '').replace(controls, '').replace(forbidden, '_');
  // Runs of blanks become one space; no leading dots (hidden files, `..`) or blanks; no trailing dots
  // or blanks (Windows drops them, so `a.exe.` would become `a.exe`).
  result = result.replace(/\s+/g, ' ').replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  if (reserved.test(result)) result = `_${result}`;
  if (result.length > maxLength) result = shorten(result, maxLength);
  return result === '' ? fallback : result;
}

/** Cuts a long name to `maxLength`, keeping a short extension (`…` marks the cut). */
function shorten(name: string, maxLength: number): string {
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const stem = [...name.slice(0, name.length - extension.length)];
  const room = maxLength - extension.length - 1;
  let cut = '';
  for (const char of stem) {
    if (cut.length + char.length > room) break;
    cut += char;
  }
  return `${cut.replace(/[\s.]+$/, '')}…${extension}`;
}
