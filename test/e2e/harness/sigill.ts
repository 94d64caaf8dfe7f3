/**
 * Sigill in a test Thunderbird: provisioning its storage with persona keys before a scenario starts,
 * reading what its storage really holds, and operating its pages (options, passphrase prompt) as a
 * person would, through the driver's page actor (driver/experiment/page-child.sys.mjs).
 */
import { Keyring, MemoryStorage, saveSettings, type Settings } from '../../../src/core/index.ts';
import { fixturePassphrase, readFixture, type Persona } from '../../../keys-fixtures/index.ts';
import { writeExtensionStorageBeforeStart } from '../../../src/testbed/extension-storage.ts';
import { sigillId } from './paths.ts';
import type { Client } from './index.ts';

/** What `world.launch(name, { sigill: {...} })` puts into Sigill's storage before the scenario starts. */
export interface SigillSetup {
  /** The persona whose key pair (keys-fixtures/<name>.sec.asc, still passphrase-protected) is the own key. */
  ownKey?: Persona;
  /** Personas whose certificates are imported and accepted. */
  correspondents?: Persona[];
  settings?: Partial<Settings>;
}

/**
 * The storage.local items of a Sigill holding `setup`, made by the real keyring code (so the schema is
 * exactly the product's). The own key counts as backed up: its backup is the fixture file.
 */
export async function sigillStorageItems(setup: SigillSetup): Promise<Record<string, unknown>> {
  const storage = new MemoryStorage();
  const keyring = await Keyring.open({ storage });
  if (setup.ownKey !== undefined) {
    const report = await keyring.importSecretKeys(readFixture(setup.ownKey, 'sec'), { passphrase: fixturePassphrase(setup.ownKey) });
    if (report.failed.length > 0) throw new Error(`provisioning ${setup.ownKey}: ${JSON.stringify(report.failed)}`);
    for (const { fingerprint } of report.imported) await keyring.markBackedUp(fingerprint);
  }
  for (const name of setup.correspondents ?? []) {
    const report = await keyring.importKeys(readFixture(name, 'pub'), { acceptance: 'accepted' });
    if (report.failed.length > 0) throw new Error(`provisioning ${name}: ${JSON.stringify(report.failed)}`);
  }
  if (setup.settings !== undefined) await saveSettings(storage, setup.settings);
  return storage.snapshot();
}

/** How many times Sigill's background has started in this Thunderbird so far. */
export function sigillStarts(client: Client): number {
  return client.console().split('sigill: background started').length - 1;
}

/**
 * Puts the setup into a fresh profile's Sigill storage before Thunderbird first starts on it: Gecko moves
 * it into storage.local on Sigill's first storage access (src/testbed/extension-storage.ts), so the
 * background's first keyring read already finds every key. Nothing restarts Sigill and nothing writes
 * into a running Thunderbird: the race of an add-on restart after provisioning cannot happen.
 */
export async function provisionSigillBeforeStart(profileDir: string, setup: SigillSetup): Promise<void> {
  writeExtensionStorageBeforeStart({ profileDir, addonId: sigillId, items: await sigillStorageItems(setup) });
}

/** Waits for Sigill's background to log its start (once in this Thunderbird's console). */
export async function waitForSigillStart(client: Client): Promise<void> {
  await waitUntil(() => sigillStarts(client) > 0, 60_000, `Sigill's background start (see ${client.thunderbird.options.logFile})`);
}

/** How many keys Sigill's keyring holds after `provisionSigillBeforeStart(…, setup)`. */
export function provisionedKeys(setup: SigillSetup): number {
  return (setup.ownKey === undefined ? 0 : 1) + (setup.correspondents?.length ?? 0);
}

/**
 * Waits until Sigill's background (its first start in this Thunderbird) has opened the keyring with
 * `keys` keys: it opens it asynchronously, and a scenario that read mail before would see no own key.
 */
