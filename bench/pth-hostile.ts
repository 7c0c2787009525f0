/**
 * The hostile .pth corpus (test/helpers/hostile-pth.ts, issue 31) through the real CLI, one
 * process per file and command, so each time and peak RSS (GNU time's %M) is that file's alone:
 * `weights inspect`, `weights convert` and `detect --model … --method hpfcn`. Prints one row per
 * case: the problem reported, then wall time and peak RSS per command. Limits: 5 s, 512 MiB.
 *   npm run bench:pth-hostile
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { hostilePthCorpus } from '../test/helpers/hostile-pth.js';

const cli = new URL('../src/cli/index.ts', import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-hostile-'));
try {
  const image = join(dir, 'face.png');
  await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toFile(image);
  await mkdir(join(dir, 'out'));
  const commands: [string, (file: string) => string[]][] = [
    ['inspect', (f) => ['weights', 'inspect', f]],
    ['convert', (f) => ['weights', 'convert', f, '--out', join(dir, 'out', 'w.safetensors')]],
    ['detect', (f) => ['detect', image, '--model', f, '--method', 'hpfcn', '--out', join(dir, 'out')]],
  ];
  console.log(`| case | file bytes | problem (weights inspect) | ${commands.map(([c]) => `${c} s / MiB`).join(' | ')} |`);
  console.log(`|---|---|---|${commands.map(() => '---').join('|')}|`);
  for (const c of hostilePthCorpus()) {
    const file = join(dir, `${c.name}.pth`);
    await writeFile(file, c.bytes);
    let problem = '';
    const cells: string[] = [];
    for (const [name, args] of commands) {
      const t0 = performance.now();
      const r = spawnSync('/usr/bin/time', ['-f', 'RSS_KB=%M', process.execPath, '--import', 'tsx', cli, ...args(file)], { encoding: 'utf8' });
      const seconds = (performance.now() - t0) / 1000;
      const rss = Number(/RSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? Number.NaN) / 1024;
      const first = r.stderr
        .split('\n')[0]
        .replace(/^msccnet: /, '')
        .replace(`${file}: `, '');
      if (name === 'inspect') problem = r.status === 0 ? `(exit 0) ${r.stdout.split('\n')[0].replace(`${file}: `, '')}` : first;
      cells.push(`${r.status === 0 ? 'ok' : `exit ${r.status}`} ${seconds.toFixed(2)} / ${rss.toFixed(0)}`);
    }
    console.log(`| ${c.name} | ${c.bytes.length} | ${problem} | ${cells.join(' | ')} |`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
