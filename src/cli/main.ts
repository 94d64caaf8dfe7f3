/**
 * `sigill` entry point: dispatches to the sub-commands. Each sub-command module exports
 * `run(args): Promise<number>` returning the process exit code.
 */
const commands: Record<string, () => Promise<{ run(args: string[]): Promise<number> }>> = {
  sop: () => import('./sop/main.ts'),
  relay: () => import('./relay.ts'),
  demo: () => import('./demo.ts'),
  key: () => import('./key/main.ts'),
};

const usage = `usage: sigill <command> [args...]

commands:
  sop     the Stateless OpenPGP command line (sigill sop --help)
  relay   the mail relay: SMTP submission and inbound, POP3, HTTP view (sigill relay --help)
  demo    relay with demo accounts, the built .xpi and a Thunderbird profile (npm start)
  key     find correspondents' keys: sigill key locate EMAIL (sigill key --help)
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name === undefined ? 1 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`sigill: unknown command '${name}'\n\n${usage}`);
    return 1;
  }
  const command = await load();
  return command.run(rest);
}
