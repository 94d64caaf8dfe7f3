/**
 * A stand-in for Thunderbird's compose windows in Node, shaped as `BrowserApi['compose']`: each tab
 * holds compose details and attachments (real `File`s); `send(tabId)` runs the onBeforeSend listeners
 * as Thunderbird does and applies what they return, or reports the cancel. Failures can be injected
 * (`failGetFile`, `failUpdateAfter`) to prove that a failed send leaves the window as it was. Real
 * Thunderbird runs the same hook in test/e2e/send*.test.ts.
 */
import type { BeforeSendListener, BrowserApi, ComposeAttachmentInfo, ComposeDetailsView } from '../../../extension/platform/browser.ts';

type AfterSendListener = Parameters<BrowserApi['compose']['onAfterSend']['addListener']>[0];

interface Attachment {
  id: number;
  name: string;
  file: File;
}

interface ComposeTab {
  details: ComposeDetailsView;
  attachments: Attachment[];
}

export interface NodeComposer extends Pick<BrowserApi, 'compose'> {
  open(details: ComposeDetailsView, attachments?: Array<{ name: string; data: Uint8Array<ArrayBuffer> | string }>): number;
  /**
   * Runs onBeforeSend like a click on Send: `sent` with what would go out, or `cancelled`; then
   * onAfterSend, with `deliveryError` as its error when given (the SMTP server refused the message).
   * `delivery` runs in between, where Thunderbird assembles and delivers the message.
   * `refusedWithoutError`: what Thunderbird 153 reports when the server refuses a sendNow (no error, no Message-ID).
   */
  send(tabId: number, options?: { deliveryError?: string; refusedWithoutError?: boolean; delivery?: () => Promise<unknown> }): Promise<{ outcome: 'sent' | 'cancelled'; details: ComposeDetailsView; attachments: Array<{ name: string; data: Uint8Array }> }>;
  /** What the compose window holds now (body and attachment bytes). */
  snapshot(tabId: number): Promise<{ details: ComposeDetailsView; attachments: Array<{ name: string; data: Uint8Array }> }>;
  failGetFile: Set<number>;
  /** Makes the n-th updateAttachment call (1-based, counted from now) fail. */
  failUpdateAfter: number | undefined;
  calls: string[];
}

export function nodeComposer(): NodeComposer {
  const tabs = new Map<number, ComposeTab>();
  const listeners: BeforeSendListener[] = [];
  const afterSend: AfterSendListener[] = [];
  let nextTab = 1;
  let nextAttachment = 1;
  let updates = 0;

  function tab(tabId: number): ComposeTab {
    const found = tabs.get(tabId);
    if (found === undefined) throw new Error(`no compose tab ${tabId}`);
    return found;
  }
  function attachmentOf(attachmentId: number): Attachment {
    for (const composeTab of tabs.values()) {
      const found = composeTab.attachments.find((attachment) => attachment.id === attachmentId);
      if (found !== undefined) return found;
    }
    throw new Error(`no attachment ${attachmentId}`);
  }
  const info = (attachment: Attachment): ComposeAttachmentInfo => ({ id: attachment.id, name: attachment.name, size: attachment.file.size });

  async function snapshot(tabId: number) {
    const composeTab = tab(tabId);
    return {
      details: structuredClone(composeTab.details),
      attachments: await Promise.all(composeTab.attachments.map(async (attachment) => ({ name: attachment.name, data: new Uint8Array(await attachment.file.arrayBuffer()) }))),
    };
  }

  const composer: NodeComposer = {
    failGetFile: new Set(),
    failUpdateAfter: undefined,
    calls: [],
    open(details, attachments = []) {
      const tabId = nextTab++;
      tabs.set(tabId, {
        details: structuredClone(details),
        attachments: attachments.map(({ name, data }) => ({ id: nextAttachment++, name, file: new File([data], name) })),
      });
      return tabId;
    },
    async send(tabId, options = {}) {
      for (const listener of listeners) {
        const result = (await listener({ id: tabId }, structuredClone(tab(tabId).details))) ?? {};
        if (result.cancel === true) return { outcome: 'cancelled', ...(await snapshot(tabId)) };
        if (result.details !== undefined) Object.assign(tab(tabId).details, result.details);
      }
      const sent = await snapshot(tabId);
      await options.delivery?.();
      const info = options.deliveryError !== undefined ? { mode: 'sendNow', error: options.deliveryError } : options.refusedWithoutError === true ? { mode: 'sendNow' } : { mode: 'sendNow', headerMessageId: `${tabId}@node.test` };
      for (const listener of afterSend) await listener({ id: tabId }, info);
      return { outcome: 'sent', ...sent };
    },
    snapshot,
    compose: {
      onBeforeSend: { addListener: (listener) => void listeners.push(listener) },
      onComposeStateChanged: { addListener: () => undefined },
      onAfterSend: { addListener: (listener) => void afterSend.push(listener) },
      getComposeDetails: async (tabId) => structuredClone(tab(tabId).details),
      setComposeDetails: async (tabId, details) => {
        composer.calls.push('setComposeDetails');
        Object.assign(tab(tabId).details, structuredClone(details));
      },
      listAttachments: async (tabId) => tab(tabId).attachments.map(info),
      getAttachmentFile: async (attachmentId) => {
        composer.calls.push(`getAttachmentFile ${attachmentId}`);
        if (composer.failGetFile.has(attachmentId)) throw new Error(`attachment ${attachmentId} cannot be read`);
        return attachmentOf(attachmentId).file;
      },
      updateAttachment: async (tabId, attachmentId, { file, name }) => {
        composer.calls.push(`updateAttachment ${attachmentId} ${name ?? ''}`);
        updates += 1;
        if (composer.failUpdateAfter !== undefined && updates >= composer.failUpdateAfter) {
          composer.failUpdateAfter = undefined;
          throw new Error('updateAttachment failed');
        }
        const attachment = tab(tabId).attachments.find((entry) => entry.id === attachmentId);
        if (attachment === undefined) throw new Error(`no attachment ${attachmentId} in tab ${tabId}`);
        if (file !== undefined) attachment.file = file;
        attachment.name = name ?? file?.name ?? attachment.name;
        return info(attachment);
      },
      addAttachment: async (tabId, { file, name }) => {
        composer.calls.push(`addAttachment ${name ?? ''}`);
        if (file === undefined) throw new Error('addAttachment without a file');
        const attachment = { id: nextAttachment++, name: name ?? file.name, file };
        tab(tabId).attachments.push(attachment);
        return info(attachment);
      },
      removeAttachment: async (tabId, attachmentId) => {
        composer.calls.push(`removeAttachment ${attachmentId}`);
        const composeTab = tab(tabId);
        composeTab.attachments = composeTab.attachments.filter((attachment) => attachment.id !== attachmentId);
      },
    },
  };
  return composer;
}
