/**
 * Mail bodies made by the other OpenPGP implementations the project interoperates with (Sequoia's sqop,
 * GopenPGP's gosop, PGPainless), through their SOP command lines: an inline encrypted and signed body and
 * a cleartext signed one, read by read(). Each tool's suite says SKIPPED when it is not installed.
 */
import { beforeAll, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { fixturePath } from '../../../../keys-fixtures/index.ts';
import { read, type ReadOptions } from '../../../../src/core/index.ts';
import { ok, runSop } from '../../../support/sop.ts';
import { describeWithTools } from '../../../support/tools.ts';
import { canary, certificate, entity, envelope, keyring, secretKey } from './mail.ts';

let options: ReadOptions;
beforeAll(async () => {
  const [bob, alicePublic]: [PrivateKey, PublicKey] = await Promise.all([secretKey('bob'), certificate('alice')]);
  options = keyring({ secret: [bob], public: [alicePublic] });
});

const aliceKey = fixturePath('alice', 'unprotected');
const bobCert = fixturePath('bob', 'pub');

// gosop has no inline-sign (SOP exit 69, unsupported subcommand): its clearsigned case is not defined.
for (const [tool, debianPackage, clearsigns] of [
  ['sqop', 'sqop', true],
  ['gosop', 'gosop', false],
  ['pgpainless-cli', 'pgpainless-cli', true],
] as const) {
  describeWithTools([{ command: tool, debianPackage }], `read: mail bodies made by ${tool}`, () => {
    it(`${tool} encrypt --sign-with: decrypted, signed by Alice`, async () => {
      const secret = canary();
      const armored = ok(await runSop(tool, ['encrypt', '--as=text', `--sign-with=${aliceKey}`, bobCert], { stdin: `From ${tool}: ${secret}\n` })).stdout.toString('utf8');
      const view = await read(entity({ ...envelope('Alice <alice@sigill.test>', tool), 'Content-Type': 'text/plain; charset=utf-8' }, armored), options);
      expect(view.errors).toEqual([]);
      expect(view.encryption).toBe('encrypted');
      expect(view.signature).toBe('signed');
      expect(view.parts[0]?.content.replace(/\r\n/g, '\n')).toBe(`From ${tool}: ${secret}\n`);
      expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>', matchesFrom: true })]);
    });

    if (!clearsigns) return;
    it(`${tool} inline-sign --as=clearsigned: signed by Alice`, async () => {
      const signed = ok(await runSop(tool, ['inline-sign', '--as=clearsigned', aliceKey], { stdin: 'Signed words.\n' })).stdout.toString('utf8');
      const view = await read(entity(envelope('Alice <alice@sigill.test>', tool), signed), options);
      expect(view.errors).toEqual([]);
      expect(view.signature).toBe('signed');
      expect(view.parts[0]?.content.trim()).toBe('Signed words.');
    });
  });
}
