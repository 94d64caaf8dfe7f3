/**
 * The end-to-end world of one scenario: a relay with the four personas, an HTTP sink for the drivers,
 * Thunderbirds on fresh profiles, and the artifacts folder. Everything started here is stopped by
 * `stop()`, which also collects the artifacts (raw messages as stored, a last screenshot per Thunderbird).
 *
 *   const world = await World.start('alice-to-bob');
 *   const alice = await world.launch('alice');
 *   await alice.send({ to: ['bob@sigill.test'], subject: 'hi', body: 'hello' });
 *   ...
 *   await world.stop();
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeys, type BuiltinOpenPgp, type OpenPgpKey } from '../../../src/testbed/openpgp.ts';
import { artifactsDir, driverDir, driverId, thunderbirdBinary, thunderbirdVersion } from './paths.ts';
import { Processes } from '../../../src/testbed/processes.ts';
import { buildProfile } from '../../../src/testbed/profile.ts';
import { Relay } from '../../../src/testbed/relay.ts';
import { Sink } from './sink.ts';
import { buildCoreProbe } from './core-probe.ts';
import { coreProbeId } from '../core-probe/protocol.ts';
import type { DriverArgs, DriverCommandName, DriverResult, FullMessage, MessageHeader, SendArgs, SendResult, StartupState } from '../driver/commands.ts';
import { headless, Thunderbird } from './thunderbird.ts';
import type { Tool } from '../../support/tools.ts';
import { ensureXpi } from '../../../src/testbed/xpi.ts';
import { provisionedKeys, provisionSigillBeforeStart, waitForSigillKeyring, waitForSigillStart, type SigillSetup } from './sigill.ts';
import { addImapLogin, imapAccountPrefs, ImapServer } from './imap.ts';

export const personas = ['alice', 'bob', 'carol', 'dave'] as const;
export type Persona = (typeof personas)[number];

export interface User {
  name: Persona;
  address: string;
  fullName: string;
  password: string;
}

export interface LaunchOptions {
  /**
   * Install Sigill (default true); an object also provisions its storage with persona keys from
   * keys-fixtures (own key, accepted correspondents) and settings before the scenario goes on.
   */
  sigill?: boolean | SigillSetup;
  /** Give this profile Thunderbird's built-in OpenPGP. */
  openpgp?: BuiltinOpenPgp;
  /** Install the test-only core probe next to the driver (the `probe` command). */
  coreProbe?: boolean;
  /** Extra prefs for this profile (they win over the harness's own). */
  prefs?: Record<string, string | number | boolean>;
  /** Runs on the finished profile directory before Thunderbird first starts (e.g. to add a test CA to its NSS database). */
  beforeStart?: (profileDir: string) => void | Promise<void>;
  /** The incoming account is IMAP on this server (`world.startImap()`), Drafts, Templates and Sent there, instead of POP3 on the relay. */
  imap?: ImapServer;
  /** Extra environment variables for this Thunderbird (e.g. the Gecko profiler's MOZ_PROFILER_*). */
  env?: Record<string, string>;
}

export type SendRequest = SendArgs;
export type { FullMessage, MessageHeader, SendResult };

/** One running Thunderbird with its driver. */
export class Client {
  constructor(
    readonly user: User,
    // Replaced by `world.restart(client)`.
    public thunderbird: Thunderbird,
    private readonly world: World,
  ) {}

  /** Runs a driver command: its name, arguments and result are declared in test/e2e/driver/commands.ts. */
  call<K extends DriverCommandName>(command: K, args: DriverArgs<K>, timeoutMs = 90_000): Promise<DriverResult<K>> {
    return this.world.sink.call<DriverResult<K>>(this.user.name, command, args, timeoutMs);
  }

  send(request: SendRequest): Promise<SendResult> {
    const timeoutMs = request.timeoutMs ?? 60_000;
    return this.call('send', { ...request, timeoutMs }, timeoutMs + 10_000);
  }

  /** Fetches mail (POP3, now) until the message is in the inbox. */
  receive(match: { headerMessageId?: string; subject?: string }, timeoutMs = 60_000): Promise<MessageHeader> {
    return this.call('receive', { ...match, timeoutMs }, timeoutMs + 40_000);
  }

  open(messageId: number): Promise<{ tabId: number }> {
    return this.call('open', { messageId });
  }

  getFull(messageId: number, decrypt = true): Promise<FullMessage> {
    return this.call('getFull', { messageId, decrypt });
  }

  /** The message as stored in the profile (with Thunderbird's X-Mozilla-* headers), as a binary string. */
  getRaw(messageId: number): Promise<string> {
    return this.call('getRaw', { messageId });
  }

