// Placeholder until its issue lands; replaced by the real command.
export async function run(_args: string[]): Promise<number> {
  process.stderr.write('sigill: this command is not built yet\n');
  return 1;
}
