import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTables, type ProtocolTable } from '../../src/eval/protocols.js';

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
