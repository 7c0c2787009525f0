/**
 * `msccnet demo --quick` end to end through the CLI: every report part is there, the tables are
 * well-formed and agree across HTML, Markdown and JSON, no temp file is left behind, and the HTML
 * opens in headless Chromium with no console error and no request beyond the file itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { isTempName } from '../../src/io/atomic.js';
import { DEMO_METHODS } from '../../src/demo/plan.js';
import { cellNumber, formatCell, type Headline, type ReportTable } from '../../src/demo/report/index.js';

const CHROMIUM = '/usr/bin/chromium';
const SECTIONS = [
  'summary',
  'synthetic',
  'table1',
  'table2',
  'table4',
  'table6',
  'paired',
  'significance',
  'seeds',
  'curves',
  'robustness',
  'fig4',
  'fig3',
  'detect',
  'stages',
];

let dir: string;
let html: string;
let md: string;
let json: {
  tables: ReportTable[];
  headline: Headline;
  methods: Record<string, string>;
  grid: Array<{ label: string }>;
  plan: { compression: string };
  sentences: string[];
  seeds: { models: number[] };
};
let stdout: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msccnet-demo-'));
  const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'demo', '--quick', '--out', dir], { maxBuffer: 1 << 26 });
  stdout = r.stdout;
  [html, md] = await Promise.all([readFile(join(dir, 'report.html'), 'utf8'), readFile(join(dir, 'report.md'), 'utf8')]);
  json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as typeof json;
});
after(() => rm(dir, { recursive: true, force: true }));

/** Rows of the HTML table in section `id`: [row name, ...cell texts]. */
function htmlRows(id: string): string[][] {
  const section = html.match(new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`))?.[1];
  assert.ok(section, `section ${id} missing`);
  const body = section.match(/<tbody>([\s\S]*?)<\/tbody>/)![1]!;
  const unescape = (s: string): string =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&');
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => unescape(c[1]!)));
}

test('the report has every part, in HTML, Markdown and JSON', () => {
  for (const id of SECTIONS) assert.match(html, new RegExp(`<section id="${id}"`), `HTML section ${id}`);
  assert.deepEqual(json.tables.map((t) => t.id).sort(), ['detect', 'paired', 'robustness', 'stages', 'table1', 'table2', 'table4', 'table6']);
  for (const t of json.tables) assert.ok(md.includes(`### ${t.title}`), `Markdown lacks ${t.title}`);
  assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 5, 'two training-curve charts, two seed plots and the robustness curve');
  const sweep = html.match(/<section id="robustness">([\s\S]*?)<\/section>/)![1]!;
  assert.equal((sweep.match(/<polyline /g) ?? []).length, 4, 'a robustness curve per perturbation kind');
  assert.ok((html.match(/<polyline /g) ?? []).length >= 2 + 2 * 5, 'a curve per run: 2 intra + 2 × 5 leave-one-out');
  const grid = html.match(/<section id="fig4">([\s\S]*?)<\/section>/)![1]!;
  assert.equal(
    (grid.match(/<img src="data:image\/png;base64,/g) ?? []).length,
    4 * (Object.keys(DEMO_METHODS).length + 1),
    'Fig. 4: 4 pictures × (5 kinds + real)',
  );
  const strip = html.match(/<section id="fig3">([\s\S]*?)<\/section>/)![1]!;
  assert.ok((strip.match(/<figure>/g) ?? []).length >= 6, 'Fig. 3 strip: the annotation stages');
  assert.match(stdout, /report: .*report\.html/);
});

test('self-contained: no script, no external reference', () => {
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /https?:\/\//);
  const refs = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  assert.ok(refs.length > 0);
  for (const r of refs) assert.ok(r.startsWith('data:image/png;base64,'), `external reference ${r.slice(0, 60)}`);
});

test('tables are well-formed and their numbers in range', () => {
  for (const t of json.tables) {
    assert.ok(t.rows.length > 0, `${t.id}: no rows`);
    for (const r of t.rows) {
      assert.equal(r.cells.length, t.columns.length, `${t.id} ${r.name}: cells vs columns`);
      for (const cell of r.cells) {
        if (cell === null || typeof cell === 'string') continue;
        const c = cellNumber(cell);
        assert.ok(Number.isFinite(c), `${t.id} ${r.name}: ${c}`);
        if (t.unit === 'percent') assert.ok(c >= 0 && c <= 100, `${t.id} ${r.name}: ${c} not a percentage`);
        if (t.unit === 'count') assert.ok(Number.isInteger(c) && c >= 0, `${t.id} ${r.name}: ${c} not a count`);
      }
    }
  }
  const t2 = json.tables.find((t) => t.id === 'table2')!;
  // the paper's layout: c40 | c23 side by side; the demo trains one compression, the other group is empty
  assert.deepEqual(
    t2.columns,
    ['c40', 'c23'].flatMap((c) => ['ACC', 'AUC', 'F1', 'mIoU'].map((m) => `${c} ${m}`)),
  );
  assert.deepEqual(
    t2.rows.map((r) => r.name),
    ['all-real predictor', 'Base.', 'MSCCNet (small)'],
  );
  const col = (m: string): number => t2.columns.indexOf(`${json.plan.compression} ${m}`);
  for (const r of t2.rows) assert.equal(r.cells.filter((c) => c === null).length, 4, `${r.name}: one empty compression group`);
  // all-real: AUC 50 exactly, mIoU = real-pixel share / 2 < 50; the headline repeats the table
  assert.equal(t2.rows[0]!.cells[col('AUC')], 50);
  assert.ok((t2.rows[0]!.cells[col('mIoU')] as number) < 50);
  assert.equal(json.headline.msccnetMIoU, cellNumber(t2.rows[2]!.cells[col('mIoU')]!));
  assert.equal(json.headline.allRealMIoU, t2.rows[0]!.cells[col('mIoU')]);
  const sweep = json.tables.find((t) => t.id === 'robustness')!;
  assert.deepEqual(
    sweep.rows.map((r) => r.name),
    ['none', 'jpeg-70', 'jpeg-40', 'blur-3', 'blur-5', 'noise-10', 'noise-20', 'resize-0.5'],
  );
  const t4 = json.tables.find((t) => t.id === 'table4')!;
  assert.equal(t4.rows.length, Object.keys(DEMO_METHODS).length + 1, 'five held-out rows and the average');
  assert.equal(t4.columns[0], 'all-real mIoU');
  for (const r of t4.rows) assert.ok((r.cells[0] as number) > 0 && (r.cells[0] as number) < 50, `${r.name}: all-real mIoU = real-pixel share / 2`);
  assert.equal(json.headline.looAllRealMIoU, t4.rows.at(-1)!.cells[0]);
  for (let c = 0; c < t4.columns.length; c++) {
    const mean = t4.rows.slice(0, -1).reduce((s, r) => s + cellNumber(r.cells[c]!), 0) / (t4.rows.length - 1);
    assert.ok(Math.abs(mean - cellNumber(t4.rows.at(-1)!.cells[c]!)) < 0.02, `table4 column ${t4.columns[c]}: average row`);
  }
  const t1 = json.tables.find((t) => t.id === 'table1')!;
  assert.deepEqual(
    t1.rows.map((r) => r.name.split(' ')[0]).filter((v, i, a) => a.indexOf(v) === i),
    ['c23', 'c40', 'raw'],
  );
});

test('seeds: Base. and MSCCNet cells are mean ± std over the quick run’s 2 seeds, with a sentence per comparison with Base.', () => {
  assert.deepEqual(json.seeds.models, [0, 1]);
  const t2 = json.tables.find((t) => t.id === 'table2')!;
  const msccnet = t2.rows[2]!.cells[t2.columns.indexOf(`${json.plan.compression} mIoU`)]!;
  assert.ok(typeof msccnet === 'object' && msccnet !== null && msccnet.n === 2 && msccnet.perSeed.length === 2, JSON.stringify(msccnet));
  assert.ok(Math.abs(msccnet.mean - (msccnet.perSeed[0]! + msccnet.perSeed[1]!) / 2) < 0.011);
  assert.deepEqual(
    json.sentences.map((s) => s.split(':')[0]),
    ['pixel mIoU', 'pixel F1', 'image AUC', 'video AUC'].map((m) => `MSCCNet (small) − Base. on the ${json.plan.compression} test set ${m}`),
  );
  for (const s of json.sentences) assert.match(s, /(not significant|significant) at 95 % \(\d+ videos, 2 seeds, 2000 resamples|undefined|no interval/);
  assert.match(html, /mean ± std over 2 seeds/);
  assert.match(stdout, /MSCCNet \(small\) − Base\. on the c23 test set pixel mIoU: /);
});

test('every synthetic manipulation is named as synthetic', () => {
  for (const [method, label] of Object.entries(json.methods)) {
    assert.match(label, /^synthetic /, method);
    assert.ok(html.includes(label), `HTML lacks ${label}`);
  }
  for (const row of json.grid) assert.ok(row.label === 'real' || row.label.startsWith('synthetic '), row.label);
  assert.match(html, /not deepfakes/);
  assert.match(html, /MSCCNet (beats|does not beat) Base\./);
  assert.match(html, /optimiser departs from the official SGD[\s\S]*?: AdamW \(lr 0\.0003/, 'the report names the non-official optimiser');
});

test('HTML and Markdown show exactly the JSON tables', () => {
  for (const t of json.tables) {
    const expected = t.rows.map((r) => [r.name, ...r.cells.map(formatCell)]);
    assert.deepEqual(htmlRows(t.id), expected, `${t.id}: HTML differs from JSON`);
    const lines = md.split('\n');
    const at = lines.indexOf(`### ${t.title}`);
    const mdRows = lines.slice(at + 4, at + 4 + t.rows.length).map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.replace(/\\\|/g, '|')),
    );
    assert.deepEqual(mdRows, expected, `${t.id}: Markdown differs from JSON`);
  }
});

test('outputs are written atomically: no temp file is left', async () => {
  const left = (await readdir(dir, { recursive: true })).filter((p) => isTempName(p.split('/').at(-1)!));
  assert.deepEqual(left, []);
  assert.ok(existsSync(join(dir, 'model', 'msccnet.onnx')));
});

test('the report opens in headless Chromium with no console error and no network request', async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup (installs Debian's chromium)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const url = pathToFileURL(join(dir, 'report.html')).href;
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (r.url() !== url && !r.url().startsWith('data:')) requests.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });
    const broken = await page.$$eval('img', (imgs) => imgs.filter((i) => !i.complete || i.naturalWidth === 0).length);
    assert.equal(broken, 0, 'every picture decodes');
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
  } finally {
    await browser.close();
  }
});
