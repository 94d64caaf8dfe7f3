/**
 * Finding OpenPGP ASCII armor (RFC 9580 §6.2) and cleartext signed messages (§7) inside mail text,
 * plain or HTML. A block counts only when its header line starts a line: a quoted block ("> -----BEGIN")
 * is someone's quote, not a message to decrypt (REPLY).
 */
export type ArmorKind = 'message' | 'signed-message' | 'public-key' | 'private-key' | 'signature';

export interface ArmorBlock {
  kind: ArmorKind;
  /** Offsets of the block in the searched text, [start, end). */
  start: number;
  end: number;
  /** The block's text, line endings as found. */
  armored: string;
}

const kinds: Record<string, ArmorKind> = {
  MESSAGE: 'message',
  'SIGNED MESSAGE': 'signed-message',
  'PUBLIC KEY BLOCK': 'public-key',
  'PRIVATE KEY BLOCK': 'private-key',
  SIGNATURE: 'signature',
};

const beginLine = /^[ \t]*-----BEGIN PGP (MESSAGE|SIGNED MESSAGE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK|SIGNATURE)-----[ \t]*\r?$/gm;
const endLine = /^[ \t]*-----END PGP (MESSAGE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK|SIGNATURE)-----[ \t]*\r?$/gm;

/** At most this many blocks are taken from one text (each may cost a decryption); the rest stays text. */
export const MAX_ARMOR_BLOCKS = 32;

/**
 * Every armor block in `text`, in order, not overlapping, at most MAX_ARMOR_BLOCKS. A block whose END
 * line is missing is not returned (it stays text). A cleartext signed message ends with its
 * signature's END line. One pass over the text for the END lines keeps this linear whatever the
 * number of BEGIN lines (PARSE).
 */
export function findArmorBlocks(text: string): ArmorBlock[] {
  const ends = new Map<string, Array<{ start: number; end: number }>>();
  endLine.lastIndex = 0;
  for (let match = endLine.exec(text); match !== null; match = endLine.exec(text)) {
    const list = ends.get(match[1] as string) ?? [];
    list.push({ start: match.index, end: match.index + match[0].length });
    ends.set(match[1] as string, list);
  }
  const cursor = new Map<string, number>();
  const blocks: ArmorBlock[] = [];
  beginLine.lastIndex = 0;
  for (let match = beginLine.exec(text); match !== null && blocks.length < MAX_ARMOR_BLOCKS; match = beginLine.exec(text)) {
    const label = match[1] as string;
    const kind = kinds[label] as ArmorKind;
    const endLabel = kind === 'signed-message' ? 'SIGNATURE' : label;
    const candidates = ends.get(endLabel) ?? [];
    let index = cursor.get(endLabel) ?? 0;
    const afterHeader = match.index + match[0].length;
    while (index < candidates.length && (candidates[index] as { start: number }).start < afterHeader) index++;
    cursor.set(endLabel, index);
    const end = candidates[index];
    if (end === undefined) continue;
    const start = match.index + (match[0].length - match[0].trimStart().length);
    const blockEnd = end.end - (text[end.end - 1] === '\r' ? 1 : 0);
    blocks.push({ kind, start, end: blockEnd, armored: text.slice(start, blockEnd).replace(/^[ \t]+/gm, '') });
    beginLine.lastIndex = blockEnd;
  }
  return blocks;
}

/** Whether the text has an armor header at a line start (cheap test before any parsing). */
export function hasArmor(text: string): boolean {
  return /^[ \t]*-----BEGIN PGP (?:MESSAGE|SIGNED MESSAGE|PUBLIC KEY BLOCK|SIGNATURE)-----/m.test(text);
}

/** Whether bytes start (after blanks) with an armor header of the given kinds. */
export function startsWithArmor(bytes: Uint8Array, ...wanted: ArmorKind[]): boolean {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024)).trimStart();
  const match = /^-----BEGIN PGP (MESSAGE|SIGNED MESSAGE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK|SIGNATURE)-----/.exec(head);
  return match !== null && wanted.includes(kinds[match[1] as string] as ArmorKind);
}

/** The named references that occur in armor written as HTML (HTML5 names for + / = included). */
const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', plus: '+', sol: '/', equals: '=' };

/**
 * The text of an HTML part as far as armor needs it: line breaks for <br>, <p>, <div>, <pre> and
 * block ends, other tags and comments removed, character references decoded. Only used to find and
 * read armor blocks (base64 and a few header lines) inside HTML mail; never shown, never used as
 * HTML. A single linear pass (no backtracking regular expression over attacker HTML).
 */
export function htmlToArmorText(html: string): string {
  let out = '';
  let index = 0;
  while (index < html.length) {
    const open = html.indexOf('<', index);
    if (open < 0) {
      out += html.slice(index);
      break;
    }
    out += html.slice(index, open);
    if (html.startsWith('<!--', open)) {
      const close = html.indexOf('-->', open + 4);
      index = close < 0 ? html.length : close + 3;
      continue;
    }
    const close = html.indexOf('>', open + 1);
    if (close < 0) break;
    const tag = html.slice(open + 1, Math.min(close, open + 12)).toLowerCase();
    if (/^\/?(?:br|p|div|pre|tr|li|blockquote|h[1-6])\b/.test(tag)) out += '\n';
    index = close + 1;
  }
  return out
    .replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, name: string) => {
      const lower = name.toLowerCase();
      if (entities[lower] !== undefined) return entities[lower];
      if (lower.startsWith('#x')) return safeCodePoint(parseInt(lower.slice(2), 16)) ?? whole;
      if (lower.startsWith('#')) return safeCodePoint(parseInt(lower.slice(1), 10)) ?? whole;
      return whole;
    })
    .replace(/\r\n?/g, '\n')
    .replace(/\u00a0/g, ' ');
}

function safeCodePoint(value: number): string | undefined {
  return Number.isInteger(value) && value > 0 && value <= 0x10ffff ? String.fromCodePoint(value) : undefined;
}
