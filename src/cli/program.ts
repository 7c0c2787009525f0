import { Command } from 'commander';
import { makeModelCommand } from './model.js';
import { makeTrainCommand } from './train.js';
import { makeBenchmarkCommand } from './benchmark.js';

/** The `msccnet` command; each subcommand lives in its own file and is added here. */
export function makeProgram(): Command {
  return new Command('msccnet')
    .description('MSCCNet face manipulation detection and localization')
    .showHelpAfterError()
    .addCommand(makeModelCommand())
    .addCommand(makeTrainCommand())
    .addCommand(makeBenchmarkCommand());
}
