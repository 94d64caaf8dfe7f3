/** `version` and `list-profiles` (draft-dkg-openpgp-stateless-cli, sections "version", "list-profiles"). */
import { readFileSync } from 'node:fs';
import { config } from 'openpgp';
import { SigillError } from '../../../core/index.ts';
import type { SopCommand } from '../command.ts';
import { sopExitCodes } from '../exit-codes.ts';
import { writeStdout } from '../io.ts';
import { formatProfiles, profilesBySubcommand } from '../profiles.ts';

/** The draft version this layer follows; `~` because some subcommands of it are not implemented. */
export const sopSpecVersion = '~draft-dkg-openpgp-stateless-cli-16';
const sopSpecRemarks = [
  'Not implemented: update-key, merge-certs, certify-userid, validate-userid.',
  'Hardware keys are not supported.',
];
/** Version of the sopv verification subset (section "sopv") this implementation provides. */
const sopvVersion = '1.0';

function sigillVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return packageJson.version ?? 'unknown';
}

const versionFlags = ['backend', 'extended', 'sop-spec', 'sopv'] as const;

export const versionCommand: SopCommand = {
  name: 'version',
  summary: 'Prints version information',
  usage: '[--backend|--extended|--sop-spec|--sopv]',
  options: versionFlags.map((name) => ({ name, takesValue: false })),
  async run(args) {
    if (args.positionals.length > 0) throw new SigillError('BAD_INPUT', { detail: `unexpected argument ${args.positionals[0]}` });
    const given = versionFlags.filter((flag) => args.flags.has(flag));
    if (given.length > 1) throw new SigillError('INCOMPATIBLE_OPTIONS', { detail: given.map((flag) => `--${flag}`).join(' ') });
    const name = `sigill ${sigillVersion()}`;
    const lines: Record<(typeof versionFlags)[number] | 'plain', string[]> = {
      plain: [name],
      backend: [config.versionString],
      extended: [name, config.versionString, `Node.js ${process.version}`, `implements ${sopSpecVersion}`],
      'sop-spec': [sopSpecVersion, ...sopSpecRemarks],
      sopv: [sopvVersion],
    };
    await writeStdout(`${lines[given[0] ?? 'plain'].join('\n')}\n`);
    return sopExitCodes.OK;
  },
};

export const listProfilesCommand: SopCommand = {
  name: 'list-profiles',
  summary: 'Lists the profiles of a subcommand (the first is the default)',
  usage: 'SUBCOMMAND',
  options: [],
  async run(args) {
    const [subcommand, ...extra] = args.positionals;
    if (subcommand === undefined) throw new SigillError('MISSING_ARGUMENT', { detail: 'the SUBCOMMAND whose profiles to list' });
    if (extra.length > 0) throw new SigillError('BAD_INPUT', { detail: `unexpected argument ${extra[0]}` });
    const profiles = profilesBySubcommand[subcommand];
    if (!profiles) throw new SigillError('UNSUPPORTED_PROFILE', { detail: `${subcommand} has no profiles` });
    await writeStdout(formatProfiles(profiles));
    return sopExitCodes.OK;
  },
};
