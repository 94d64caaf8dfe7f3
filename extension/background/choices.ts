/**
 * The per-message Encrypt/Sign choices made in the compose popup, kept where a suspended background
 * finds them again. Thunderbird suspends an idle Manifest V3 background after 30 s; a choice held
 * only in memory would then be forgotten between the click in the popup and Send, and a message the
 * user asked to encrypt could go out by the defaults. `storage.session` lives as long as Thunderbird
 * runs, is never written to disk, and survives the background's suspension.
 */
import type { MessageChoice } from './send.ts';

/** The part of `storage.session` used here. */
export interface SessionArea {
  get(keys: string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
}

const KEY = 'composeChoices';

function isChoice(value: unknown): value is MessageChoice {
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).every(([name, flag]) => ['encrypt', 'sign', 'attachPublicKey'].includes(name) && typeof flag === 'boolean');
}

/** A Map of choices by compose tab whose every change is written through to `storage.session`. */
export class SessionChoices extends Map<number, MessageChoice> {
  readonly #area: SessionArea | undefined;
  #written: Promise<void> = Promise.resolve();

  /** `area` undefined: memory only (a platform without `storage.session`). */
  constructor(area: SessionArea | undefined) {
    super();
    this.#area = area;
  }

  /**
   * Takes back the choices an earlier run of this background stored, for tabs this run has not
   * chosen for yet; rejects if they cannot be read (the send path then refuses to send).
   */
  async restore(): Promise<void> {
    if (this.#area === undefined) return;
    const stored = (await this.#area.get([KEY]))[KEY];
    if (typeof stored !== 'object' || stored === null) return;
    for (const [tab, choice] of Object.entries(stored)) {
      const tabId = Number(tab);
      if (Number.isInteger(tabId) && isChoice(choice) && !this.has(tabId)) super.set(tabId, { ...choice });
    }
  }

  override set(tabId: number, choice: MessageChoice): this {
    super.set(tabId, choice);
    this.#persist();
    return this;
  }

  override delete(tabId: number): boolean {
    const had = super.delete(tabId);
    if (had) this.#persist();
    return had;
  }

  /** Settles when every change so far is stored (rejects if the last write failed). */
  flushed(): Promise<void> {
    return this.#written;
  }

  #persist(): void {
    const area = this.#area;
    if (area === undefined) return;
    const snapshot = Object.fromEntries([...this.entries()].map(([tabId, choice]) => [String(tabId), { ...choice }]));
    // Writes are chained so that an older snapshot can never land after a newer one.
    this.#written = this.#written.catch(() => undefined).then(() => area.set({ [KEY]: snapshot }));
    this.#written.catch((error: unknown) => console.error('sigill: the compose choices could not be kept for a suspended background', error));
  }
}
