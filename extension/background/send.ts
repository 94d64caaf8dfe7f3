/**
 * The send hook (`compose.onBeforeSend`): decides whether this message goes encrypted and/or signed,
 * plans it against the keyring, unlocks the signing key through the passphrase prompt, transforms the
 * body and every attachment, and only when every ciphertext is ready swaps the attachments and hands
 * the armored body back to Thunderbird. Fail closed: whatever goes wrong on the way (a recipient
 * without a usable key, a cancelled prompt, an unreadable attachment, any exception) cancels the send,
 * names the recipient or the step in a notification, and leaves the compose window as it was —
 * nothing is swapped before everything is ready, and whatever was swapped is put back.
 *
 * Platform access comes in through `SendDependencies`, so Node tests run this with real core code.
 */
import {
  clearUnlockedKey,
  copyPrivateKey,
  formatFingerprint,
  isSigillError,
  keyringKeySource,
  mailboxAddress,
  planOutgoing,
  SigillError,
  transformOutgoing,
  unlockKey,
  type Keyring,
  type OutgoingPlan,
  type Settings,
} from '../../src/core/index.ts';
import type { ComposeAttachmentInfo, ComposeDetailsView, ComposeFileAttachment } from '../platform/browser.ts';
import type { PromptInfo } from '../shared/messages.ts';

/** OpenPGP.js's secret key type, as the core hands it out (extension code imports no crypto library). */
type PrivateKey = NonNullable<OutgoingPlan['signingKey']>;

/** The compose calls the send hook needs (`compose.*` of Thunderbird). */
export interface ComposeAttachments {
  listAttachments(tabId: number): Promise<ComposeAttachmentInfo[]>;
  getAttachmentFile(attachmentId: number): Promise<File>;
  updateAttachment(tabId: number, attachmentId: number, attachment: ComposeFileAttachment): Promise<unknown>;
  addAttachment(tabId: number, attachment: ComposeFileAttachment): Promise<ComposeAttachmentInfo>;
  removeAttachment(tabId: number, attachmentId: number): Promise<unknown>;
}

/** What the user chose for one message in the compose popup; absent fields follow the settings. */
export interface MessageChoice {
  encrypt?: boolean;
  sign?: boolean;
  /** Attach the sender's public key (`OpenPGP_0x<KEYID>.asc`); absent follows the `attachPublicKey` setting. */
  attachPublicKey?: boolean;
}

export interface SendDependencies {
  keyring: Keyring;
  settings: () => Promise<Settings>;
  compose: ComposeAttachments;
  /** Asks for a passphrase until `attempt` succeeds (resolves) or the user cancels (rejects CANCELLED). */
  askPassphrase: (info: PromptInfo, attempt: (passphrase: string) => Promise<void>) => Promise<void>;
  /** Tells the user why the send was cancelled (a notification). */
  notify: (failure: SendFailure) => Promise<void>;
  /** The per-message choices made in the compose popup, by compose tab. */
  choice: (tabId: number) => MessageChoice | undefined;
  /** True when the message is a reply to or forward of an encrypted message (it stays encrypted). */
  relatesToEncrypted?: (details: ComposeDetailsView) => Promise<boolean>;
}

/** The steps of a send, named in the notification when one fails. */
export type SendStep = 'recipients' | 'unlock' | 'attachments' | 'encrypt' | 'swap';

export interface SendFailure {
  tabId: number;
  step: SendStep;
  code: string;
  /** One line per problem, naming the recipient when there is one. */
  problems: Array<{ address?: string; field?: string; code: string; message: string }>;
}

export type BeforeSendResult = { cancel: true } | { cancel?: false; details?: ComposeDetailsView };

/** What this message will be: decided from the popup's choices, the settings and the keyring. */
export interface Protection {
  encrypt: boolean;
  sign: boolean;
  /** True when encryption was asked for (popup, or replying to encrypted): then it is encrypt or nothing. */
  encryptRequired: boolean;
  signRequired: boolean;
}

