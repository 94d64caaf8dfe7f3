/** `armor` and `dearmor` (draft-dkg-openpgp-stateless-cli, sections "armor", "dearmor"). */
import { armor, dearmor } from '../../../core/index.ts';
import type { SopCommand } from '../command.ts';
import { sopExitCodes } from '../exit-codes.ts';
import { rejectPositionals } from '../checks.ts';
import { stdinStream, writeStdout } from '../io.ts';

export const armorCommand: SopCommand = {
  name: 'armor',
  summary: 'Converts binary OpenPGP data to ASCII armor (armored input passes unchanged)',
  usage: '',
  options: [],
  async run(args) {
    rejectPositionals(args);
    await writeStdout(armor(stdinStream(), 'auto'));
    return sopExitCodes.OK;
  },
};

export const dearmorCommand: SopCommand = {
  name: 'dearmor',
  summary: 'Converts ASCII-armored OpenPGP data to binary (binary input passes unchanged)',
  usage: '',
  options: [],
  async run(args) {
    rejectPositionals(args);
    await writeStdout(dearmor(stdinStream()));
    return sopExitCodes.OK;
  },
};
