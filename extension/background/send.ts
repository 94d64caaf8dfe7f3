/**
 * The send hook (`compose.onBeforeSend`): decides whether this message goes encrypted and/or signed,
 * plans it against the keyring, unlocks the signing key through the passphrase prompt, and chooses the
 * wire format (`chooseWireFormat`). PGP/MIME (the default where the Experiment works): the compose tab
 * is armed with the plan and Thunderbird's finished MIME body is wrapped later, inside its send
 * (send-pgpmime.ts); the compose window is not touched. Inline: the body and every attachment are
 * transformed, and only when every ciphertext is ready are the attachments swapped and the armored body
 * handed back to Thunderbird; if the delivery then fails (compose.onAfterSend with an error), the
 * original body and attachments are put back. Fail closed: whatever goes wrong on the way (a recipient
 * without a usable key, a cancelled prompt, an unreadable attachment, any exception) cancels the send,
 * names the recipient or the step in a notification, and leaves the compose window as it was —
 * nothing is swapped before everything is ready, and whatever was swapped is put back. PGP/MIME that
 * cannot be armed falls back to inline with a notice, never to plaintext.
 *
 * Platform access comes in through `SendDependencies`, so Node tests run this with real core code.
 */
import {
  chooseWireFormat,
  clearUnlockedKey,
  copyPrivateKey,
  formatFingerprint,
  isSigillError,
  keyringKeySource,
  mailboxAddress,
  planOutgoing,
  pulseActivity,
  SigillError,
  transformOutgoing,
  unlockKey,
  type FormatChoice,
  type Keyring,
  type OutgoingPlan,
  type Settings,
} from '../../src/core/index.ts';
import type { PgpMimeSender } from './send-pgpmime.ts';
import type { AfterSendInfo, ComposeAttachmentInfo, ComposeDetailsView, ComposeFileAttachment } from '../platform/browser.ts';
import type { PromptInfo } from '../shared/messages.ts';

/** OpenPGP.js's secret key type, as the core hands it out (extension code imports no crypto library). */
type PrivateKey = NonNullable<OutgoingPlan['signingKey']>;

/** The compose calls the send hook needs (`compose.*` of Thunderbird). */
export interface ComposeAttachments {
  /** Puts the original body back after a failed delivery (optional: without it nothing is restored). */
  setComposeDetails?(tabId: number, details: ComposeDetailsView): Promise<unknown>;
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
  /** PGP/MIME through the Experiment; absent: PGP/MIME is not available (inline with a notice). */
  pgpMime?: PgpMimeSender;
  /** Tells the user that the message goes inline although PGP/MIME was asked for (a notification). */
  notice?: (notice: FormatNotice) => Promise<void>;
}

/** A message sent in another format than the setting asks for, and why. */
export interface FormatNotice {
  tabId: number;
  because: 'unavailable';
  reason: string;
}

/** The steps of a send, named in the notification when one fails. */
export type SendStep = 'recipients' | 'unlock' | 'attachments' | 'encrypt' | 'swap' | 'pgpmime';

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

/**
 * The wire format of a protected message: the setting, a correspondent's inline override (one such
 * recipient makes the whole message inline), and whether PGP/MIME can be sent here.
 */
