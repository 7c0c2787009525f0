import { Command, InvalidArgumentError } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { defactoManifest } from '../data/defacto.js';
import { FORGERY_SETS, forgeryManifest, type ForgerySet } from '../data/casia.js';
import { formatManifest, formatStats, manifestStats, readManifest } from '../data/manifest.js';

export function makeDatasetCommand(): Command {
  const dataset = new Command('dataset').description('inspect and build face-crop manifests');
  dataset
    .command('stats')
    .description('Table-1-style counts of a manifest: fakes per method and split, paired and distinct reals')
    .argument('<manifest>', 'manifest.jsonl from `msccnet prepare` or `msccnet dataset defacto`')
    .option('--json', 'print the counts as JSON')
    .action(async (path: string, opts: { json?: boolean }) => {
      const stats = manifestStats(await readManifest(path));
      console.log(opts.json ? JSON.stringify(stats, null, 1) : formatStats(stats));
    });
  dataset
    .command('defacto')
    .description('a test manifest from a DEFACTO face-swap folder (test_vis.txt, or Image/{fake,real} with Mask/fake)')
    .requiredOption('--root <dir>', 'the DEFACTO face-swap folder')
    .option('-o, --out <file>', 'manifest to write (default <root>/manifest.jsonl)')
    .option('--method <name>', 'method name for its fakes', 'DEFACTO')
    .action(async (opts: { root: string; out?: string; method: string }) => {
      const out = resolve(opts.out ?? join(opts.root, 'manifest.jsonl'));
      const r = await defactoManifest(resolve(opts.root), dirname(out), opts.method);
      await writeFileAtomic(out, formatManifest(r.entries));
      const fakes = r.entries.filter((e) => e.label === 1).length;
      console.log(`${out}: ${r.entries.length} images (${fakes} fake, ${r.entries.length - fakes} real)`);
      for (const s of r.skipped) console.log(`skipped ${s.image}: ${s.reason}`);
    });
  dataset
    .command('forgery')
    .description('a manifest of a general image forgery set of Table 5 (CASIA v2.0 trains; CASIA v1.0 and COVERAGE test), MVSS-Net layout and mask names')
    .argument('<set>', FORGERY_SETS.join(' | '))
    .requiredOption('--root <dir>', 'the dataset folder (Au/, TP/ or tampered/, mask/)')
    .option('--list <file>', 'an MVSS-Net data list (`<image> <mask|None> <label>`) instead of the folder scan')
    .option('-o, --out <file>', 'manifest to write (default <root>/manifest.jsonl)')
    .action(async (set: string, opts: { root: string; list?: string; out?: string }) => {
      if (!(FORGERY_SETS as readonly string[]).includes(set)) throw new InvalidArgumentError(`expected one of ${FORGERY_SETS.join(', ')}, got '${set}'`);
      const out = resolve(opts.out ?? join(opts.root, 'manifest.jsonl'));
      const r = await forgeryManifest(set as ForgerySet, resolve(opts.root), dirname(out), opts.list === undefined ? undefined : resolve(opts.list));
      await writeFileAtomic(out, formatManifest(r.entries));
      const fakes = r.entries.filter((e) => e.label === 1).length;
      console.log(`${out}: ${r.entries.length} images (${fakes} tampered, ${r.entries.length - fakes} authentic), split '${r.entries[0]?.split ?? ''}'`);
      for (const s of r.skipped) console.log(`skipped ${s.image}: ${s.reason}`);
    });
  return dataset;
}
