import { describe, expect, it } from 'vitest';
import { MAX_ARMOR_BLOCKS, findArmorBlocks, htmlToArmorText, startsWithArmor } from '../../../../src/core/index.ts';

const block = (label: string, body = 'wcFMA') => `-----BEGIN PGP ${label}-----\n\n${body}\n-----END PGP ${label}-----`;

describe('findArmorBlocks', () => {
  it('finds every kind of block at a line start, with the text around it', () => {
    const text = `hello\r\n${block('MESSAGE')}\r\nbetween\n${block('PUBLIC KEY BLOCK')}\nafter`;
    const blocks = findArmorBlocks(text);
    expect(blocks.map((found) => found.kind)).toEqual(['message', 'public-key']);
    expect(text.slice(0, blocks[0]?.start)).toBe('hello\r\n');
    expect(text.slice(blocks[1]?.end)).toBe('\nafter');
  });

  it('a cleartext signed message runs to the end of its signature', () => {
    const signed = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\ntext\n${block('SIGNATURE')}`;
    const [found] = findArmorBlocks(`x\n${signed}\ny`);
    expect(found?.kind).toBe('signed-message');
    expect(found?.armored).toBe(signed);
  });

  it('ignores quoted blocks (REPLY) and blocks without an END line', () => {
    expect(findArmorBlocks(`> ${block('MESSAGE').split('\n').join('\n> ')}`)).toEqual([]);
    expect(findArmorBlocks('-----BEGIN PGP MESSAGE-----\n\nwcFMA\n')).toEqual([]);
  });

  it('stays linear with many BEGIN lines and returns at most MAX_ARMOR_BLOCKS', () => {
    const many = '-----BEGIN PGP MESSAGE-----\n'.repeat(50_000);
    expect(findArmorBlocks(many)).toEqual([]);
    const blocks = findArmorBlocks(Array.from({ length: MAX_ARMOR_BLOCKS + 5 }, () => block('MESSAGE')).join('\n'));
    expect(blocks).toHaveLength(MAX_ARMOR_BLOCKS);
  });

  it('startsWithArmor looks at the first line only', () => {
    const data = new TextEncoder().encode(`\n  ${block('SIGNATURE')}`);
    expect(startsWithArmor(data, 'signature')).toBe(true);
    expect(startsWithArmor(data, 'message')).toBe(false);
  });
});

describe('htmlToArmorText', () => {
  it('turns HTML-wrapped armor back into armor text', () => {
    const html = `<div>-----BEGIN PGP MESSAGE-----<br><br>wcFMA&#43;x/y&#x3D;<br>-----END PGP MESSAGE-----</div><!-- a comment -->`;
    const text = htmlToArmorText(html);
    expect(findArmorBlocks(text)[0]?.armored).toBe('-----BEGIN PGP MESSAGE-----\n\nwcFMA+x/y=\n-----END PGP MESSAGE-----');
  });

  it('decodes the HTML5 names of + / = as well', () => {
    expect(htmlToArmorText('a&plus;b&sol;c&equals;&lt;&amp;&nbsp;')).toBe('a+b/c=<& ');
  });

  it('stays linear on unclosed tags and comments', () => {
    expect(htmlToArmorText('<!--'.repeat(100_000)).length).toBe(0);
    expect(htmlToArmorText('a<'.repeat(100_000))).toBe('a');
  });
});
