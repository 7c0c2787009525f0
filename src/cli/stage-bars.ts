import { progressBar, type ProgressBar } from './progress.js';

/**
 * Several progress bars at once. On a TTY each bar keeps its own line (redrawn in place);
 * otherwise every bar prints its own 5 % lines, which interleave readably in logs.
 */
export function stageBars(labels: readonly string[], totals: readonly number[], stream: NodeJS.WriteStream = process.stderr): ProgressBar[] {
  if (stream.isTTY !== true) return labels.map((l, i) => progressBar(l, totals[i] ?? 0, stream));
  const lines = labels.map(() => '');
  let drawn = false;
  const redraw = (): void => {
    if (drawn) stream.write(`\x1b[${lines.length}A`);
    for (const l of lines) stream.write(`\r\x1b[2K${l}\n`);
    drawn = true;
  };
  return labels.map((label, i) => {
    // progressBar draws `\r\x1b[2K<line>` on a TTY; capture the line and redraw the block.
    const capture = {
      isTTY: true,
      write(s: string) {
        lines[i] = s.replace(/^\r\x1b\[2K/, '').replace(/\n$/, '');
        redraw();
        return true;
      },
    };
    return progressBar(label.padEnd(Math.max(...labels.map((x) => x.length))), totals[i] ?? 0, capture as unknown as NodeJS.WriteStream);
  });
}
