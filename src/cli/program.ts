import { Command } from 'commander';
import { makeAnnotateCommand } from './annotate.js';
import { makeModelCommand } from './model.js';
import { makeDatasetCommand } from './dataset.js';
import { makeDetectCommand } from './detect.js';
import { makeExportCommand } from './export.js';
import { makePrepareCommand } from './prepare.js';
import { makeServeCommand } from './serve.js';
import { makeWorkerCommand } from './worker.js';
import { makeSamplesCommand } from './samples.js';
import { makeTrainCommand } from './train.js';
import { makeBenchmarkCommand } from './benchmark.js';
import { makeEvaluateCommand } from './evaluate.js';
import { makeDemoCommand } from './demo.js';
import { makeWeightsCommand } from './weights.js';

/** The `msccnet` command; each subcommand lives in its own file and is added here. */
export function makeProgram(): Command {
  return new Command('msccnet')
    .description('MSCCNet face manipulation detection and localization')
    .showHelpAfterError()
    .addCommand(makeModelCommand())
    .addCommand(makeAnnotateCommand())
    .addCommand(makePrepareCommand())
    .addCommand(makeWorkerCommand())
    .addCommand(makeDatasetCommand())
    .addCommand(makeExportCommand())
    .addCommand(makeDetectCommand())
    .addCommand(makeSamplesCommand())
    .addCommand(makeServeCommand())
    .addCommand(makeTrainCommand())
    .addCommand(makeBenchmarkCommand())
    .addCommand(makeEvaluateCommand())
    .addCommand(makeDemoCommand())
    .addCommand(makeWeightsCommand());
}
