/**
 * wrapPgpMime: the MIME entity a mail client produced, wrapped as RFC 3156 PGP/MIME. The entities here
 * are laid out as Thunderbird writes them (multipart/mixed around multipart/alternative, 8-bit UTF-8
 * text, an attachment with an RFC 2231 name, base64). What comes out is read back by the core's own
 * reader, decrypted and verified by gpg and sqop.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { fixturePath } from '../../../../keys-fixtures/index.ts';
import { planOutgoing, read, readAll, wrapPgpMime, encodeUnstructured, parseMime, decodeHeaderText, type OutgoingPlan, type PgpMimeResult } from '../../../../src/core/index.ts';
import { createGpgHome, ok, run, tempDir, type GpgHome, type TempDir } from '../../../support/sop.ts';
import { describeWithTools } from '../../../support/tools.ts';
import { canary, certificate, keyring, secretKey } from '../incoming/mail.ts';
import { keySource } from './keys.ts';

const CRLF = '\r\n';

async function readyPlan(options: { encrypt: boolean; sign: boolean }): Promise<OutgoingPlan> {
  const keys = await keySource({ recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] } }, senders: { 'alice@sigill.test': 'alice' } });
  const plan = await planOutgoing({ from: 'Alice <alice@sigill.test>', to: ['Bob <bob@sigill.test>'], keys, ...options });
  expect(plan.ready).toBe(true);
  return plan;
}

function base64Lines(bytes: Uint8Array): string {
  return (Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}

interface Mail {
  secret: string;
  subject: string;
  attachmentName: string;
  attachment: Uint8Array;
  /** The top-level header fields as Thunderbird writes them before the encapsulation (no Content-Type). */
  headers: string;
  /** The entity Thunderbird hands to the encapsulation. */
  entity: string;
}

/** A mail as Thunderbird 153 builds it: 8-bit text and HTML alternatives, one attachment. */
function thunderbirdMail(options: { sevenBit?: boolean } = {}): Mail {
  const secret = canary();
  const subject = `Quarterly ${secret} – Årsrapport ✓`;
  const attachmentName = `Årsrapport ${secret} ✓.pdf`;
  const attachment = new Uint8Array(randomBytes(5000));
  const headers =
    `Message-ID: <d2b1c7e0-1@sigill.test>${CRLF}` +
    `Date: Mon, 30 Nov 2026 09:40:00 +0000${CRLF}` +
    `MIME-Version: 1.0${CRLF}` +
    `User-Agent: Mozilla Thunderbird${CRLF}` +
    `From: Alice <alice@sigill.test>${CRLF}` +
    `To: Bob <bob@sigill.test>${CRLF}` +
    `References: <older@sigill.test>${CRLF}` +
    `In-Reply-To: <older@sigill.test>${CRLF}` +
    `Subject: ${encodeUnstructured(subject)}${CRLF}`;
  const plainText = `Hello Bob,${CRLF}the numbers: ${secret}${CRLF}Grüße ✓${CRLF}From the top${CRLF}`;
  const plain = options.sevenBit
    ? `Content-Type: text/plain; charset=UTF-8; format=flowed${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${base64Lines(Buffer.from(plainText))}${CRLF}`
    : `Content-Type: text/plain; charset=UTF-8; format=flowed${CRLF}Content-Transfer-Encoding: 8bit${CRLF}${CRLF}${plainText}`;
  const htmlText = `<html><body><p>Hello Bob,<br>the numbers: <b>${secret}</b></p></body></html>${CRLF}`;
  const htmlPart = `Content-Type: text/html; charset=UTF-8${CRLF}Content-Transfer-Encoding: ${options.sevenBit ? '7bit' : '8bit'}${CRLF}${CRLF}${htmlText}`;
  const encodedName = `UTF-8''${encodeURIComponent(attachmentName)}`;
  const entity =
    `Content-Type: multipart/mixed; boundary="------------mixed1"${CRLF}${CRLF}` +
    `This is a multi-part message in MIME format.${CRLF}` +
    `--------------mixed1${CRLF}` +
    `Content-Type: multipart/alternative;${CRLF} boundary="------------alt1"${CRLF}${CRLF}` +
    `--------------alt1${CRLF}${plain}${CRLF}--------------alt1${CRLF}${htmlPart}${CRLF}--------------alt1--${CRLF}${CRLF}` +
    `--------------mixed1${CRLF}` +
    `Content-Type: application/pdf; name*=${encodedName}${CRLF}` +
    `Content-Disposition: attachment; filename*=${encodedName}${CRLF}` +
    `Content-Transfer-Encoding: base64${CRLF}${CRLF}` +
    `${base64Lines(attachment)}${CRLF}${CRLF}` +
    `--------------mixed1--${CRLF}`;
  return { secret, subject, attachmentName, attachment, headers, entity };
}