  /**
   * Saves `<artifacts>/<user>-<label>.png` and returns its path: the whole Xvfb screen (compose windows and
   * dialogs included), or with --headless the main window as the driver's Experiment draws it.
   */
  async screenshot(label: string): Promise<string> {
    const file = join(this.world.artifacts, `${this.user.name}-${label}.png`);
    if (!(await this.thunderbird.screenshot(file))) {
      const dataUrl = await this.call('screenshot', {}, 20_000);
      writeFileSync(file, Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
    }
    return file;
  }

  console(): string {
    return this.thunderbird.console();
  }
}

export class World {
  readonly clients: Client[] = [];
  private readonly imapServers: ImapServer[] = [];
  private stopped = false;

  private constructor(
    readonly scenario: string,
    readonly artifacts: string,
    readonly scratch: string,
    readonly sink: Sink,
    private readonly maybeRelay: Relay | undefined,
    readonly processes: Processes,
    readonly users: Record<Persona, User>,
  ) {}

  /** The relay (scenarios started with `relay: false` have none). */
  get relay(): Relay {
    if (this.maybeRelay === undefined) throw new Error(`scenario ${this.scenario} started without a relay`);
    return this.maybeRelay;
  }

  /** Starts the sink and, unless `relay: false`, the relay with the four personas' mailboxes. */
  static async start(scenario: string, options: { relay?: boolean; relayMessageSize?: number } = {}): Promise<World> {
    const artifacts = artifactsDir(scenario);
    const scratch = mkdtempSync(join(tmpdir(), `sigill-e2e-${scenario}-`));
    const processes = new Processes(`${scenario}-${randomBytes(6).toString('hex')}`);
    const users = Object.fromEntries(
      personas.map((name) => [
        name,
        { name, address: `${name}@sigill.test`, fullName: name[0]?.toUpperCase() + name.slice(1), password: randomBytes(9).toString('base64url') },
      ]),
    ) as Record<Persona, User>;
    const sink = await Sink.start();
    try {
      const relay =
        options.relay === false
          ? undefined
          : await Relay.start(processes, {
              dir: join(scratch, 'relay'),
              users: Object.values(users),
              logFile: join(artifacts, 'relay.log'),
              ...(options.relayMessageSize === undefined ? {} : { messageSize: options.relayMessageSize }),
            });
      return new World(scenario, artifacts, scratch, sink, relay, processes, users);
    } catch (error) {
      await sink.stop();
      await processes.stopAll();
      throw error;
    }
  }

  /** Starts Dovecot (IMAP) for the four personas; stopped with the world (see imap.ts). */
  startImap(): Promise<ImapServer> {
    const started = ImapServer.start(this.processes, { users: Object.values(this.users), logFile: join(this.artifacts, 'dovecot.log') });
    void started.then((imap) => this.imapServers.push(imap), () => undefined);
    return started;
  }

  /** Key pairs for Thunderbird's built-in OpenPGP, made with gpg in a throwaway GNUPGHOME. */
  openPgpKeys(names: Persona[]): Record<string, OpenPgpKey> {
    const people = names.map((name) => ({ name: this.users[name].fullName, address: this.users[name].address }));
    const keys = generateKeys(people, join(this.scratch, 'gnupg'), this.processes.marker);
    return Object.fromEntries(names.map((name, index) => [name, keys[index] as OpenPgpKey]));
  }

  /** Builds a fresh profile for the persona, starts Thunderbird on it and waits for its driver. */
  async launch(name: Persona, options: LaunchOptions = {}): Promise<Client> {
    const user = this.users[name];
    const profileDir = join(this.scratch, 'profiles', name);
    buildProfile({
      dir: profileDir,
      account: user,
      // Without a relay the account points at the discard port; nothing connects unless a test sends.
      relay: this.maybeRelay?.listening ?? { submission: '127.0.0.1:9', pop3: '127.0.0.1:9' },
      sigillXpi: options.sigill === false ? undefined : ensureXpi(),
      driver: { id: driverId, dir: driverDir, config: { sink: this.sink.url, profile: name } },
      openpgp: options.openpgp,
      prefs: options.imap === undefined ? options.prefs : { ...imapAccountPrefs(options.imap, user.address), ...options.prefs },
    });
    if (options.imap !== undefined) addImapLogin(profileDir, options.imap, user);
    if (options.coreProbe === true) cpSync(buildCoreProbe(), join(profileDir, 'extensions', coreProbeId), { recursive: true });
    if (typeof options.sigill === 'object') await provisionSigillBeforeStart(profileDir, options.sigill);
    await options.beforeStart?.(profileDir);
    const thunderbird = await this.startThunderbird(name, profileDir, `thunderbird-${name}.log`, options.env);
    const client = new Client(user, thunderbird, this);
    this.clients.push(client);
    await waitForMainWindow(client);
    // A fresh install starts Sigill's background at once (an update or a restart primes it for its events).
    if (options.sigill !== false) await waitForSigillStart(client);
    if (typeof options.sigill === 'object') await waitForSigillKeyring(client, provisionedKeys(options.sigill));
    return client;
  }

