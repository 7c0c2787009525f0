import { Command, Option } from 'commander';
import { SAMPLE_FACES, SAMPLE_METHODS, writeSamplePairs } from '../data/sample-faces.js';
import { positiveInt } from './args.js';

export function makeSamplesCommand(): Command {
  return new Command('samples')
    .description(
      `write synthetic real/fake face pairs in the FF++ layout (${SAMPLE_FACES.length} faces from the photos ` +
        `shipped with @vladmandic/face-api; fakes: ${SAMPLE_METHODS.join(', ')} blends inside an ellipse)`,
    )
    .requiredOption('-o, --out <dir>', 'folder for youtube/<tgt>/<frame>.png and <method>/<tgt>_<src>/<frame>.png')
    .addOption(new Option('--side <px>', 'side of the square face crops').argParser(positiveInt).default(256))
    .addOption(new Option('--frames <n>', 'frames per face (the crop box shifts 4 px per frame)').argParser(positiveInt).default(2))
    .action(async (opts: { out: string; side: number; frames: number }) => {
      const fakes = await writeSamplePairs(opts.out, { side: opts.side, frames: opts.frames });
      console.log(`${fakes} synthetic fake frames and their reals written to ${opts.out}`);
    });
}
