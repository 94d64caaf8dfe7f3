/**
 * Read-path benchmark: `npx tsx bench/incoming.ts [--repeat 7]`.
 *
 * Times `read()` (the core of displaying a received mail) in this process, median of REPEAT runs after
 * one warm-up, on mails made here with the fixture keys (alice signs, bob reads):
 * - a plain 100 KB text mail: read() against postal-mime's own parse of the same bytes (what any mail
 *   reader pays to parse it), so the ratio is the cost of looking for OpenPGP content;
 * - a 100 KB PGP/MIME encrypted and signed mail, and a mail with a 10 MB `.pgp` attachment: read()
 *   against the bare `decrypt()` of the same ciphertexts, so the ratio is the read path's overhead over
 *   decryption itself (MIME, key callbacks, the verification pass, the view model); and the same mail
 *   with `attachments: 'defer'` (the time until the body can be shown).
 * Peak RSS of the process is printed at the end. Figures are printed, never asserted. The figures
 * inside Thunderbird (selecting a message to visible text, against Thunderbird's own OpenPGP) come with
 * the display script.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import PostalMime from 'postal-mime';
import type { PrivateKey, PublicKey } from 'openpgp';
import { decrypt, encrypt, memorySink, read, readAll, readCertificates, readSecretKeys, type ReadOptions } from '../src/core/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repeatArg = process.argv.indexOf('--repeat');
const repeat = Math.max(1, Number(repeatArg >= 0 ? process.argv[repeatArg + 1] : '7') || 7);
const CRLF = '\r\n';

async function fixture(name: string): Promise<{ secret: PrivateKey; certificate: PublicKey }> {
  const [secret] = await readSecretKeys(readFileSync(join(root, 'keys-fixtures', `${name}.unprotected.sec.asc`), 'utf8'));
  const [certificate] = await readCertificates(readFileSync(join(root, 'keys-fixtures', `${name}.pub.asc`), 'utf8'));
  if (!secret || !certificate) throw new Error(`fixture ${name} missing`);
  return { secret, certificate };
}

async function median(run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let index = 0; index < repeat; index++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const alice = await fixture('alice');
const bob = await fixture('bob');
const options: ReadOptions = {
  decryptionKeys: async () => [bob.secret],
  verificationKeys: async () => [alice.certificate],
};
const encryptToBob = async (input: Uint8Array | string, armor: boolean): Promise<Uint8Array> =>
  readAll(await encrypt({ input, recipients: [bob.certificate], signingKeys: [alice.secret], format: 'binary', armor }));
const headers = `From: Alice <alice@sigill.test>${CRLF}To: Bob <bob@sigill.test>${CRLF}Subject: bench${CRLF}MIME-Version: 1.0${CRLF}`;
const text100k = Array.from({ length: 1400 }, (_, line) => `Line ${line}: ${randomBytes(27).toString('base64')}`).join(CRLF) + CRLF;

const plainMail = new TextEncoder().encode(`${headers}Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}${text100k}`);

const innerEntity = `Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}${text100k}`;
const mimeCiphertext = new TextDecoder().decode(await encryptToBob(innerEntity, true));
const pgpMimeMail = new TextEncoder().encode(
  `${headers}Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"${CRLF}${CRLF}` +
    `--b${CRLF}Content-Type: application/pgp-encrypted${CRLF}${CRLF}Version: 1${CRLF}` +
    `--b${CRLF}Content-Type: application/octet-stream${CRLF}${CRLF}${mimeCiphertext}${CRLF}--b--${CRLF}`,
);

const attachment = randomBytes(10 * 1024 * 1024);
const attachmentCiphertext = await encryptToBob(attachment, false);
const bodyCiphertext = new TextDecoder().decode(await encryptToBob('See the attachment.\n', true));
const attachmentMail = new TextEncoder().encode(
  `${headers}Content-Type: multipart/mixed; boundary="m"${CRLF}${CRLF}` +
    `--m${CRLF}Content-Type: text/plain${CRLF}${CRLF}${bodyCiphertext}${CRLF}` +
    `--m${CRLF}Content-Type: application/octet-stream; name="data.bin.pgp"${CRLF}Content-Disposition: attachment; filename="data.bin.pgp"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}` +
    `${(Buffer.from(attachmentCiphertext).toString('base64').match(/.{1,76}/g) ?? []).join(CRLF)}${CRLF}--m--${CRLF}`,
);

const bareDecrypt = (input: Uint8Array | string) => async () => {
  const sink = memorySink();
  await decrypt({ input, sink, decryptionKeys: [bob.secret], verificationKeys: [alice.certificate] });
  return sink.bytes();
};

const check = async (mail: Uint8Array, expectParts: number): Promise<void> => {
  const view = await read(mail, options);
  if (view.errors.length > 0 || view.parts.length !== expectParts) throw new Error(`unexpected view: ${JSON.stringify(view.errors)}`);
};
await check(plainMail, 1);
await check(pgpMimeMail, 1);
await check(attachmentMail, 1);

const rows: Array<[string, number, string, number]> = [
  ['plain 100 KB: read()', await median(() => read(plainMail, options)), 'postal-mime parse', await median(() => PostalMime.parse(plainMail))],
  ['PGP/MIME 100 KB enc+signed: read()', await median(() => read(pgpMimeMail, options)), 'decrypt() alone', await median(bareDecrypt(mimeCiphertext))],
  ['10 MB .pgp attachment: read()', await median(() => read(attachmentMail, options)), 'decrypt() alone', await median(bareDecrypt(attachmentCiphertext))],
  ["10 MB .pgp, attachments 'defer'", await median(() => read(attachmentMail, { ...options, attachments: 'defer' })), 'decrypt() alone', await median(bareDecrypt(attachmentCiphertext))],
];
console.log(`read-path benchmark (median of ${repeat} runs, this process)`);
for (const [name, time, baselineName, baseline] of rows) {
  console.log(`${name.padEnd(38)} ${time.toFixed(1).padStart(8)} ms   ${baselineName.padEnd(18)} ${baseline.toFixed(1).padStart(8)} ms   ratio ${(time / baseline).toFixed(2)}`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
