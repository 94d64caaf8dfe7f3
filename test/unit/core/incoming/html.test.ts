import { describe, expect, it } from 'vitest';
import { JSDOM } from 'jsdom';
import createDOMPurify from 'dompurify';
import { cssCanLoad, sanitizeHtml } from '../../../../src/core/index.ts';
import { loadableUrls } from './mail.ts';

const window = new JSDOM('').window;
const purify = createDOMPurify(window as unknown as Parameters<typeof createDOMPurify>[0]);
const clean = (html: string) => sanitizeHtml(purify, html);

describe('sanitizeHtml: nothing can load', () => {
  it.each([
    ['img src', '<img src="http://127.0.0.1:9/a.png" alt="x">', '<img alt="x">'],
    ['img srcset / lowsrc', '<img srcset="http://127.0.0.1:9/1 1x" lowsrc="http://127.0.0.1:9/2">', '<img>'],
    ['style attribute url()', '<div style="background:url(http://127.0.0.1:9/)">a</div>', '<div>a</div>'],
    ['style attribute escaped url()', '<div style="background:u\\72l(http://127.0.0.1:9/)">a</div>', '<div>a</div>'],
    ['style attribute image-set', '<div style="background-image:image-set(&quot;http://127.0.0.1:9/&quot; 1x)">a</div>', '<div>a</div>'],
    ['harmless style kept', '<div style="color: red">a</div>', '<div style="color: red">a</div>'],
    ['overlay positioning (SIG-UI)', '<div style="position: fixed; top: 0">banner</div><p style="position:absolute">x</p>', '<div>banner</div><p>x</p>'],
    ['<style> with @import and @font-face', '<style>@import "http://127.0.0.1:9/";@font-face{src:url(http://127.0.0.1:9/f)}</style><p>x</p>', '<p>x</p>'],
    ['<link>', '<link rel="stylesheet" href="http://127.0.0.1:9/s.css"><p>x</p>', '<p>x</p>'],
    ['<base>', '<base href="http://127.0.0.1:9/"><a href="x">rel</a>', '<a>rel</a>'],
    ['meta refresh', '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/"><p>x</p>', '<p>x</p>'],
    ['form action', '<form action="http://127.0.0.1:9/"><input name="q"><button formaction="http://127.0.0.1:9/">go</button></form>', 'go'],
    ['video poster', '<video poster="http://127.0.0.1:9/p.png" src="http://127.0.0.1:9/v"></video><p>x</p>', '<p>x</p>'],
    ['background attribute', '<table background="http://127.0.0.1:9/b"><tbody><tr><td background="http://127.0.0.1:9/c">t</td></tr></tbody></table>', '<table><tbody><tr><td>t</td></tr></tbody></table>'],
    ['iframe, object, embed', '<iframe src="http://127.0.0.1:9/"></iframe><object data="http://127.0.0.1:9/"></object><embed src="http://127.0.0.1:9/"><p>x</p>', '<p>x</p>'],
    ['svg image and use', '<svg><image href="http://127.0.0.1:9/"></image><use xlink:href="http://127.0.0.1:9/#a"></use></svg><p>x</p>', '<p>x</p>'],
    ['input type=image', '<input type="image" src="http://127.0.0.1:9/">', ''],
    ['audio and source', '<audio><source src="http://127.0.0.1:9/a.mp3"></audio>', ''],
    ['a ping', '<a href="https://example.org/" ping="http://127.0.0.1:9/p">l</a>', '<a href="https://example.org/" target="_blank" rel="noopener noreferrer">l</a>'],
    ['script and handlers', '<p onclick="fetch(\'http://127.0.0.1:9/\')">x</p><script>fetch("http://127.0.0.1:9/")</script>', '<p>x</p>'],
  ])('%s', (_name, input, expected) => {
    const output = clean(input);
    expect(output).toBe(expected);
    expect(loadableUrls(output)).toEqual([]);
  });

  it('links open outside with noopener noreferrer; only http(s) and mailto stay', () => {
    expect(clean('<a href="https://example.org/x" target="_self">x</a>')).toBe('<a href="https://example.org/x" target="_blank" rel="noopener noreferrer">x</a>');
    expect(clean('<a href="mailto:a@b.test">m</a>')).toBe('<a href="mailto:a@b.test" target="_blank" rel="noopener noreferrer">m</a>');
    expect(clean('<a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a><a href="file:///etc/passwd">f</a>')).toBe('<a>j</a><a>d</a><a>f</a>');
  });

  it('leaves the DOMPurify instance without its hooks after the call', () => {
    clean('<a href="https://example.org/">x</a>');
    expect(purify.sanitize('<a href="https://example.org/">x</a>')).toBe('<a href="https://example.org/">x</a>');
  });

  it('cssCanLoad refuses escapes and comments outright', () => {
    expect(cssCanLoad('color: red; margin: 0 auto')).toBe(false);
    expect(cssCanLoad('background: URL( x )')).toBe(true);
    expect(cssCanLoad('background: u/**/rl(x)')).toBe(true);
    expect(cssCanLoad('content: "\\75rl"')).toBe(true);
  });
});

describe('read() with a failing sanitizer', () => {
  it('gives the HTML as text, never as HTML', async () => {
    const { read } = await import('../../../../src/core/index.ts');
    const mail = 'From: a@sigill.test\r\nContent-Type: text/html\r\n\r\n<img src="http://127.0.0.1:9/">hi';
    const view = await read(mail, {
      sanitizeHtml: () => {
        throw new Error('no DOM');
      },
    });
    expect(view.parts).toEqual([expect.objectContaining({ kind: 'text', content: '<img src="http://127.0.0.1:9/">hi' })]);
  });
});
