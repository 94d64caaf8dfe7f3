/**
 * An IMAP server for scenarios that need mail folders on a server (drafts, templates, the Sent copy):
 * Debian's Dovecot (`dovecot-imapd`), started on a random loopback port with a throwaway configuration
 * in the scenario's scratch directory: its own base_dir, Maildir store and passwd-file with the
 * personas' passwords, no TLS, no system service, no other protocol. `stop()` (called by the world's)
 * stops it and removes its directory.
 *
 * Its directory is a temporary one of its own rather than in the scenario's scratch directory (mode 0700):
 * as root, Dovecot's processes run as its own system users and the mail store belongs to `nobody`
 * (Dovecot refuses mail access as uid 0), so the path must be traversable by them (mode 0711, no listing).
 *
 *   const imap = await world.startImap();
 *   const alice = await world.launch('alice', { imap });   // alice's account is IMAP, Drafts on the server
 *   imap.storedFiles('alice@sigill.test', 'Drafts');         // the messages as Dovecot stores them
 *
 * Why Dovecot rather than IMAP in the relay: it is a real, widely used IMAP server (what users' drafts
 * really meet), and the relay's job is SMTP and POP3; IMAP's state machine is not worth re-implementing
 * for tests.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import type { Processes, Started } from '../../../src/testbed/processes.ts';
import { sdrEncrypt } from '../../../src/testbed/profile.ts';

export const dovecotBinary = '/usr/sbin/dovecot';

export interface ImapUser {
  address: string;
  password: string;
}

export interface ImapStartOptions {
  users: ImapUser[];
  /** Dovecot's own log (an artifact). */
  logFile: string;
}

/** Mail folders Dovecot creates for every user (special-use flags per RFC 6154). */
const FOLDERS = [
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Templates', specialUse: undefined },
];

export class ImapServer {
  private constructor(
    readonly host: string,
    readonly port: number,
    readonly dir: string,
    private readonly instance: string,
    private readonly started: Started,
    private readonly processes: Processes,
  ) {}

  private get mailDir(): string {
    return join(this.dir, 'mail');
  }

