// Text mode with LF-only input: GnuPG hashes text literal data as stored, so sigill must store it with
// CRLF line endings (RFC 9580 §5.9) for gpg to report a good signature, inline and encrypted.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../support/tools.ts';
import { createGpgHome, ok, runSop, sigillSop, type GpgHome } from '../support/sop.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'keys-fixtures');
const secretKey = join(fixtures, 'alice.unprotected.sec.asc');
const certificate = join(fixtures, 'alice.pub.asc');
const text = 'Grüße\nline two\n';

describeWithTools([{ command: 'gpg', debianPackage: 'gnupg' }], 'interop gpg: text mode with LF line endings', () => {
  let gpg: GpgHome;

  beforeAll(async () => {
    gpg = await createGpgHome();
    ok(await gpg.importKey(secretKey));
  });

  afterAll(async () => {
    await gpg?.dispose();
  });

  it.each([
    ['inline-sign --as=text', ['inline-sign', '--as=text', secretKey]],
    ['encrypt --as=text --sign-with', ['encrypt', '--as=text', `--sign-with=${secretKey}`, certificate]],
  ])('gpg verifies sigill %s and gives the text back', async (_name, args) => {
    const signed = ok(await runSop(sigillSop, args, { stdin: text }));
    const read = await gpg.gpg(['--decrypt'], { stdin: signed.stdout });
    expect(read.status.keywords.has('GOODSIG')).toBe(true);
    expect(read.status.keywords.has('BADSIG')).toBe(false);
    expect(read.stdout.toString('utf8').replace(/\r\n/g, '\n')).toBe(text);
  });
});