  /** Quits the client's Thunderbird and starts it again on the same profile (e.g. to check what persists). */
  async restart(client: Client): Promise<Client> {
    const name = client.user.name;
    const profileDir = join(this.scratch, 'profiles', name);
    await client.thunderbird.stop();
    client.thunderbird = await this.startThunderbird(name, profileDir, `thunderbird-${name}-restarted-${Date.now()}.log`);
    await waitForMainWindow(client);
    return client;
  }

  private async startThunderbird(name: Persona, profileDir: string, logName: string, env?: Record<string, string>): Promise<Thunderbird> {
    const thunderbird = await Thunderbird.launch(this.processes, {
      profileDir,
      home: join(this.scratch, 'home', name),
      logFile: join(this.artifacts, logName),
      ...(env === undefined ? {} : { env }),
    });
    // Only a ready event from this start counts (a restarted profile has an earlier one).
    const earlier = new Set(this.sink.events);
    const ready = this.sink.waitForEvent((event) => event.profile === name && event.type === 'ready' && !earlier.has(event), 90_000, `${name}'s driver ready`);
    let up = false;
    const exited = thunderbird.process.exited.then((code) => {
      if (!up) throw new Error(`${name}'s Thunderbird exited (${code}) before its driver was ready; see ${thunderbird.options.logFile}`);
    });
    // Whichever loses the race must not become an unhandled rejection later.
    ready.catch(() => undefined);
    exited.catch(() => undefined);
    await Promise.race([ready, exited]);
    up = true;
    return thunderbird;
  }

  /**
   * Collects the artifacts and stops everything; safe to call twice. Returns the pids still running
   * afterwards (there should be none).
   */
  async stop(): Promise<number[]> {
    if (this.stopped) return this.processes.leftovers();
    this.stopped = true;
    const problems: string[] = [];
    for (const client of this.clients) {
      if (client.thunderbird.process.child.exitCode !== null) continue; // nothing left to photograph
      try {
        await client.screenshot('end');
      } catch (error) {
        problems.push(`screenshot ${client.user.name}: ${String(error)}`);
      }
    }
    try {
      await this.maybeRelay?.saveAll(join(this.artifacts, 'messages'));
    } catch (error) {
      problems.push(`saving the relay's messages: ${String(error)}`);
    }
    for (const client of this.clients) await client.thunderbird.stop();
    await this.maybeRelay?.stop();
    for (const imap of this.imapServers) await imap.stop();
    await this.sink.stop();
    await this.processes.stopAll();
    if (process.env.SIGILL_E2E_KEEP !== '1') rmSync(this.scratch, { recursive: true, force: true });
    for (const problem of problems) console.warn(`e2e ${this.scenario}: ${problem}`);
    console.log(`e2e ${this.scenario} (Thunderbird ${thunderbirdVersion()} at ${thunderbirdBinary()}): artifacts in ${this.artifacts}`);
    return this.processes.leftovers();
  }
}

/**
 * Waits until the client's main window can take a scenario's actions (the driver's `startupState`): the
 * driver's background runs before it, and a compose window opened in between never sends.
 */
async function waitForMainWindow(client: Client): Promise<void> {
  let state: StartupState | undefined;
  await eventually(
    async () => (state = await client.call('startupState', {}, 30_000)).mainWindow === 'ready',
    90_000,
    () => `${client.user.name}'s main window (last: ${state?.mainWindow}; see ${client.thunderbird.options.logFile})`,
  );
  // Fail loudly if Thunderbird ignored its own TMPDIR: Thunderbirds sharing one lose each other's temp files.
  if (state?.tempDir !== client.thunderbird.tmpDir) throw new Error(`${client.user.name}'s Thunderbird uses ${state?.tempDir} as its temp directory, not ${client.thunderbird.tmpDir}`);
}

/** Console lines that are errors or warnings attributable to Sigill (its moz-extension host, id or `sigill:` prefix). */
export function sigillConsoleProblems(consoleLog: string, sigillUuid: string): string[] {
  const ours = [sigillUuid, 'sigill@sigill.dev', '"sigill:', "'sigill:"];
  return consoleLog
    .split('\n')
    .filter((line) => /error|warn|exception|failed/i.test(line))
    .filter((line) => ours.some((needle) => line.includes(needle)));
}

/** Polls `check` every 250 ms until it returns true; rejects with `what` (said when it fails) after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The outside programs every e2e suite needs (SKIPPED when missing, a failure under CI=true). */
export function e2eTools(extra: Tool[] = []): Tool[] {
  return [
    { command: thunderbirdBinary(), debianPackage: 'thunderbird' },
    ...(headless ? [] : [{ command: 'Xvfb', debianPackage: 'xvfb' }, { command: 'import', debianPackage: 'imagemagick' }]),
    { command: 'python3', debianPackage: 'python3' },
    ...extra,
  ];
}
