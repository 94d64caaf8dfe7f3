/**
 * A Thunderbird profile that starts without any dialog: one POP3 + SMTP account on the relay, quiet prefs,
 * the password in the login manager (key4.db + logins.json, encrypted with Thunderbird's own NSS), and
 * add-ons dropped into extensions/. Why each pref and file is there: test/e2e/README.md, "Profiles without a dialog".
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionBuiltinOpenPgp, type BuiltinOpenPgp } from './openpgp.ts';
import { nssHelper, sigillId, thunderbirdLibDir } from './paths.ts';

export interface MailAccount {
  address: string;
  password: string;
  fullName: string;
}

export interface RelayEndpoints {
  /** host:port of SMTP submission. */
  submission: string;
  /** host:port of POP3. */
  pop3: string;
}

export interface ProfileOptions {
  dir: string;
  account: MailAccount;
  relay: RelayEndpoints;
  /** The Sigill .xpi to install (omit for a profile without Sigill). */
  sigillXpi?: string;
  /** An unpacked extension directory to install (the test driver), with the JSON config written into it. */
  driver?: { id: string; dir: string; config: Record<string, unknown> };
  /** Check mail on start and every minute (the demo); tests fetch mail explicitly instead. */
  checkMail?: boolean;
  /** Give the profile Thunderbird's built-in OpenPGP with this key pair and these accepted correspondents. */
  openpgp?: BuiltinOpenPgp;
  /** Extra prefs (they win over everything else). */
  prefs?: Record<string, string | number | boolean>;
  /** The Thunderbird binary whose NSS encrypts the logins. */
  thunderbird?: string;
}

/** Fixed moz-extension:// hosts, so console lines can be attributed to an add-on. */
export const extensionUuids: Record<string, string> = {
  [sigillId]: '5161c111-0000-4000-8000-000000000001',
  'sigill-e2e-driver@sigill.test': '5161c111-0000-4000-8000-000000000002',
};

/** Quiet first start: no wizards, no default-client question, no telemetry, console on stdout. */
const quietPrefs: Record<string, string | number | boolean> = {
  'mail.provider.enabled': false,
  'mail.provider.suppress_dialog_on_startup': true,
  'mail.shell.checkDefaultClient': false,
  'mail.rights.version': 1,
  'mailnews.start_page.enabled': false,
  'mail.inappnotifications.enabled': false,
  'mail.biff.show_alert': false,
  'mail.biff.play_sound': false,
  'mail.spotlight.firstRunDone': true,
  'mail.winsearch.firstRunDone': true,
  'mail.startup.enabledMailCheckOnce': true,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.autoDisableScopes': 0,
  'xpinstall.signatures.required': false,
  'extensions.webextensions.uuids': JSON.stringify(extensionUuids),
  'app.update.disabledForTesting': true,
  'app.update.auto': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.sessionstore.resume_from_crash': false,
  'toolkit.startup.max_resumed_crashes': -1,
  // Loopback only: no region lookup, no captive-portal or connectivity probes, no system add-on updates.
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'devtools.console.stdout.chrome': true,
  'devtools.console.stdout.content': true,
  'browser.dom.window.dump.enabled': true,
};

function hostPort(endpoint: string): { host: string; port: number } {
  const index = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, index), port: Number(endpoint.slice(index + 1)) };
}

