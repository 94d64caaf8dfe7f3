/**
 * The PGP/MIME probe (test only, never shipped): until the send path arms the Experiment itself, this
 * stands in for it. At start it reads config.json (written into the profile's copy by the test), opens
 * a compose window with an attachment, asks the Experiment to take the next send (armNextSend), answers
 * it with servePgpMime over a plan made from the keys in the config, sends, and says how it went on the
 * console ("pgp-mime-probe: sent <Message-ID>" or "pgp-mime-probe: failed <reason>").
 */
import { planOutgoing, readCertificates, readSecretKeys } from '../../../src/core/index.ts';
import { pgpMimeExperiment, servePgpMime } from '../../../extension/experiments/pgpmime/api.ts';

interface ProbeConfig {
  from: string;
  to: string[];
  subject: string;
  body: string;
  attachment: { name: string; type: string; base64: string };
  encrypt: boolean;
  sign: boolean;
  /** The sender's armored secret key, without passphrase. */
  senderKey: string;
  /** The recipients' armored certificates. */
  recipientCertificates: string[];
}

async function run(): Promise<string> {
  const config = (await (await fetch(messenger.runtime.getURL('config.json'))).json()) as ProbeConfig;
  const experiment = pgpMimeExperiment();
  if (!experiment) throw new Error('the Experiment is not loaded');
  const [secretKey] = await readSecretKeys(config.senderKey);
  if (!secretKey) throw new Error('no sender key in the config');
  const certificates = (await Promise.all(config.recipientCertificates.map((armored) => readCertificates(armored)))).flat();
  servePgpMime(experiment, {
    planFor: () =>
      planOutgoing({
        from: config.from,
        to: config.to,
        encrypt: config.encrypt,
        sign: config.sign,
        keys: {
          recipient: async (address) => {
            const keys = certificates.filter((key) => key.getUserIDs().some((userID) => userID.toLowerCase().includes(`<${address}>`)));
            return { state: keys.length > 0 ? 'accepted' : 'missing', keys };
          },
          sender: async () => ({ certificate: secretKey.toPublic(), secretKey }),
        },
      }),
    onFailure: (_request, error) => console.info(`pgp-mime-probe: encapsulation failed ${error.code}: ${error.message}`),
  });
  const bytes = Uint8Array.from(atob(config.attachment.base64), (char) => char.charCodeAt(0));
  const tab = await messenger.compose.beginNew({
    to: config.to,
    subject: config.subject,
    plainTextBody: config.body,
    isPlainText: true,
    attachments: [{ file: new File([bytes], config.attachment.name, { type: config.attachment.type }) }],
  });
  if (tab.id === undefined) throw new Error('the compose tab has no id');
  await experiment.armNextSend(tab.id, { encrypt: config.encrypt, sign: config.sign });
  const sent = (await messenger.compose.sendMessage(tab.id, { mode: 'sendNow' })) as { headerMessageId?: string };
  return sent.headerMessageId ?? '';
}

run().then(
  (messageId) => console.info(`pgp-mime-probe: sent ${messageId}`),
  (error: unknown) => console.info(`pgp-mime-probe: failed ${error instanceof Error ? error.message : String(error)}`),
);
