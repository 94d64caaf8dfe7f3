/**
 * The PGP/MIME probe (test only, never shipped): until the send path arms the Experiment itself, this
 * stands in for it. At start it reads config.json (written into the profile's copy by the test) and, for
 * each send there, opens a compose window with an attachment, asks the Experiment to take the next send
 * (armNextSend), answers it with servePgpMime over a plan made from the keys in the config, sends, and
 * says how it went on the console ("pgp-mime-probe: <label> sent <Message-ID> in <n> ms", "... failed <reason>",
 * "... encapsulation failed <code>").
 */
import { planOutgoing, readCertificates, readSecretKeys } from '../../../src/core/index.ts';
import { pgpMimeExperiment, servePgpMime, type PgpMimeExperiment } from '../../../extension/experiments/pgpmime/api.ts';

/** One message to send. */
interface ProbeSend {
  /** Names the send in the console lines. */
  label: string;
  to: string[];
  subject: string;
  body: string;
  attachment: { name: string; type: string; base64: string };
  encrypt: boolean;
  sign: boolean;
  /** Compose in HTML (`body` is HTML; Thunderbird sends HTML and plain alternatives). */
  html?: boolean;
  /**
   * 'sigill' (default): armed for Sigill's PGP/MIME. 'builtin': Thunderbird's own OpenPGP encrypts and
   * signs (the profile must have it). 'plain': neither (for comparing send times).
   */
  via?: 'sigill' | 'builtin' | 'plain';
  /** Save a draft after arming and before sending (drafts pass by the Experiment; the arming stays). */
  saveDraftFirst?: boolean;
}

interface ProbeConfig {
  from: string;
  /** Sent one after the other; a failing one should come last (Thunderbird then shows a modal error). */
  sends: ProbeSend[];
  /** The sender's armored secret key, without passphrase. */
  senderKey: string;
  /** The armored certificates the sender has accepted; an address without one is 'missing'. */
  recipientCertificates: string[];
}

async function sendOne(experiment: PgpMimeExperiment, send: ProbeSend): Promise<string> {
  const bytes = Uint8Array.from(atob(send.attachment.base64), (char) => char.charCodeAt(0));
  const tab = await messenger.compose.beginNew({
    to: send.to,
    subject: send.subject,
    ...(send.html ? { body: send.body, isPlainText: false } : { plainTextBody: send.body, isPlainText: true }),
    attachments: [{ file: new File([bytes], send.attachment.name, { type: send.attachment.type }) }],
  });
  if (tab.id === undefined) throw new Error('the compose tab has no id');
  const via = send.via ?? 'sigill';
  if (via === 'sigill') await experiment.armNextSend(tab.id, { encrypt: send.encrypt, sign: send.sign });
  if (via === 'builtin') {
    // Thunderbird takes selectedEncryptionTechnology; the typings (@types/thunderbird-webext-browser 127) lack it.
    const details: Parameters<typeof messenger.compose.setComposeDetails>[1] & { selectedEncryptionTechnology: object } = {
      selectedEncryptionTechnology: { name: 'OpenPGP', encryptBody: send.encrypt, encryptSubject: send.encrypt, signMessage: send.sign },
    };
    await messenger.compose.setComposeDetails(tab.id, details);
  }
  if (send.saveDraftFirst) {
    await messenger.compose.saveMessage(tab.id, { mode: 'draft' });
    console.info(`pgp-mime-probe: ${send.label} draft saved`);
  }
  const started = performance.now();
  const sent = (await messenger.compose.sendMessage(tab.id, { mode: 'sendNow' })) as { headerMessageId?: string };
  return `${sent.headerMessageId ?? ''} in ${Math.round(performance.now() - started)} ms`;
}

async function run(): Promise<void> {
  const config = (await (await fetch(messenger.runtime.getURL('config.json'))).json()) as ProbeConfig;
  const experiment = pgpMimeExperiment();
  if (!experiment) throw new Error('the Experiment is not loaded');
  const [secretKey] = await readSecretKeys(config.senderKey);
  if (!secretKey) throw new Error('no sender key in the config');
  const certificates = (await Promise.all(config.recipientCertificates.map((armored) => readCertificates(armored)))).flat();
  let current: ProbeSend | undefined;
  servePgpMime(experiment, {
    planFor: async () => {
      if (!current) throw new Error('no send in progress');
      return planOutgoing({
        from: config.from,
        to: current.to,
        encrypt: current.encrypt,
        sign: current.sign,
        keys: {
          recipient: async (address) => {
            const keys = certificates.filter((key) => key.getUserIDs().some((userID) => userID.toLowerCase().includes(`<${address}>`)));
            return { state: keys.length > 0 ? 'accepted' : 'missing', keys };
          },
          sender: async () => ({ certificate: secretKey.toPublic(), secretKey }),
        },
      });
    },
    onFailure: (_request, error) => console.info(`pgp-mime-probe: ${current?.label ?? '?'} encapsulation failed ${error.code}`),
  });
  for (const send of config.sends) {
    current = send;
    try {
      console.info(`pgp-mime-probe: ${send.label} sent ${await sendOne(experiment, send)}`);
    } catch (error) {
      console.info(`pgp-mime-probe: ${send.label} failed ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

run().catch((error: unknown) => console.info(`pgp-mime-probe: failed ${error instanceof Error ? error.message : String(error)}`));