/** The whole message as it leaves: the outer header fields (Subject replaced), then the content. */
async function message(mail: Mail, result: PgpMimeResult): Promise<Buffer> {
  const outer = result.outerSubject === undefined ? mail.headers : mail.headers.replace(/^Subject:.*\r\n(?:[ \t].*\r\n)*/m, `Subject: ${result.outerSubject}${CRLF}`);
  return Buffer.concat([Buffer.from(outer, 'latin1'), Buffer.from(await readAll(result.content))]);
}

let alice: PrivateKey;
let bob: PrivateKey;
let alicePublic: PublicKey;

beforeAll(async () => {
  [alice, bob, alicePublic] = await Promise.all([secretKey('alice'), secretKey('bob'), certificate('alice')]);
});

describe('wrapPgpMime: encrypt and sign', () => {
  it('is RFC 3156 multipart/encrypted: version part, armored encrypted.asc, CRLF, outer Subject "..."', async () => {
    const mail = thunderbirdMail();
    const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: true }), entity: () => mail.entity, headers: mail.headers });
    expect(result.outerSubject).toBe('...');
    expect(result.contentType).toMatch(/^multipart\/encrypted; protocol="application\/pgp-encrypted"; boundary="sigill-[0-9a-f]{32}"$/);
    const raw = await message(mail, result);
    expect(raw.includes(Buffer.from(mail.secret))).toBe(false);
    expect(raw.toString('latin1')).not.toMatch(/[^\r]\n/); // CRLF throughout
    const root = parseMime(new Uint8Array(raw));
    expect(root.contentType.value).toBe('multipart/encrypted');
    expect(root.children.map((child) => child.contentType.value)).toEqual(['application/pgp-encrypted', 'application/octet-stream']);
    expect(Buffer.from(root.children[0]?.body ?? []).toString().trim()).toBe('Version: 1');
    expect(root.children[1]?.contentType.params.name).toBe('encrypted.asc');
    expect(Buffer.from(root.children[1]?.body ?? []).toString()).toMatch(/^-----BEGIN PGP MESSAGE-----\r\n/);
    expect(decodeHeaderText(/^Subject: (.*)$/m.exec(raw.toString('latin1'))?.[1] ?? '')).toBe('...');
  });

  it('reads back through read(): protected subject, text, HTML alternative, attachment with its real name and bytes, signed by Alice', async () => {
    const mail = thunderbirdMail();
    const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: true }), entity: () => mail.entity, headers: mail.headers });
    const view = await read(new Uint8Array(await message(mail, result)), keyring({ secret: [bob], public: [alicePublic] }));
    expect(view.errors).toEqual([]);
    expect(view.warnings).toEqual([]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
    expect(view.subject).toBe('...');
    expect(view.protectedSubject).toBe(mail.subject);
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>', matchesFrom: true })]);
    expect(view.parts.map((part) => part.content).join('\n')).toContain(mail.secret);
    expect(view.attachments).toHaveLength(1);
    expect(view.attachments[0]).toMatchObject({ name: mail.attachmentName, contentType: 'application/pdf', encrypted: true });
    expect(Buffer.from((view.attachments[0]?.data as Uint8Array | undefined) ?? []).equals(Buffer.from(mail.attachment))).toBe(true);
  });

  it('the sender can read her Sent copy (encrypted to self)', async () => {
    const mail = thunderbirdMail();
    const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: false }), entity: () => mail.entity, headers: mail.headers });
    const view = await read(new Uint8Array(await message(mail, result)), keyring({ secret: [alice], public: [alicePublic] }));
    expect(view.errors).toEqual([]);
    expect(view.protectedSubject).toBe(mail.subject);
    expect(view.signature).toBe('not-signed');
  });

  it('takes the real subject when the headers already carry the placeholder, and encodes it (RFC 2047)', async () => {
    const mail = thunderbirdMail();
    const headers = mail.headers.replace(/^Subject:.*\r\n(?:[ \t].*\r\n)*/m, `Subject: ...${CRLF}`);
    const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: true }), entity: () => mail.entity, headers, subject: mail.subject, outerSubject: 'Encrypted message' });
    expect(result.outerSubject).toBe('Encrypted message');
    const view = await read(new Uint8Array(await message({ ...mail, headers }, result)), keyring({ secret: [bob], public: [alicePublic] }));
    expect(view.protectedSubject).toBe(mail.subject);
  });

  it('puts protected-headers="v1" on the entity and copies From, To, Date, Message-ID, References, In-Reply-To inside (nothing else)', async () => {
    const mail = thunderbirdMail();
    const plan = await readyPlan({ encrypt: true, sign: false });
    const result = await wrapPgpMime({ plan, entity: () => mail.entity, headers: mail.headers });
    const gpgHome = await createGpgHome();
    try {
      ok(await gpgHome.importKey(fixturePath('bob', 'unprotected')));
      const root = parseMime(new Uint8Array(await message(mail, result)));
      const decrypted = ok(await gpgHome.gpg(['--decrypt'], { stdin: Buffer.from(root.children[1]?.body ?? []) })).stdout.toString('utf8');
      const [head = ''] = decrypted.split(`${CRLF}${CRLF}`);
      const names = head.split(CRLF).filter((line) => /^[A-Za-z-]+:/.test(line)).map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
      expect(names).toEqual(['subject', 'from', 'to', 'date', 'message-id', 'references', 'in-reply-to', 'content-type']);
      expect(head).toMatch(/Content-Type: multipart\/mixed; boundary="------------mixed1";\r\n protected-headers="v1"/);
      // The body is the client's, byte for byte.
      expect(decrypted.slice(decrypted.indexOf(`${CRLF}${CRLF}`))).toBe(mail.entity.slice(mail.entity.indexOf(`${CRLF}${CRLF}`)));
    } finally {
      await gpgHome.dispose();
    }
  });

  it('a leaf entity (here without Content-Type: text/plain, RFC 2045 §5.2) goes inside a multipart/mixed that carries the protected headers', async () => {
    const mail = thunderbirdMail();
    const entity = `Content-Transfer-Encoding: 7bit${CRLF}${CRLF}Just text ${mail.secret}${CRLF}`;
    const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: true }), entity: () => entity, headers: mail.headers });
    const view = await read(new Uint8Array(await message(mail, result)), keyring({ secret: [bob], public: [alicePublic] }));
    expect(view.errors).toEqual([]);
    expect(view.protectedSubject).toBe(mail.subject);
    expect(view.parts.map((part) => part.content.trim())).toEqual([`Just text ${mail.secret}`]);
  });

  it('refuses an unready plan, a locked key and an entity without the end of its header fields', async () => {
    const mail = thunderbirdMail();
    const keys = await keySource({ recipients: {}, senders: { 'alice@sigill.test': 'alice' } });
    const unready = await planOutgoing({ from: 'alice@sigill.test', to: ['nobody@sigill.test'], encrypt: true, sign: true, keys });
    await expect(wrapPgpMime({ plan: unready, entity: () => mail.entity, headers: mail.headers })).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    const lockedKeys = await keySource({ recipients: { 'bob@sigill.test': { state: 'accepted', keys: ['bob'] } }, senders: { 'alice@sigill.test': 'alice' }, unlocked: false });
    const locked = await planOutgoing({ from: 'alice@sigill.test', to: ['bob@sigill.test'], encrypt: true, sign: true, keys: lockedKeys });
    await expect(wrapPgpMime({ plan: locked, entity: () => mail.entity, headers: mail.headers })).rejects.toMatchObject({ code: 'KEY_LOCKED' });
    await expect(wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: true }), entity: () => 'Content-Type: text/plain', headers: mail.headers })).rejects.toMatchObject({ code: 'MALFORMED_MIME' });
    await expect(wrapPgpMime({ plan: await readyPlan({ encrypt: false, sign: false }), entity: () => mail.entity, headers: mail.headers })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

describe('wrapPgpMime: bounded memory', () => {
  /** A 32 MiB entity made chunk by chunk as it is pulled; `pulled` counts the chunks handed out. */
  function lazyEntity() {
    const state = { pulled: 0 };
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (state.pulled === 0) controller.enqueue(new TextEncoder().encode(`Content-Type: application/octet-stream${CRLF}${CRLF}`));
          if (state.pulled >= 32) controller.close();
          else controller.enqueue(chunk);
          state.pulled++;
        },
      },
      { highWaterMark: 0 },
    );
    return { state, stream };
  }

  it('encrypting streams: the entity is read as the output is consumed, not ahead of it', async () => {
    const { state, stream } = lazyEntity();
    const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: true }), entity: () => stream, headers: 'Subject: big\r\n' });
    const reader = result.content.getReader();
    let produced = 0;
    while (produced < 2 * 1024 * 1024) {
      const next = await reader.read();
      if (next.done) throw new Error('ended early');
      produced += next.value.length;
    }
    // 2 MiB of armored output come from about 1.5 MiB of input; a whole-message buffer would have pulled all 32.
    expect(state.pulled).toBeLessThan(12);
    for (let next = await reader.read(); !next.done; next = await reader.read()) produced += next.value.length;
    expect(state.pulled).toBe(33);
    expect(produced).toBeGreaterThan(32 * 1024 * 1024);
  });
});

