/**
 * Runs every .pth of a folder through `weights inspect`, `weights convert`, `detect --model`
 * (the CLI's own commands, in this one process) and the library's loadModelFile, timing each and
 * noting the process's peak RSS after it; writes the results as JSON. Started as a child by
 * test/nn/pth-hostile.test.ts, so the peak RSS is this process's alone.
 *   node --import tsx pth-hostile-child.ts <corpus dir> <image> <work dir> <results.json>
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeProgram } from '../../src/cli/program.js';
import { loadModelFile } from '../../src/models/index.js';
import { MsccnetError } from '../../src/errors.js';

export interface ChildResult {
  file: string;
  command: 'inspect' | 'convert' | 'detect' | 'loadModelFile';
  ms: number;
  /** the process's peak RSS so far, MiB */
  peakRssMiB: number;
  error: { code: string; problem: string } | { internal: string } | null;
}

const [dir, image, work, resultsPath] = process.argv.slice(2);
const cli = (args: string[]) => makeProgram().parseAsync(['node', 'msccnet', ...args]);
const results: ChildResult[] = [];
for (const name of (await readdir(dir)).filter((n) => n.endsWith('.pth')).sort()) {
  const file = join(dir, name);
  const runs: [ChildResult['command'], () => Promise<unknown>][] = [
    ['inspect', () => cli(['weights', 'inspect', file])],
    ['convert', () => cli(['weights', 'convert', file, '--out', join(work, `${name}.safetensors`)])],
    ['detect', () => cli(['detect', image, '--model', file, '--method', 'hpfcn', '--out', join(work, 'detections')])],
    ['loadModelFile', () => loadModelFile(file, { method: 'hpfcn' })],
  ];
  for (const [command, run] of runs) {
    const t0 = performance.now();
    let error: ChildResult['error'] = null;
    try {
      await run();
    } catch (err) {
      error =
        err instanceof MsccnetError ? { code: err.code, problem: err.problem } : { internal: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    results.push({ file: name, command, ms: performance.now() - t0, peakRssMiB: process.resourceUsage().maxRSS / 1024, error });
  }
}
await writeFile(resultsPath, JSON.stringify(results));