export function accountPrefs(options: ProfileOptions): Record<string, string | number | boolean> {
  const { account } = options;
  const pop3 = hostPort(options.relay.pop3);
  const smtp = hostPort(options.relay.submission);
  const check = options.checkMail ?? false;
  return {
    'mail.accountmanager.accounts': 'account1,account2',
    'mail.accountmanager.defaultaccount': 'account1',
    'mail.accountmanager.localfoldersserver': 'server2',
    'mail.account.account1.identities': 'id1',
    'mail.account.account1.server': 'server1',
    'mail.account.account2.server': 'server2',
    'mail.identity.id1.fullName': account.fullName,
    'mail.identity.id1.useremail': account.address,
    'mail.identity.id1.smtpServer': 'smtp1',
    'mail.identity.id1.valid': true,
    'mail.identity.id1.compose_html': false,
    'mail.identity.id1.fcc': true,
    'mail.server.server1.type': 'pop3',
    'mail.server.server1.hostname': pop3.host,
    'mail.server.server1.port': pop3.port,
    'mail.server.server1.userName': account.address,
    'mail.server.server1.name': account.address,
    'mail.server.server1.socketType': 0,
    'mail.server.server1.authMethod': 3,
    'mail.server.server1.login_at_startup': check,
    'mail.server.server1.check_new_mail': check,
    'mail.server.server1.check_time': 1,
    'mail.server.server1.download_on_biff': true,
    // Keep messages on the relay, so its HTTP view still shows what it stored after the download.
    'mail.server.server1.leave_on_server': true,
    'mail.server.server2.type': 'none',
    'mail.server.server2.hostname': 'Local Folders',
    'mail.server.server2.userName': 'nobody',
    'mail.server.server2.name': 'Local Folders',
    'mail.server.server2.directory-rel': '[ProfD]Mail/Local Folders',
    'mail.smtpservers': 'smtp1',
    'mail.smtp.defaultserver': 'smtp1',
    'mail.smtpserver.smtp1.type': 'smtp',
    'mail.smtpserver.smtp1.hostname': smtp.host,
    'mail.smtpserver.smtp1.port': smtp.port,
    'mail.smtpserver.smtp1.username': account.address,
    'mail.smtpserver.smtp1.authMethod': 3,
    'mail.smtpserver.smtp1.try_ssl': 0,
  };
}

/** Encrypts strings with NSS SDR into DIR/key4.db (created with an empty primary password). */
export function sdrEncrypt(dir: string, plaintexts: string[], thunderbird?: string): string[] {
  const libDir = thunderbirdLibDir(thunderbird);
  const output = execFileSync('python3', [nssHelper, dir, join(libDir, 'libnss3.so')], {
    input: JSON.stringify(plaintexts),
    env: { ...process.env, LD_LIBRARY_PATH: libDir },
    encoding: 'utf8',
  });
  return JSON.parse(output) as string[];
}

function writeLogins(options: ProfileOptions): void {
  const { host: popHost } = hostPort(options.relay.pop3);
  const { host: smtpHost } = hostPort(options.relay.submission);
  // Origins carry no port: Thunderbird looks logins up by scheme and host.
  const origins = [`mailbox://${popHost}`, `smtp://${smtpHost}`];
  const [user, password] = sdrEncrypt(options.dir, [options.account.address, options.account.password], options.thunderbird);
  const now = Date.now();
  const logins = origins.map((origin, index) => ({
    id: index + 1,
    hostname: origin,
    httpRealm: origin,
    formSubmitURL: null,
    usernameField: '',
    passwordField: '',
    encryptedUsername: user,
    encryptedPassword: password,
    guid: `{${randomUUID()}}`,
    encType: 1,
    timeCreated: now,
    timeLastUsed: now,
    timePasswordChanged: now,
    timesUsed: 1,
  }));
  const file = { nextId: logins.length + 1, logins, potentiallyVulnerablePasswords: [], dismissedBreachAlertsByLoginGUID: {}, version: 3 };
  writeFileSync(join(options.dir, 'logins.json'), JSON.stringify(file, null, 2));
}

export function userJs(prefs: Record<string, string | number | boolean>): string {
  return Object.entries(prefs)
    .map(([name, value]) => `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});\n`)
    .join('');
}

/**
 * Writes (or rewrites) a profile. user.js is read at every start, so rewriting it with new relay ports
 * is enough to point an existing profile at a new relay.
 */
export function buildProfile(options: ProfileOptions): void {
  mkdirSync(join(options.dir, 'extensions'), { recursive: true });
  writeLogins(options); // creates key4.db, which the OpenPGP passphrase needs too
  const openpgpPrefs =
    options.openpgp === undefined
      ? {}
      : provisionBuiltinOpenPgp(options.dir, options.openpgp, (plaintexts) => sdrEncrypt(options.dir, plaintexts, options.thunderbird));
  const prefs = { ...quietPrefs, ...accountPrefs(options), ...openpgpPrefs, ...(options.prefs ?? {}) };
  writeFileSync(join(options.dir, 'user.js'), userJs(prefs));
  if (options.sigillXpi !== undefined) copyFileSync(options.sigillXpi, join(options.dir, 'extensions', `${sigillId}.xpi`));
  if (options.driver !== undefined) {
    const target = join(options.dir, 'extensions', options.driver.id);
    cpSync(options.driver.dir, target, { recursive: true });
    writeFileSync(join(target, 'config.json'), JSON.stringify(options.driver.config));
  }
}