export async function decideFormat(options: { settings: Settings; details: ComposeDetailsView; pgpMime?: PgpMimeSender | undefined }): Promise<FormatChoice> {
  const { settings, details } = options;
  const recipients = [...recipientList(details.to), ...recipientList(details.cc), ...recipientList(details.bcc)].map((recipient) => mailboxAddress(recipient).toLowerCase());
  const overrides = Object.fromEntries(settings.inlineOnlyCorrespondents.map((address) => [address, 'inline' as const]));
  const availability = settings.sendFormat === 'inline' ? { available: false } : options.pgpMime === undefined ? { available: false, reason: 'the PGP/MIME Experiment is not loaded' } : await options.pgpMime.availability();
  return chooseWireFormat({
    preferred: settings.sendFormat,
    overrides,
    recipients,
    pgpMimeAvailable: availability.available,
    ...(availability.reason === undefined ? {} : { unavailableReason: availability.reason }),
  });
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

/** What an inline send changed in the compose window, to put back if the delivery fails. */
interface InlineChanges {
  replaced: Array<{ attachment: ComposeAttachmentInfo; file: File }>;
  added: number[];
  /** The body as it was (the fields the send replaced). */
  body: ComposeDetailsView;
}

export class SendHook {
  readonly #deps: SendDependencies;
  /** Inline sends on their way, by compose tab, until compose.onAfterSend says how they ended. */
  readonly #inFlight = new Map<number, InlineChanges>();

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

  /**
   * The `compose.onAfterSend` listener. A delivery that failed after an inline send replaced the body
   * and attachments with ciphertext (the SMTP server refused it, the connection broke) would leave the
   * compose window holding ciphertext: the originals are put back, so the user can send again.
   */
  async onAfterSend(tab: { id?: number }, info: AfterSendInfo): Promise<void> {
    const tabId = tab.id ?? -1;
    this.#deps.pgpMime?.release(tabId);
    const changes = this.#inFlight.get(tabId);
    this.#inFlight.delete(tabId);
    if (changes === undefined || !deliveryFailed(info)) return;
    const compose = this.#deps.compose;
    for (const { attachment, file } of changes.replaced) {
      await compose.updateAttachment(tabId, attachment.id, { file, name: attachment.name ?? file.name }).catch((error: unknown) => console.error('sigill: an attachment could not be restored', error));
    }
    for (const id of changes.added) await compose.removeAttachment(tabId, id).catch(() => undefined);
    await compose.setComposeDetails?.(tabId, changes.body).catch((error: unknown) => console.error('sigill: the body could not be restored', error));
    console.info(`sigill: send failed after encryption (${info.error || 'no Message-ID: the server did not take it'}); the compose window holds the original message again`);
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
    // A send that never reached the wire earlier leaves nothing behind that could apply to this one.
    this.#inFlight.delete(tabId);
    await step('pgpmime', async () => deps.pgpMime?.disarm(tabId));
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

    const format = await step('recipients', () => decideFormat({ settings, details, pgpMime: deps.pgpMime }));
    const signingKey = plan.sign ? await step('unlock', () => this.#signingKey(plan)) : undefined;
    const ready: OutgoingPlan = signingKey === undefined ? plan : { ...plan, signingKey };
    let keyKept = false;
    try {
      if (format.format === 'pgp-mime') {
        const armed = await this.#armPgpMime(tabId, details, ready, settings, publicKey);
        if (armed !== undefined) {
          // The armed plan owns the unlocked key now; it is cleared when the send ends.
          keyKept = true;
          return armed;
        }
      } else if (format.because === 'unavailable') {
        await this.#notice({ tabId, because: 'unavailable', reason: (await deps.pgpMime?.availability())?.reason ?? 'the PGP/MIME Experiment is not loaded' });
      }
      return await this.#sendInline(tabId, details, ready, publicKey);
    } finally {
      if (signingKey !== undefined && !keyKept) clearUnlockedKey(signingKey);
    }
  }

  /**
   * Arms the Experiment for this tab's send, or says (undefined, after a notice) that PGP/MIME cannot
   * work after all (a Thunderbird whose internals changed is found out here too): the caller goes inline.
   */
  async #armPgpMime(tabId: number, details: ComposeDetailsView, plan: OutgoingPlan, settings: Settings, publicKey: File | undefined): Promise<BeforeSendResult | undefined> {
    const deps = this.#deps;
    try {
      if (deps.pgpMime === undefined) throw new SigillError('UNSUPPORTED_OPTION', { detail: 'the PGP/MIME Experiment is not loaded' });
      await deps.pgpMime.arm(tabId, plan, { outerSubject: settings.outerSubject });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await this.#notice({ tabId, because: 'unavailable', reason });
      return undefined;
    }
    try {
      // The public key goes inside the PGP/MIME entity with the other attachments.
      if (publicKey !== undefined) await step('swap', () => deps.compose.addAttachment(tabId, { file: publicKey, name: publicKey.name }));
    } catch (error) {
      deps.pgpMime.release(tabId);
      throw error;
    }
    console.info(`sigill: send: PGP/MIME armed for compose tab ${tabId} (${plan.encrypt ? 'encrypted' : 'signed only'})`);
    return { details: builtinOff(details) };
  }

  async #notice(notice: FormatNotice): Promise<void> {
    console.warn(`sigill: PGP/MIME cannot be sent (${notice.reason}); sending inline`);
    await this.#deps.notice?.(notice).catch((error: unknown) => console.error('sigill: the notice could not be shown', error));
  }

  async #sendInline(tabId: number, details: ComposeDetailsView, ready: OutgoingPlan, publicKey: File | undefined): Promise<BeforeSendResult> {
    const deps = this.#deps;
    // The body: the plain-text composer's text, or the plain-text rendition of an HTML message (the
    // HTML itself is never sent inline: see docs/architecture.md, "Send").
    const body = details.plainTextBody;
    if (typeof body !== 'string') throw new StepError('encrypt', new SigillError('BAD_INPUT', { detail: 'Thunderbird gave no plain-text body for this message' }));
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
        // Each chunk pulses: a long encryption is activity Thunderbird must not suspend the background for.
        const pulsed = (await transformed.open()).pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, out) => (pulseActivity(), out.enqueue(chunk)) }));
        const blob = await new Response(pulsed).blob();
        console.info(`sigill: send: ${transformed.name} ready (${blob.size} bytes) in ${Date.now() - started} ms`);
        out.push({ attachment: originals[transformed.source] as ComposeAttachmentInfo, replacesSource: transformed.replacesSource, file: new File([blob], transformed.name, { type: 'text/plain' }) });
      }
      return out;
    });
    // The public key is public: it goes as it is, added after the message's own attachments were read,
    // so it is neither encrypted nor signed.
    const swapped = await step('swap', () => this.#swap(tabId, prepared, files, publicKey));
    const html = details.isPlainText === false;
    // Kept until compose.onAfterSend: a failed delivery puts these back.
    this.#inFlight.set(tabId, {
      ...swapped,
      body: html ? { body: details.body ?? '', ...(details.deliveryFormat === undefined ? {} : { deliveryFormat: details.deliveryFormat }) } : { plainTextBody: body },
    });
    return {
      details: {
        plainTextBody: result.body,
        // An HTML message goes as plain text: its HTML would be a plaintext copy of the body. Thunderbird
        // does not switch the editor during a send, so the HTML body is replaced by the armored text too.
        ...(html ? { isPlainText: true, deliveryFormat: 'plaintext', body: `<pre>${escapeHtml(result.body)}</pre>` } : {}),
        ...builtinOff(details),
      },
    };
  }

  /** Replaces or adds every prepared file; on any failure puts back what was replaced and removes what was added. */
  async #swap(tabId: number, prepared: Prepared[], originalFiles: File[], publicKey?: File): Promise<Pick<InlineChanges, 'replaced' | 'added'>> {
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
      return { replaced, added };
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

/**
 * Whether a send ended without reaching the server. An error says so; Thunderbird 153 also reports a
 * `sendNow` the SMTP server refused as a success without a Message-ID (its delivery promise resolves
 * before the failure is known), while an accepted `sendNow` always has one.
 */
export function deliveryFailed(info: AfterSendInfo): boolean {
  if (typeof info.error === 'string' && info.error !== '') return true;
  return info.mode === 'sendNow' && (typeof info.headerMessageId !== 'string' || info.headerMessageId === '');
}

/** A plan with problems, carried to the notification with every problem it lists. */
class PlanNotReady extends Error {
  constructor(readonly plan: OutgoingPlan) {
    super(plan.problems.map((problem) => problem.message).join('; '));
  }
}
