import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPaperTable, formatTables, paperTable, variantRunConfig, type ProtocolTable } from '../../src/eval/protocols.js';
import { applyVariant } from '../../src/train/config.js';

test('protocol tables: paper layout in %, every cell traceable to its run folder in the CSV', () => {
  const cell = (value: number, run: string) => ({ value, run });
  const t: ProtocolTable = {
    protocol: 'leave-one-out', title: 'Table 4: leave one manipulation out', setting: 'c40', augment: 'official',
    rows: [
      { name: 'Deepfakes', cells: { ACC: cell(0.9, '/r/a'), AUC: cell(0.95, '/r/a'), F1: cell(0.8, '/r/a'), mIoU: cell(0.7, '/r/a') } },
      { name: 'Average', cells: { ACC: cell(0.9, '/r'), AUC: cell(0.95, '/r'), F1: cell(0.8, '/r'), mIoU: cell(0.7, '/r') } },
    ],
  };
  const f = formatTables(t);
  assert.match(f.markdown, /\| held-out manipulation \| ACC \| AUC \| F1 \| mIoU \|/);
  assert.match(f.markdown, /\| Deepfakes \| 90\.00 \| 95\.00 \| 80\.00 \| 70\.00 \|/);
  assert.match(f.markdown, /- Deepfakes: `\/r\/a`/);
  const lines = f.csv.trim().split('\n');
  assert.equal(lines[0], 'protocol,row,metric,value,run');
  assert.equal(lines.length, 1 + 2 * 4);
  assert.equal(lines[1], 'leave-one-out,Deepfakes,ACC,0.9,/r/a');
  assert.deepEqual(JSON.parse(f.json), t);
});

test('paper layouts: Table 2 puts c40 | c23 side by side per variant; Table 4 gives F1/mIoU then ACC/AUC per held-out manipulation and the average', () => {
  const row = (name: string, v: number) => ({ name, cells: { ACC: { value: v, run: 'r' }, AUC: { value: v + 0.01, run: 'r' }, F1: { value: v + 0.02, run: 'r' }, mIoU: { value: v + 0.03, run: 'r' } } });
  const table = (protocol: ProtocolTable['protocol'], rows: ProtocolTable['rows']): ProtocolTable => ({ protocol, title: '', setting: '', augment: 'official', rows });
  const t2 = paperTable('intra', [
    { variant: 'base', compression: 'c23', table: table('intra', [row('FF++ c23', 0.5)]) },
    { variant: 'base', compression: 'c40', table: table('intra', [row('FF++ c40', 0.4)]) },
    { variant: 'msccnet', compression: 'c40', table: table('intra', [row('FF++ c40', 0.6)]) },
    { variant: 'msccnet', compression: 'c23', table: table('intra', [row('FF++ c23', 0.7)]) },
  ]);
  assert.deepEqual(t2.columns, ['c40 ACC', 'c40 AUC', 'c40 F1', 'c40 mIoU', 'c23 ACC', 'c23 AUC', 'c23 F1', 'c23 mIoU']);
  assert.deepEqual(t2.rows.map((r) => r.name), ['base', 'msccnet']);
  assert.deepEqual(t2.rows[1]!.cells.map((v) => Math.round(v! * 100)), [60, 61, 62, 63, 70, 71, 72, 73]);
  assert.match(formatPaperTable(t2).markdown, /\| msccnet \| 60\.00 \| 61\.00 \| 62\.00 \| 63\.00 \| 70\.00 \| 71\.00 \| 72\.00 \| 73\.00 \|/);

  const t4 = paperTable('leave-one-out', [{ variant: 'msccnet', compression: 'c40', table: table('leave-one-out', [row('Deepfakes', 0.1), row('FaceSwap', 0.2), row('Average', 0.15)]) }]);
  assert.deepEqual(t4.columns, ['Deepfakes F1', 'Deepfakes mIoU', 'FaceSwap F1', 'FaceSwap mIoU', 'Average F1', 'Average mIoU',
    'Deepfakes ACC', 'Deepfakes AUC', 'FaceSwap ACC', 'FaceSwap AUC', 'Average ACC', 'Average AUC']);
  assert.deepEqual(t4.rows[0]!.cells.map((v) => Math.round(v! * 100)), [12, 13, 22, 23, 17, 18, 10, 11, 20, 21, 15, 16]);
});

test('a variant name sets its model fields over the config\'s (train --variant, benchmark --variants)', () => {
  const raw = applyVariant({ model: { inputSize: 64, mfa: true }, batchSize: 2 }, 'base');
  assert.deepEqual(raw, { model: { inputSize: 64, mfa: false, mscc: false }, batchSize: 2 });
  const c = variantRunConfig({ data: { manifest: 'm.jsonl' }, model: { inputSize: 64 } }, 'no-gcn', 'c23');
  assert.deepEqual([c.model.gcn, c.model.inputSize, c.data.compression], [false, 64, 'c23']);
  const b = variantRunConfig({ data: { manifest: 'm.jsonl' } }, 'base', 'c40');   // auxLoss follows mscc: off
  assert.deepEqual([b.model.mscc, b.model.auxLoss], [false, false]);
  assert.throws(() => applyVariant({}, 'no-such'), /no-such/);
});