export async function waitForSigillKeyring(client: Client, keys: number): Promise<void> {
  const opened = (): string | undefined => /sigill: keyring open \((\d+) keys? in/.exec(client.console())?.[1];
  await waitUntil(() => opened() !== undefined, 60_000, "Sigill's keyring open");
  if (Number(opened()) !== keys) throw new Error(`Sigill's keyring opened with ${opened()} keys, ${keys} provisioned; see ${client.thunderbird.options.logFile}`);
}

/** Sigill's storage.local as the profile holds it (read from outside Sigill). */
export function readSigillStorage(client: Client): Promise<Record<string, unknown>> {
  return client.call('readExtensionStorage', { addonId: sigillId });
}

export interface ElementState {
  exists: boolean;
  text?: string;
  value?: string;
  checked?: boolean;
  disabled?: boolean;
  visible?: boolean;
  focused?: boolean;
  attributes?: Record<string, string>;
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One of Sigill's pages (`options/options.html`, `prompt/prompt.html`) in a test Thunderbird. */
export class SigillPage {
  constructor(
    readonly client: Client,
    readonly path: string,
  ) {}

  static async openOptions(client: Client): Promise<SigillPage> {
    await client.call('openAddonPage', { addonId: sigillId, path: 'options/options.html' });
    const page = new SigillPage(client, 'options/options.html');
    await page.waitFor('body[data-ready="true"]');
    return page;
  }

  /**
   * Opens Sigill's compose popup with a click on its button in the front compose window. Under load the
   * first click can come before the compose window's toolbar is wired up (the popup then never opens): a
   * person would click again, and so does this, up to three times.
   */
  static async openCompose(client: Client): Promise<SigillPage> {
    const popup = new SigillPage(client, 'compose/compose.html');
    for (let attempt = 1; ; attempt += 1) {
      await client.call('clickComposeAction', { addonId: sigillId });
      try {
        await popup.waitFor('#summary', (state) => (state.text ?? '') !== '', 60_000);
        return popup;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** The passphrase prompt window, once Sigill has opened it. */
  static async prompt(client: Client): Promise<SigillPage> {
    const page = new SigillPage(client, 'prompt/prompt.html');
    await page.waitFor('#user-id', (state) => state.text !== '');
    return page;
  }

  /** Closes this page's tabs. */
  close(): Promise<void> {
    return this.client.call('closeAddonPage', { addonId: sigillId, path: this.path }).then(() => undefined);
  }

  act<T>(action: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
    // The driver returns what the page operation found; its shape depends on `action.op` (see ElementState).
    return this.client.call('pageAction', { addonId: sigillId, path: this.path, action, timeoutMs }, timeoutMs + 30_000) as Promise<T>;
  }

  query(selector: string): Promise<ElementState> {
    return this.act({ op: 'query', selector });
  }

  queryAll(selector: string): Promise<ElementState[]> {
    return this.act({ op: 'queryAll', selector });
  }

  async text(selector: string): Promise<string> {
    return (await this.query(selector)).text ?? '';
  }

  click(selector: string): Promise<void> {
    return this.act({ op: 'click', selector });
  }

  /** Types `text` into the element (focused first) with real key presses; `keys` like ['Enter'] follow. */
  type(selector: string | undefined, text: string, keys: string[] = []): Promise<void> {
    return this.act({ op: 'type', ...(selector === undefined ? {} : { selector }), keys: [...text, ...keys] });
  }

  press(key: string): Promise<void> {
    return this.act({ op: 'type', keys: [key] });
  }

  select(selector: string, value: string): Promise<void> {
    return this.act({ op: 'select', selector, value });
  }

  /** What a person picks in the file dialog of an <input type=file>. */
  setFiles(selector: string, files: Array<{ name: string; text: string }>): Promise<void> {
    return this.act({ op: 'setFiles', selector, files });
  }

  dataset(): Promise<Record<string, string>> {
    return this.act({ op: 'dataset' });
  }

  /** Waits until `selector` exists and is visible (and `accept` says yes). */
  async waitFor(selector: string, accept: (state: ElementState) => boolean = () => true, timeoutMs = 60_000): Promise<ElementState> {
    let last: ElementState | { error: string } = { exists: false };
    await waitUntil(
      async () => {
        try {
          last = await this.query(selector);
        } catch (error) {
          last = { error: String(error).split('\n')[0] ?? '' }; // the page may not be open yet
          return false;
        }
        return last.exists && last.visible === true && accept(last);
      },
      timeoutMs,
      `${selector} on ${this.path} (last seen: ${JSON.stringify(last)})`,
    );
    return last as ElementState;
  }
}
