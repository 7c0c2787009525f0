import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stageBars } from '../../src/cli/stage-bars.js';

const fakeStream = (isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } => {
  let out = '';
  return {
    stream: {
      isTTY,
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream,
    text: () => out,
  };
};

test('on a TTY every stage keeps its own line, redrawn in place', () => {
  const { stream, text } = fakeStream(true);
  const [detect, crop] = stageBars(['detect', 'crop'], [10, 40], stream);
  detect!.update(5);
  crop!.update(40);
  const out = text();
  assert.match(out, /\x1b\[2A/, 'moves up over the block to redraw it');
  const lastBlock = out.split('\x1b[2A').at(-1)!;
  assert.match(lastBlock, /detect .* 5\/10 50%/);
  assert.match(lastBlock, /crop {3}.* 40\/40 100%/);
});

test('off a TTY each stage prints its own lines', () => {
  const { stream, text } = fakeStream(false);
  const [a, b] = stageBars(['probe', 'mask'], [2, 2], stream);
  a!.update(2);
  b!.update(1);
  assert.match(text(), /^probe .*2\/2 100%.*\nmask .*1\/2 50%/m);
});