  static async start(processes: Processes, options: ImapStartOptions): Promise<ImapServer> {
    if (!existsSync(dovecotBinary)) throw new Error(`${dovecotBinary} is missing: apt-get install dovecot-imapd`);
    const dir = mkdtempSync(join(tmpdir(), 'sigill-e2e-imap-'));
    // Dovecot rewrites its processes' environment (the harness's marker is lost) and titles them
    // `dovecot-<instance>/...`: a unique instance name is how its leftovers are found.
    const instance = `sigill-e2e-${randomBytes(6).toString('hex')}`;
    chmodSync(dir, 0o711);
    const mailDir = join(dir, 'mail');
    mkdirSync(mailDir, { recursive: true, mode: 0o700 });
    const runDir = join(dir, 'run');
    mkdirSync(runDir, { recursive: true, mode: 0o755 });
    // passwd-file: user:{PLAIN}password followed by the six unused passwd fields.
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, options.users.map((user) => `${user.address}:{PLAIN}${user.password}::::::\n`).join(''), { mode: 0o600 });
    const owner = mailOwner();
    if (owner.chown !== undefined) {
      chownSync(mailDir, owner.chown.mail.uid, owner.chown.mail.gid);
      // Read by Dovecot's auth process, which runs as its internal user.
      chownSync(passwd, owner.chown.internal.uid, owner.chown.internal.gid);
    }
    chmodSync(mailDir, 0o700);
    // A port picked free just before Dovecot binds it can be taken meanwhile: then try another.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const port = await freePort();
      const config = join(dir, 'dovecot.conf');
      writeFileSync(config, configuration({ instance, dir, runDir, mailDir, port, logFile: options.logFile, owner }));
      const started = processes.start('dovecot', dovecotBinary, ['-F', '-c', config], { logFile: options.logFile });
      try {
        await waitForGreeting(port, started);
        return new ImapServer('127.0.0.1', port, dir, instance, started, processes);
      } catch (error) {
        lastError = error;
        await processes.stop(started);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Dovecot did not start: ${String(lastError)}; see ${options.logFile}`);
  }

  /** `host:port`, as the relay's endpoints are written. */
  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  /** The files of one folder ('INBOX', 'Drafts', ...) as Dovecot's Maildir holds them (new and cur). */
  storedFiles(address: string, folder: string): string[] {
    const base = join(this.mailDir, address, folder === 'INBOX' ? '' : `.${folder}`);
    return ['new', 'cur'].flatMap((sub) => {
      const dir = join(base, sub);
      return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
    });
  }

  /** Every byte Dovecot keeps for a user, all files (messages, indexes, caches), as one latin1 string. */
  everythingStored(address: string): string {
    const parts: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) parts.push(readFileSync(path, 'latin1'));
      }
    };
    const root = join(this.mailDir, address);
    if (existsSync(root)) walk(root);
    return parts.join('\n');
  }

  /** Pids of this Dovecot's live processes (its master and the `dovecot-<instance>/...` children). */
  running(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const command = readFileSync(join('/proc', entry, 'cmdline'), 'latin1');
        const state = readFileSync(join('/proc', entry, 'stat'), 'latin1').replace(/^.*\) /, '')[0];
        if (state !== 'Z' && (command.startsWith(`dovecot-${this.instance}/`) || command.includes(join(this.dir, 'dovecot.conf')))) pids.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
    return pids;
  }

  /** Stops Dovecot and removes its directory (configuration, store); safe to call twice. */
  async stop(): Promise<void> {
    await this.processes.stop(this.started);
    if (process.env.SIGILL_E2E_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The prefs that make a profile's incoming account (server1 of src/testbed/profile.ts) an IMAP account
 * on this server, with the identity's Drafts, Templates and Sent folders there (as an account set up
 * by Thunderbird's wizard has them).
 */
export function imapAccountPrefs(imap: ImapServer, address: string): Record<string, string | number | boolean> {
  const root = `imap://${encodeURIComponent(address)}@${imap.host}`;
  return {
    'mail.server.server1.type': 'imap',
    'mail.server.server1.hostname': imap.host,
    'mail.server.server1.port': imap.port,
    'mail.server.server1.userName': address,
    'mail.server.server1.socketType': 0,
    'mail.server.server1.authMethod': 3,
    'mail.server.server1.login_at_startup': true,
    'mail.server.server1.check_new_mail': false,
    'mail.server.server1.directory-rel': '[ProfD]ImapMail/server1',
    'mail.identity.id1.draft_folder': `${root}/Drafts`,
    'mail.identity.id1.drafts_folder_picker_mode': '0',
    'mail.identity.id1.stationery_folder': `${root}/Templates`,
    'mail.identity.id1.tmpl_folder_picker_mode': '0',
    'mail.identity.id1.fcc_folder': `${root}/Sent`,
    'mail.identity.id1.fcc_folder_picker_mode': '0',
  };
}

/** Adds the IMAP login (origin `imap://HOST`, no port, as Thunderbird looks it up) to the profile's logins.json. */
export function addImapLogin(profileDir: string, imap: ImapServer, user: ImapUser): void {
  const file = join(profileDir, 'logins.json');
  const logins = JSON.parse(readFileSync(file, 'utf8')) as { nextId: number; logins: Array<Record<string, unknown>> };
  const template = logins.logins[0];
  if (template === undefined) throw new Error(`${file} has no login to copy the format from`);
  const [encryptedUsername, encryptedPassword] = sdrEncrypt(profileDir, [user.address, user.password]);
  const origin = `imap://${imap.host}`;
  logins.logins.push({ ...template, id: logins.nextId, hostname: origin, httpRealm: origin, encryptedUsername, encryptedPassword, guid: `{${crypto.randomUUID()}}` });
  logins.nextId += 1;
  writeFileSync(file, JSON.stringify(logins, null, 2));
}

interface MailOwner {
  /** Dovecot's unprivileged users (their own processes) and the owner of the mail files. */
  internalUser: string;
  loginUser: string;
  mailUser: string;
  mailGroup: string;
  firstValidUid: number;
  chown?: { mail: { uid: number; gid: number }; internal: { uid: number; gid: number } };
}

/**
 * As root, Dovecot's processes run as its Debian system users and the mail files belong to `nobody`
 * (Dovecot refuses mail access as root). As anyone else, everything runs as that user.
 */
function mailOwner(): MailOwner {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) {
    const id = (flag: string, user: string) => execFileSync('id', [flag, user], { encoding: 'utf8' }).trim();
    const mail = { uid: Number(id('-u', 'nobody')), gid: Number(id('-g', 'nobody')) };
    const internal = { uid: Number(id('-u', 'dovecot')), gid: Number(id('-g', 'dovecot')) };
    return { internalUser: 'dovecot', loginUser: 'dovenull', mailUser: 'nobody', mailGroup: id('-gn', 'nobody'), firstValidUid: 1, chown: { mail, internal } };
  }
  const name = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  return { internalUser: name, loginUser: name, mailUser: name, mailGroup: group, firstValidUid: uid };
}

function configuration(options: { instance: string; dir: string; runDir: string; mailDir: string; port: number; logFile: string; owner: MailOwner }): string {
  const { owner } = options;
  const folders = FOLDERS.map((folder) => `  mailbox ${folder.name} {\n    auto = create\n${folder.specialUse === undefined ? '' : `    special_use = ${folder.specialUse}\n`}  }\n`).join('');
  // Only this file is read (no conf.d, no system paths): IMAP alone, plain TCP on loopback.
  return `# Written by the Sigill e2e harness for one scenario; removed with it.
protocols = imap
listen = 127.0.0.1
base_dir = ${options.runDir}
state_dir = ${join(options.runDir, 'state')}
instance_name = ${options.instance}
log_path = ${options.logFile}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${owner.internalUser}
default_login_user = ${owner.loginUser}
mail_location = maildir:${options.mailDir}/%u
mail_uid = ${owner.mailUser}
mail_gid = ${owner.mailGroup}
first_valid_uid = ${owner.firstValidUid}
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${join(options.dir, 'passwd')}
}
userdb {
  driver = static
  args = uid=${owner.mailUser} gid=${owner.mailGroup} home=${options.mailDir}/%u
}
namespace inbox {
  inbox = yes
${folders}}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${options.port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for Dovecot's `* OK` greeting (RFC 9051 §7.1.1) on the port, or for Dovecot to exit. */
async function waitForGreeting(port: number, started: Started, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | string | undefined;
  void started.exited.then((code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`dovecot exited (${exited})`);
    if (await greets(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no IMAP greeting on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n')) done(text.startsWith('* OK'));
    });
  });
}