describe('wrapPgpMime: sign only', () => {
  it('is multipart/signed with micalg from the signature, over the canonical CRLF bytes of the entity; read() verifies it', async () => {
    const mail = thunderbirdMail({ sevenBit: true });
    const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: false, sign: true }), entity: () => mail.entity.replace(/\r\n/g, '\n'), headers: mail.headers });
    expect(result.outerSubject).toBeUndefined();
    expect(result.micalg).toMatch(/^pgp-sha(256|384|512)$/);
    expect(result.contentType).toBe(`multipart/signed; micalg=${result.micalg}; protocol="application/pgp-signature"; boundary="${/boundary="([^"]+)"/.exec(result.contentType)?.[1]}"`);
    const raw = await message(mail, result);
    expect(raw.toString('latin1')).not.toMatch(/[^\r]\n/);
    const root = parseMime(new Uint8Array(raw));
    expect(root.children.map((child) => child.contentType.value)).toEqual(['multipart/mixed', 'application/pgp-signature']);
    expect(Buffer.from(root.children[0]?.raw ?? []).toString('latin1')).toBe(mail.entity);
    const view = await read(new Uint8Array(raw), keyring({ public: [alicePublic] }));
    expect(view.errors).toEqual([]);
    expect(view.signature).toBe('signed');
    expect(view.encryption).toBe('not-encrypted');
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>' })]);
    expect(view.attachments[0]?.name).toBe(mail.attachmentName);
  });

  it('refuses 8-bit content (RFC 3156 §5) and a boundary that occurs in the content: the stream fails, nothing complete comes out', async () => {
    const plan = await readyPlan({ encrypt: false, sign: true });
    const eightBit = thunderbirdMail();
    await expect(wrapPgpMime({ plan, entity: () => eightBit.entity, headers: eightBit.headers })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    const mail = thunderbirdMail({ sevenBit: true });
    const boundary = 'fixed-boundary-1';
    const hostile = mail.entity.replace('This is a multi-part message', `--${boundary}${CRLF}This is a multi-part message`);
    const result = await wrapPgpMime({ plan, entity: () => hostile, headers: mail.headers, boundary });
    await expect(readAll(result.content)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(wrapPgpMime({ plan, entity: () => mail.entity, headers: mail.headers, boundary: 'with space' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

/** The text's latin1 bytes as a stream of `size`-octet chunks (lines and delimiters cut anywhere). */
function inChunks(text: string | Uint8Array, size: number): ReadableStream<Uint8Array> {
  const bytes = typeof text === 'string' ? new Uint8Array(Buffer.from(text, 'latin1')) : text;
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

describe('wrapPgpMime: the checks on the content, whatever the chunks', () => {
  it('sign only: bare LF becomes CRLF across chunk ends, the same as from one piece', async () => {
    const plan = await readyPlan({ encrypt: false, sign: true });
    const mail = thunderbirdMail({ sevenBit: true });
    const lf = mail.entity.replace(/\r\n/g, '\n');
    for (const size of [1, 2, 7, 4096]) {
      const result = await wrapPgpMime({ plan, entity: () => inChunks(lf, size), headers: mail.headers });
      const root = parseMime(new Uint8Array(await message(mail, result)));
      expect(Buffer.from(root.children[0]?.raw ?? []).toString('latin1'), `chunks of ${size}`).toBe(mail.entity);
    }
  });

  it('sign only: a delimiter line cut between chunks, or at the very start, is found; every 8-bit octet is refused (0x80-0x9f too)', async () => {
    const plan = await readyPlan({ encrypt: false, sign: true });
    const mail = thunderbirdMail({ sevenBit: true });
    const boundary = 'fixed-boundary-2';
    const hostile = mail.entity.replace('This is a multi-part message', `--${boundary}${CRLF}This is a multi-part message`);
    for (const size of [1, 3, 10, 64]) {
      const result = await wrapPgpMime({ plan, entity: () => inChunks(hostile, size), headers: mail.headers, boundary });
      await expect(readAll(result.content), `chunks of ${size}`).rejects.toMatchObject({ code: 'BAD_INPUT' });
    }
    // The first line of the content is a line too. (The entity's own header block comes first, so a
    // content starting with the delimiter is the signed part's first line.)
    const first = `--${boundary}${CRLF}${mail.entity}`;
    const atStart = await wrapPgpMime({ plan, entity: () => inChunks(first, 5), headers: mail.headers, boundary });
    await expect(readAll(atStart.content)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    // The boundary inside a line is not a delimiter (RFC 2046 §5.1.1: only at a line's start).
    const inside = mail.entity.replace('This is a multi-part message', `see --${boundary} inside`);
    const fine = await wrapPgpMime({ plan, entity: () => inChunks(inside, 3), headers: mail.headers, boundary });
    expect((await readAll(fine.content)).length).toBeGreaterThan(inside.length);
    for (const octet of [0x80, 0x81, 0x9f, 0xa0, 0xff]) {
      const bytes = new Uint8Array(Buffer.from(mail.entity, 'latin1'));
      bytes[bytes.length - 10] = octet;
      await expect(wrapPgpMime({ plan, entity: () => inChunks(bytes, 4096), headers: mail.headers }), `octet ${octet}`).rejects.toMatchObject({ code: 'BAD_INPUT' });
    }
  });

  it('encrypt: a boundary that the armor lines would start with is refused before anything is encrypted', async () => {
    const plan = await readyPlan({ encrypt: true, sign: false });
    const mail = thunderbirdMail();
    let entityReads = 0;
    for (const boundary of ['---BEGIN', '---END', '-']) {
      await expect(wrapPgpMime({ plan, entity: () => (entityReads++, mail.entity), headers: mail.headers, boundary }), boundary).rejects.toMatchObject({ code: 'BAD_INPUT' });
    }
    expect(entityReads).toBe(0);
  });
});

describe('encodeUnstructured (RFC 2047)', () => {
  it('keeps ASCII, B-encodes the rest in words of at most 75 characters that decode back', () => {
    expect(encodeUnstructured('Plain subject')).toBe('Plain subject');
    const long = `Årsrapport ✓ ${'ü'.repeat(80)} 😀 end`;
    const encoded = encodeUnstructured(long);
    for (const word of encoded.split(/\r\n /)) expect(word.length).toBeLessThanOrEqual(75);
    expect(decodeHeaderText(encoded.replace(/\r\n /g, ' '))).toBe(long);
    expect(encodeUnstructured('a\r\nBcc: x')).toBe('a Bcc: x');
  });
});

describeWithTools(
  [
    { command: 'gpg', debianPackage: 'gnupg' },
    { command: 'sqop', debianPackage: 'sqop' },
  ],
  'wrapPgpMime: gpg and sqop read what it sends',
  () => {
    let gpg: GpgHome;
    let temp: TempDir;
    beforeAll(async () => {
      gpg = await createGpgHome();
      ok(await gpg.importKey(fixturePath('bob', 'unprotected')));
      ok(await gpg.importKey(fixturePath('alice', 'pub')));
      temp = await tempDir();
    });
    afterAll(async () => {
      await gpg?.dispose();
      await temp?.dispose();
    });

    it('gpg and sqop decrypt encrypted.asc and verify Alice inside; the plaintext is the protected entity', async () => {
      const mail = thunderbirdMail();
      const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: true, sign: true }), entity: () => mail.entity, headers: mail.headers });
      const root = parseMime(new Uint8Array(await message(mail, result)));
      const armored = Buffer.from(root.children[1]?.body ?? []);
      const byGpg = ok(await gpg.gpg(['--decrypt'], { stdin: armored }));
      expect(byGpg.status.keywords.has('DECRYPTION_OKAY')).toBe(true);
      expect(byGpg.status.keywords.has('GOODSIG')).toBe(true);
      const outVerifications = `${temp.path}/verifications-${randomBytes(4).toString('hex')}`;
      const bySqop = ok(await run('sqop', ['decrypt', `--verifications-out=${outVerifications}`, `--verify-with=${fixturePath('alice', 'pub')}`, fixturePath('bob', 'unprotected')], { stdin: armored }));
      expect(bySqop.stdout.equals(byGpg.stdout)).toBe(true);
      expect(byGpg.stdout.toString('utf8')).toContain('protected-headers="v1"');
      expect(byGpg.stdout.toString('utf8')).toContain(mail.secret);
      expect((await readFile(outVerifications, 'utf8')).trim()).not.toBe('');
    });

    it('gpg and sqop verify the multipart/signed detached signature over the first part', async () => {
      const mail = thunderbirdMail({ sevenBit: true });
      const result = await wrapPgpMime({ plan: await readyPlan({ encrypt: false, sign: true }), entity: () => mail.entity, headers: mail.headers });
      const root = parseMime(new Uint8Array(await message(mail, result)));
      const signedPart = await temp.file(`signed-${randomBytes(4).toString('hex')}`, Buffer.from(root.children[0]?.raw ?? []));
      const signature = await temp.file(`sig-${randomBytes(4).toString('hex')}.asc`, Buffer.from(root.children[1]?.body ?? []));
      const byGpg = ok(await gpg.gpg(['--verify', signature, signedPart]));
      expect(byGpg.status.keywords.has('GOODSIG')).toBe(true);
      ok(await run('sqop', ['verify', signature, fixturePath('alice', 'pub')], { stdin: Buffer.from(root.children[0]?.raw ?? []) }));
    });
  },
);
