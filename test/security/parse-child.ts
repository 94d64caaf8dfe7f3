/**
 * Child process for the PARSE memory bound (run with tsx): builds one crafted mail of SIZE MiB of the
 * given SHAPE, reads it with read(), and prints {"maxRssKiB", "inputBytes", "errors", "parts"} (peak
 * resident set size from the kernel; no timing).
 *
 *   tsx parse-child.ts SHAPE SIZE_MIB     SHAPE: random | header | boundaries | nesting | armor | empty
 */
import { read } from '../../src/core/index.ts';

const [shape = 'random', sizeArg = '8'] = process.argv.slice(2);
const size = Number(sizeArg) * 1024 * 1024;

function pseudoRandom(length: number, seed = 11): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[index] = state >>> 24;
  }
  return out;
}

function build(): Uint8Array {
  const encoder = new TextEncoder();
  const fill = (head: string, unit: string, tail = ''): Uint8Array => encoder.encode(head + unit.repeat(Math.max(0, Math.floor((size - head.length - tail.length) / unit.length))) + tail);
  switch (shape) {
    case 'random':
      return pseudoRandom(size);
    case 'header':
      return fill('Subject: ', 'a', '\r\n\r\nbody');
    case 'boundaries':
      return fill('Content-Type: multipart/mixed; boundary=b\r\n\r\n', '--b\r\n\r\nx\r\n');
    case 'nesting':
      return fill('', 'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n');
    case 'armor':
      return fill('Content-Type: text/plain\r\n\r\n', '-----BEGIN PGP MESSAGE-----\r\n\r\nwcFMA\r\n');
    default:
      return new Uint8Array(0);
  }
}

const mail = build();
const view = await read(mail);
console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, inputBytes: mail.length, errors: view.errors.map((error) => error.code), parts: view.parts.length + view.unprotectedParts.length }));
