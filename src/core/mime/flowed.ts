/**
 * `text/plain; format=flowed` (RFC 3676), which Thunderbird sends by default: a line ending in a space
 * is "soft" and continues on the next line (§4.2); a leading space is stuffing (§4.4); `delsp=yes` drops
 * the space of a soft break (§4.3); quote depth is the count of leading '>' and flowed lines join only
 * within one depth (§4.5). The signature line "-- " is never soft (§4.3).
 */
export function decodeFlowed(text: string, options: { delsp?: boolean } = {}): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let paragraph: { depth: number; text: string } | undefined;
  const flush = (): void => {
    if (paragraph) out.push(`${'>'.repeat(paragraph.depth)}${paragraph.depth > 0 && paragraph.text !== '' ? ' ' : ''}${paragraph.text}`);
    paragraph = undefined;
  };
  for (const raw of lines) {
    const depth = /^>*/.exec(raw)?.[0].length ?? 0;
    let line = raw.slice(depth);
    if (line.startsWith(' ')) line = line.slice(1); // space-stuffing (and the space after '>')
    const soft = line.endsWith(' ') && line !== '-- ';
    const content = soft && options.delsp ? line.slice(0, -1) : line;
    if (paragraph && paragraph.depth !== depth) flush();
    if (paragraph) paragraph.text += content;
    else paragraph = { depth, text: content };
    if (!soft) flush();
  }
  flush();
  return out.join('\n');
}
