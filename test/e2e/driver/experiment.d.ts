/**
 * Types the driver's type check needs beyond @types/thunderbird-webext-browser: its test-only Experiment
 * API (experiment/schema.json), and a compose property newer than those typings.
 */
import type { AddonInfo, PgpMimeDecryptorMode } from './commands.ts';

declare global {
  namespace messenger {
    namespace sigillTest {
      /** Fetches new mail for an account's inbox now; resolves with the nsresult of the fetch (0 = success). */
      function getNewMessages(accountId: string): Promise<number>;
      /** JSON text of a StartupState (commands.ts). */
      function startupState(): Promise<string>;
      function addonInfo(addonId: string): Promise<AddonInfo | null>;
      function screenshot(): Promise<string>;
      function collectGarbage(): Promise<void>;
      /** JSON text of a MemoryReport (commands.ts). */
      function memoryReport(processKind: 'extension' | 'parent'): Promise<string>;
      function openAddonsManager(addonId: string): Promise<void>;
      function openAddonPage(addonId: string, path: string): Promise<void>;
      function closeAddonPage(addonId: string, path: string): Promise<void>;
      /** `actionJson` and the result are JSON texts (see harness/sigill.ts). */
      function pageAction(addonId: string, path: string, actionJson: string, timeoutMs: number): Promise<string>;
      function readExtensionStorage(addonId: string): Promise<string>;
      function writeExtensionStorage(addonId: string, itemsJson: string): Promise<void>;
      function restartAddon(addonId: string): Promise<void>;
      function setPref(name: string, value: string | number | boolean): Promise<void>;
      function acceptAlert(timeoutMs: number): Promise<string>;
      function clickComposeAction(addonId: string): Promise<void>;
      function editDraft(messageId: number): Promise<void>;
      function messageSecurity(): Promise<string>;
      function pgpMimeDecryptor(mode: PgpMimeDecryptorMode): Promise<void>;
      /** JSON text of PgpMimeDecryptorStats (commands.ts). */
      function pgpMimeDecryptorStats(): Promise<string>;
      /** JSON text of a MessagePane (commands.ts). */
      function messagePane(): Promise<string>;
      /** JSON text of `{ label, badge }`. */
      function messageDisplayActionButton(addonId: string): Promise<string>;
      function clickMessageDisplayAction(addonId: string): Promise<void>;
    }
    namespace compose {
      interface ComposeDetails {
        /** Thunderbird 128+: the message's encryption technology and its switches. */
        selectedEncryptionTechnology?: { name: 'OpenPGP' | 'S/MIME'; encryptBody?: boolean; encryptSubject?: boolean; signMessage?: boolean };
      }
    }
  }
}