class StepError extends Error {
  constructor(
    readonly step: SendStep,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

async function step<T>(name: SendStep, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw error instanceof StepError ? error : new StepError(name, error);
  }
}

/** Recipients as strings; a contact or mailing-list reference cannot be looked up and is refused. */
export function recipientList(list: ComposeDetailsView['to']): string[] {
  if (list === undefined || list === null) return [];
  const entries = Array.isArray(list) ? list : [list];
  return entries.map((entry) => {
    if (typeof entry === 'string') return entry;
    throw new SigillError('BAD_INPUT', { detail: `a ${String(entry.type)} from the address book cannot be checked for keys; type the address` });
  });
}

function fromOf(details: ComposeDetailsView): string {
  if (typeof details.from !== 'string' || details.from === '') throw new SigillError('BAD_INPUT', { detail: 'the message has no sender address' });
  return details.from;
}

/**
 * Decides encrypt/sign for a message. An explicit choice in the popup wins; otherwise encryption is on
 * when the settings say so and every recipient has an accepted key (or the message answers an encrypted
 * one, where it is required), and signing is on when the settings say so and the sender has a key.
 */
export async function decideProtection(options: {
  keyring: Keyring;
  settings: Settings;
  details: ComposeDetailsView;
  choice?: MessageChoice | undefined;
  relatesToEncrypted?: boolean;
}): Promise<Protection> {
  const { choice, settings, details } = options;
  const keys = keyringKeySource({ keyring: options.keyring });
  const request = { from: fromOf(details), to: recipientList(details.to), cc: recipientList(details.cc), bcc: recipientList(details.bcc), keys };
  const encryptRequired = choice?.encrypt === true || (choice?.encrypt === undefined && options.relatesToEncrypted === true);
  let encrypt = encryptRequired;
  if (choice?.encrypt === undefined && !encryptRequired && settings.encryptByDefault) {
    encrypt = (await planOutgoing({ ...request, encrypt: true, sign: false })).ready;
  }
  const signRequired = choice?.sign === true;
  let sign = signRequired;
  if (choice?.sign === undefined && settings.signByDefault) {
    sign = (await keys.sender(mailboxAddress(request.from))) !== undefined;
  }
  return { encrypt, sign, encryptRequired, signRequired };
}

/** Thunderbird's own OpenPGP/S/MIME switched off for this message, so nothing is encrypted twice. */
function builtinOff(details: ComposeDetailsView): Pick<ComposeDetailsView, 'selectedEncryptionTechnology'> {
  const selected = details.selectedEncryptionTechnology;
  if (selected === undefined || selected === null) return {};
  if (!selected.encryptBody && !selected.encryptSubject && !selected.signMessage) return {};
  return { selectedEncryptionTechnology: { name: selected.name, encryptBody: false, encryptSubject: false, signMessage: false } };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[character] ?? character);
}

/** A ciphertext or signature ready to go in, built before anything in the compose window changes. */
interface Prepared {
  attachment: ComposeAttachmentInfo;
  replacesSource: boolean;
  file: File;
}

export class SendHook {
  readonly #deps: SendDependencies;

  constructor(deps: SendDependencies) {
    this.#deps = deps;
  }

  /** The `compose.onBeforeSend` listener. Never throws: any failure is `{ cancel: true }` and a notification. */
  async onBeforeSend(tab: { id?: number }, details: ComposeDetailsView): Promise<BeforeSendResult> {
    const tabId = tab.id ?? -1;
    try {
      return await this.#send(tabId, details);
    } catch (error) {
      const failure = this.#failure(tabId, error);
      try {
        await this.#deps.notify(failure);
      } catch (notifyError) {
        console.error('sigill: the cancelled send could not be notified', notifyError);
      }
      console.info(`sigill: send cancelled at step "${failure.step}": ${failure.problems.map((problem) => problem.message).join('; ')}`);
      return { cancel: true };
    }
  }

