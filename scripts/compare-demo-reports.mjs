#!/usr/bin/env node
// Compares two demo runs' report.json for a refactor that must not change results: every table, metric,
// curve, detection and figure value must be identical; only timings and the output folder may differ.
//
//   node scripts/compare-demo-reports.mjs OLD/report.json NEW/report.json
//
// Exit 0 and "identical" when they agree; otherwise each differing path with both values, exit 1.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const [a, b] = process.argv.slice(2);
if (a === undefined || b === undefined) {
  console.error('usage: compare-demo-reports.mjs OLD/report.json NEW/report.json');
  process.exit(2);
}
/** Keys whose values are wall-clock measurements, not results. */
const TIMING = /seconds|elapsed|duration|(^|[a-z])Ms$|^ms$|perSecond|throughput/i;
/** Paths that are not results: the stage-times table, and the ONNX file's size (it records the output folder's path). */
const NOT_RESULTS = new Set(['onnx.bytes']);

function load(file) {
  const out = resolve(dirname(file));
  // the run's own output folder appears in paths: name it the same in both
  return JSON.parse(readFileSync(file, 'utf8').replaceAll(JSON.stringify(out).slice(1, -1), '<out>'));
}

const diffs = [];
function compare(x, y, path) {
  if (TIMING.test(path.split('.').at(-1) ?? '') || NOT_RESULTS.has(path) || x?.id === 'stages') return;
  if (typeof x !== typeof y || Array.isArray(x) !== Array.isArray(y) || (x === null) !== (y === null)) {
    diffs.push(`${path}: ${JSON.stringify(x)} ≠ ${JSON.stringify(y)}`);
  } else if (x !== null && typeof x === 'object') {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) compare(x[k], y[k], path === '' ? k : `${path}.${k}`);
  } else if (!Object.is(x, y)) {
    diffs.push(`${path}: ${JSON.stringify(x)} ≠ ${JSON.stringify(y)}`);
  }
}
compare(load(a), load(b), '');
if (diffs.length === 0) {
  console.log('identical (timings and the output folder aside)');
} else {
  console.log(`${diffs.length} difference(s):\n${diffs.slice(0, 50).join('\n')}${diffs.length > 50 ? `\n… ${diffs.length - 50} more` : ''}`);
  process.exit(1);
}
