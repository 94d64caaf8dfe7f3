/**
 * The read scenarios' helpers: mail made by another OpenPGP program (gpg in a throwaway GNUPGHOME with
 * fixture keys) and submitted to the relay by another client (nodemailer), and reading it in a test
 * Thunderbird as a person does: open the message, type the passphrase when Sigill asks, look at the
 * message pane, click Sigill's button above the message and read its status popup.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { fixtureAddress, fixturePassphrase, fixturePath, loadSecretKey, type FixtureName } from '../../../keys-fixtures/index.ts';
import type { OpenPgpKey } from '../../../src/testbed/openpgp.ts';
import { MARKER_VARIABLE } from '../../../src/testbed/processes.ts';
import type { MessagePane } from '../driver/commands.ts';
import { sigillId } from './paths.ts';
import { SigillPage } from './sigill.ts';
import { eventually, type Client, type Persona, type World } from './index.ts';

/** gpg over a GNUPGHOME of its own holding the given fixture keys (secret ones unprotected, for --batch). */
export class Gpg {
  private constructor(
    readonly home: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static create(world: World, keys: { secret?: FixtureName[]; public?: FixtureName[] }): Gpg {
    const home = join(world.scratch, `gnupg-${Date.now()}`);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    // The marker tags gpg-agent, so the scenario's leftover check sees it if it is not stopped.
    const gpg = new Gpg(home, { ...process.env, GNUPGHOME: home, [MARKER_VARIABLE]: world.processes.marker });
    for (const name of keys.secret ?? []) gpg.run(['--import', fixturePath(name, 'unprotected')]);
    for (const name of keys.public ?? []) gpg.run(['--import', fixturePath(name, 'pub')]);
    return gpg;
  }

  run(args: string[], input?: Buffer | string): Buffer {
    return execFileSync('gpg', ['--batch', '--no-tty', '--quiet', '--trust-model', 'always', ...args], {
      env: this.env,
      input,
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  /** Encrypted to `to` and signed by `from` (addresses), armored or binary. */
  encryptSign(data: Buffer | string, options: { to: string; from: string; armor: boolean; filename?: string }): Buffer {
    return this.run(
      ['--encrypt', '--sign', '--recipient', options.to, '--local-user', options.from, ...(options.armor ? ['--armor'] : []), ...(options.filename ? ['--set-filename', options.filename] : [])],
      data,
    );
  }

  /**
   * A fixture persona as Thunderbird's own OpenPGP takes it (test-bed `OpenPgpKey`): its secret key imported
   * still protected with the fixture passphrase, exported binary.
   */
  builtinKey(name: Persona & FixtureName): OpenPgpKey {
    const passphrase = fixturePassphrase(name);
    this.run(['--pinentry-mode', 'loopback', '--passphrase', passphrase, '--import', fixturePath(name, 'sec')]);
    const address = `${name}@sigill.test`;
    const colons = this.run(['--with-colons', '--list-keys', `<${address}>`]).toString();
    const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(colons)?.[1];
    if (fingerprint === undefined) throw new Error(`gpg has no key for ${address}`);
    return {
      address,
      fingerprint,
      keyId: fingerprint.slice(-16),
      publicKey: this.run(['--export', fingerprint]),
      secretKey: this.run(['--pinentry-mode', 'loopback', '--passphrase', passphrase, '--export-secret-keys', fingerprint]),
      passphrase,
    };
  }

  stop(): void {
    execFileSync('gpgconf', ['--kill', 'all'], { env: this.env, stdio: 'ignore' });
  }
}

/**
 * A fixture persona as Thunderbird's own OpenPGP takes it (test-bed `OpenPgpKey`), straight from the fixture
 * files: the secret key still protected with the fixture passphrase.
 */
export async function fixtureBuiltinKey(name: Persona & FixtureName): Promise<OpenPgpKey> {
  const key = await loadSecretKey(name, { unlocked: false });
  return {
    address: fixtureAddress(name),
    fingerprint: key.getFingerprint().toUpperCase(),
    keyId: key.getKeyID().toHex().toUpperCase(),
    publicKey: Buffer.from(key.toPublic().write()),
    secretKey: Buffer.from(key.write()),
    passphrase: fixturePassphrase(name),
  };
}

/** Submits a complete raw message to the relay as `from` would with another mail client (nodemailer, AUTH PLAIN). */
export async function submitRaw(world: World, from: Persona, to: Persona, raw: string | Buffer): Promise<void> {
  const [host, port] = world.relay.listening.submission.split(':');
  const transport = nodemailer.createTransport({
    host,
    port: Number(port),
    secure: false,
    ignoreTLS: true,
    auth: { user: world.users[from].address, pass: world.users[from].password },
  });
  try {
    await transport.sendMail({ envelope: { from: world.users[from].address, to: [world.users[to].address] }, raw });
  } finally {
    transport.close();
  }
}

/** What the message pane shows once Sigill's display script has run ('shown' or 'untouched'). */
export async function messagePane(client: Client): Promise<MessagePane> {
  let pane: MessagePane | undefined;
  await eventually(
    async () => {
      pane = await client.call('messagePane', {}).catch(() => undefined);
      return pane?.sigill === 'shown' || pane?.sigill === 'untouched';
    },
    120_000,
    `Sigill's display script to run (last seen: ${pane?.sigill ?? 'nothing'})`,
  );
  return pane as MessagePane;
}

/** Whether Sigill's passphrase prompt is open now. */
export async function promptOpen(client: Client): Promise<boolean> {
  try {
    const state = await client.call('pageAction', { addonId: sigillId, path: 'prompt/prompt.html', action: { op: 'query', selector: '#user-id' }, timeoutMs: 500 }, 20_000);
    return (state as { exists?: boolean; text?: string }).exists === true && (state as { text?: string }).text !== '';
  } catch {
    return false;
  }
}

/**
 * Opens a message in a tab, types `passphrase` into Sigill's prompt if it asks (or cancels it when
 * `passphrase` is 'cancel'), and returns what the message pane shows after the display script ran.
 */
export async function openMessage(client: Client, messageId: number, passphrase?: string): Promise<MessagePane> {
  await client.open(messageId);
  if (passphrase !== undefined) {
    await eventually(
      async () => {
        if (await promptOpen(client)) {
          const prompt = await SigillPage.prompt(client);
          if (passphrase === 'cancel') await prompt.click('#cancel');
          else await prompt.type('#passphrase', passphrase, ['Enter']);
          return true;
        }
        const pane = await client.call('messagePane', {}).catch(() => undefined);
        return pane?.sigill === 'shown';
      },
      120_000,
      'the passphrase prompt or the decrypted message',
    );
  }
  return messagePane(client);
}

/**
 * Clicks Sigill's button above the message and returns its status popup, once drawn. A panel closes when
 * its window loses or regains focus (right after the passphrase prompt window closed, say): then the
 * button is clicked again, as a person would.
 */
export async function openStatus(client: Client): Promise<SigillPage> {
  const popup = new SigillPage(client, 'display/popup.html');
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt += 1) {
    await client.call('clickMessageDisplayAction', { addonId: sigillId });
    try {
      await popup.waitFor('#headline', () => true, 20_000);
      return popup;
    } catch (error) {
      const shown = await popup.text('body').catch((failure: unknown) => `(no popup: ${String(failure).split('\n')[0]})`);
      await client.screenshot(`status-popup-attempt-${attempt + 1}`);
      lastError = new Error(`${String(error)}; the popup shows: ${shown}`);
    }
  }
  throw lastError;
}

/** The prefs that make downloads land in `dir` without asking (what a person's download settings do). */
export function downloadPrefs(dir: string): Record<string, string | number | boolean> {
  return {
    'browser.download.dir': dir,
    'browser.download.folderList': 2,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
    'browser.download.start_downloads_in_tmp_dir': false,
  };
}

/**
 * Opens a reply to a message and waits until its quote holds `expected` (Sigill puts the decrypted text
 * there once it has read the message); returns the compose tab and the quoted body.
 */
export async function replyQuoting(client: Client, messageId: number, expected: string): Promise<{ tabId: number; quoted: string }> {
  const { tabId } = await client.call('beginReply', { messageId });
  let quoted = '';
  await eventually(
    async () => {
      const composer = await client.call('composeBody', { tabId });
      quoted = composer.isPlainText ? composer.plainTextBody : composer.body;
      return quoted.includes(expected);
    },
    60_000,
    `the decrypted quote in the reply (last seen: ${quoted.slice(0, 200)})`,
  );
  return { tabId, quoted };
}