  #failure(tabId: number, error: unknown): SendFailure {
    const stepName = error instanceof StepError ? error.step : 'encrypt';
    const cause = error instanceof StepError ? error.cause : error;
    if (cause instanceof PlanNotReady) {
      return { tabId, step: stepName, code: cause.plan.problems[0]?.code ?? 'INTERNAL', problems: cause.plan.problems.map((problem) => ({ ...problem })) };
    }
    const code = isSigillError(cause) ? cause.code : 'INTERNAL';
    const message = cause instanceof Error ? cause.message : String(cause);
    return { tabId, step: stepName, code, problems: [{ code, message }] };
  }

  /**
   * The sender's armored public key as a file, when this message should carry it (the popup's choice,
   * else the setting). Autocrypt headers cannot be set by a MailExtension, so the key travels as an
   * attachment named the way Thunderbird names it, which other mail clients recognise.
   */
  async #publicKeyFile(tabId: number, details: ComposeDetailsView, settings: Settings): Promise<File | undefined> {
    const attach = this.#deps.choice(tabId)?.attachPublicKey ?? settings.attachPublicKey;
    if (!attach) return undefined;
    const keyring = this.#deps.keyring;
    const address = mailboxAddress(fromOf(details));
    const [record] = keyring.ownKeysFor(address);
    if (record === undefined) throw new SigillError('KEY_NOT_FOUND', { detail: `no own key for ${address} to attach` });
    const fileName = `OpenPGP_0x${record.keyID.toUpperCase()}.asc`;
    // Sent again after a cancelled send: the key is already there, once is enough.
    const present = await this.#deps.compose.listAttachments(tabId);
    if (present.some((attachment) => attachment.name === fileName)) return undefined;
    return new File([await keyring.exportPublic(record.fingerprint)], fileName, { type: 'application/pgp-keys' });
  }

  async #send(tabId: number, details: ComposeDetailsView): Promise<BeforeSendResult> {
    const deps = this.#deps;
    const settings = await step('recipients', () => deps.settings());
    const protection = await step('recipients', async () =>
      decideProtection({
        keyring: deps.keyring,
        settings,
        details,
        choice: deps.choice(tabId),
        relatesToEncrypted: (await deps.relatesToEncrypted?.(details)) ?? false,
      }),
    );
    const publicKey = await step('attachments', () => this.#publicKeyFile(tabId, details, settings));
    if (!protection.encrypt && !protection.sign) {
      if (publicKey !== undefined) await step('swap', () => deps.compose.addAttachment(tabId, { file: publicKey, name: publicKey.name }));
      return {};
    }

    const plan = await step('recipients', async () => {
      const planned = await planOutgoing({
        from: fromOf(details),
        to: recipientList(details.to),
        cc: recipientList(details.cc),
        bcc: recipientList(details.bcc),
        encrypt: protection.encrypt,
        sign: protection.sign,
        keys: keyringKeySource({ keyring: deps.keyring }),
      });
      if (!planned.ready) throw new PlanNotReady(planned);
      return planned;
    });

    // The body: the plain-text composer's text, or the plain-text rendition of an HTML message (the
    // HTML itself is never sent: see docs/architecture.md, "Send").
    const body = details.plainTextBody;
    if (typeof body !== 'string') throw new StepError('encrypt', new SigillError('BAD_INPUT', { detail: 'Thunderbird gave no plain-text body for this message' }));

    const signingKey = plan.sign ? await step('unlock', () => this.#signingKey(plan)) : undefined;
    try {
      const ready: OutgoingPlan = signingKey === undefined ? plan : { ...plan, signingKey };
      const originals = await step('attachments', () => deps.compose.listAttachments(tabId));
      const files = await step('attachments', async () => {
        const read: File[] = [];
        for (const attachment of originals) read.push(await deps.compose.getAttachmentFile(attachment.id));
        return read;
      });
      const result = await step('encrypt', () =>
        transformOutgoing({
          plan: ready,
          body,
          attachments: originals.map((attachment, index) => ({
            name: attachment.name ?? files[index]?.name ?? 'attachment',
            data: () => (files[index] as File).stream(),
          })),
        }),
      );
      // Every ciphertext complete before anything is swapped. `new Response(stream).blob()` lets Gecko
      // keep a large blob in a temporary file rather than in memory.
      const prepared = await step('encrypt', async () => {
        const out: Prepared[] = [];
        for (const transformed of result.attachments) {
          const started = Date.now();
          const blob = await new Response(await transformed.open()).blob();
          console.info(`sigill: send: ${transformed.name} ready (${blob.size} bytes) in ${Date.now() - started} ms`);
          out.push({ attachment: originals[transformed.source] as ComposeAttachmentInfo, replacesSource: transformed.replacesSource, file: new File([blob], transformed.name, { type: 'text/plain' }) });
        }
        return out;
      });
      // The public key is public: it goes as it is, added after the message's own attachments were read,
      // so it is neither encrypted nor signed.
      await step('swap', () => this.#swap(tabId, prepared, files, publicKey));
      const html = details.isPlainText === false;
      return {
        details: {
          plainTextBody: result.body,
          // An HTML message goes as plain text: its HTML would be a plaintext copy of the body. Thunderbird
          // does not switch the editor during a send, so the HTML body is replaced by the armored text too.
          ...(html ? { isPlainText: true, deliveryFormat: 'plaintext', body: `<pre>${escapeHtml(result.body)}</pre>` } : {}),
          ...builtinOff(details),
        },
      };
    } finally {
      if (signingKey !== undefined) clearUnlockedKey(signingKey);
    }
  }

  /** Replaces or adds every prepared file; on any failure puts back what was replaced and removes what was added. */
  async #swap(tabId: number, prepared: Prepared[], originalFiles: File[], publicKey?: File): Promise<void> {
    const compose = this.#deps.compose;
    const replaced: Array<{ attachment: ComposeAttachmentInfo; file: File }> = [];
    const added: number[] = [];
    try {
      for (const item of prepared) {
        if (item.replacesSource) {
          await compose.updateAttachment(tabId, item.attachment.id, { file: item.file, name: item.file.name });
          const index = prepared.filter((entry) => entry.replacesSource).indexOf(item);
          replaced.push({ attachment: item.attachment, file: originalFiles[index] as File });
        } else {
          added.push((await compose.addAttachment(tabId, { file: item.file, name: item.file.name })).id);
        }
      }
      if (publicKey !== undefined) added.push((await compose.addAttachment(tabId, { file: publicKey, name: publicKey.name })).id);
    } catch (error) {
      for (const { attachment, file } of replaced.reverse()) {
        await compose.updateAttachment(tabId, attachment.id, { file, name: attachment.name ?? file.name }).catch((restoreError: unknown) => console.error('sigill: an attachment could not be restored', restoreError));
      }
      for (const id of added) await compose.removeAttachment(tabId, id).catch(() => undefined);
      throw error;
    }
  }

  /** The signing key unlocked for this send: a copy of the cached one, or unlocked through the prompt. */
  async #signingKey(plan: OutgoingPlan): Promise<PrivateKey> {
    const stored = plan.signingKey;
    if (stored === undefined) throw new SigillError('NO_SIGNING_KEY', { detail: plan.from });
    const fingerprint = stored.getFingerprint();
    // A copy: the cached key may time out (and be cleared) while a large attachment is being signed.
    const cached = this.#deps.keyring.unlockedKey(fingerprint);
    if (cached !== undefined) return copyPrivateKey(cached);
    const record = this.#deps.keyring.record(fingerprint);
    let unlocked: PrivateKey | undefined;
    await this.#deps.askPassphrase(
      { userID: record?.primaryUserID ?? record?.userIDs[0] ?? plan.from, fingerprint: formatFingerprint(fingerprint), reason: 'sign' },
      async (passphrase) => {
        const key = await unlockKey(await this.#deps.keyring.secretKey(fingerprint), [passphrase]);
        unlocked = key;
        // Kept for the chosen unlock time (a time of 0 keeps nothing); this send uses its own copy.
        this.#deps.keyring.unlocked.put(fingerprint, await copyPrivateKey(key));
      },
    );
    if (unlocked === undefined) throw new SigillError('KEY_LOCKED', { detail: formatFingerprint(fingerprint) });
    return unlocked;
  }
}

/** A plan with problems, carried to the notification with every problem it lists. */
class PlanNotReady extends Error {
  constructor(readonly plan: OutgoingPlan) {
    super(plan.problems.map((problem) => problem.message).join('; '));
  }
}
