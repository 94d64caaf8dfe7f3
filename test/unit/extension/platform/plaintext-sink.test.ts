// The extension's bounded memory sink, driven by a real decryption through the core's public entry point.
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, readAll } from '../../../../src/core/index.ts';
import { loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';
import { defaultPlaintextLimit, extensionCfb, extensionSink } from '../../../../extension/platform/index.ts';

describe('extensionSink', () => {
  it('holds nothing readable before commit and refuses more than its limit (TOO_LARGE)', async () => {
    const sink = extensionSink({ limit: 10 });
    await sink.write(new Uint8Array(6));
    expect(() => sink.bytes()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }));
    await expect(sink.write(new Uint8Array(5))).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('is bounded by default and refuses a limit that bounds nothing', () => {
    expect(defaultPlaintextLimit).toBeGreaterThan(0);
    expect(() => extensionSink({ limit: Infinity })).toThrow(RangeError);
    expect(() => extensionSink({ limit: 0 })).toThrow(RangeError);
  });

  it('receives a decryption made with the extension platform (no CFB injected)', async () => {
    const encrypted = await encrypt({ input: 'hello from the extension platform', recipients: [await loadCertificate('alice')] });
    const sink = extensionSink();
    const secretKey = await loadSecretKey('alice', { unlocked: true });
    await decrypt({ input: await readAll(encrypted), sink, decryptionKeys: [secretKey], ...(extensionCfb ? { cfb: extensionCfb } : {}) });
    expect(sink.text()).toBe('hello from the extension platform');
  });
});
