import { describe, expect, it } from 'vitest';
import { defaultSettings, loadSettings, MemoryStorage, saveSettings, SETTINGS_KEY } from '../../../../src/core/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';

describe('settings', () => {
  it('starts from the defaults (10 minutes unlock) and stores changes with a schema version', async () => {
    const storage = new MemoryStorage();
    expect(await loadSettings(storage)).toMatchObject({ encryptByDefault: true, signByDefault: true, unlockMinutes: 10 });
    expect(await saveSettings(storage, { unlockMinutes: 30, signByDefault: false })).toEqual({ ...defaultSettings, unlockMinutes: 30, signByDefault: false });
    expect(storage.snapshot()[SETTINGS_KEY]).toMatchObject({ version: 1, values: { unlockMinutes: 30 } });
    expect((await loadSettings(storage)).unlockMinutes).toBe(30);
  });

  it('refuses bad values and unknown settings, and falls back to defaults for bad stored values', async () => {
    const storage = new MemoryStorage();
    await expectSigillError(saveSettings(storage, { unlockMinutes: -5 }), 'BAD_INPUT');
    await expectSigillError(saveSettings(storage, { unlockMinutes: 1.5 }), 'BAD_INPUT');
    await expectSigillError(saveSettings(storage, { encryptByDefault: 'yes' as never }), 'BAD_INPUT');
    await expectSigillError(saveSettings(storage, { colour: 'red' } as never), 'BAD_INPUT');
    expect(storage.rawEntries()).toEqual([]);
    const corrupted = MemoryStorage.from({ [SETTINGS_KEY]: { version: 1, values: { unlockMinutes: 'ten', signByDefault: false } } });
    expect(await loadSettings(corrupted)).toEqual({ ...defaultSettings, signByDefault: false });
  });

  it('the wire format: PGP/MIME by default with outer subject "...", inline on request, inline-only correspondents as bare lower-case addresses', async () => {
    const storage = new MemoryStorage();
    expect(await loadSettings(storage)).toMatchObject({ sendFormat: 'pgp-mime', outerSubject: '...', inlineOnlyCorrespondents: [] });
    expect(await saveSettings(storage, { sendFormat: 'inline', outerSubject: '  Encrypted message ', inlineOnlyCorrespondents: [' Carol@Sigill.test', 'carol@sigill.test', 'dave@sigill.test'] })).toMatchObject({
      sendFormat: 'inline',
      outerSubject: 'Encrypted message',
      inlineOnlyCorrespondents: ['carol@sigill.test', 'dave@sigill.test'],
    });
    await expectSigillError(saveSettings(storage, { sendFormat: 'smime' as never }), 'BAD_INPUT');
    await expectSigillError(saveSettings(storage, { outerSubject: '' }), 'BAD_INPUT');
    await expectSigillError(saveSettings(storage, { outerSubject: 'two\r\nBcc: eve@example.net' }), 'BAD_INPUT');
    await expectSigillError(saveSettings(storage, { inlineOnlyCorrespondents: ['Carol <carol@sigill.test>'] }), 'BAD_INPUT');
    expect((await loadSettings(storage)).sendFormat).toBe('inline');
  });
});
