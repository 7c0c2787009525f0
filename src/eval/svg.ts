/** Inline SVG line charts (no script, no external references) for training curves. */

export interface Series {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly colour: string;
  readonly width?: number;
}

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/** A line chart of `series` with axes, ticks, a title and a legend (series with an empty name stay out of it). */
export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[], size: [w: number, h: number] = [700, 300]): string {
  const [W, H] = size;
  const m = { left: 56, right: 150, top: 28, bottom: 42 }; // the legend sits in the right margin
  const finite = (a: readonly number[]): number[] => a.filter(Number.isFinite);
  const xs = series.flatMap((s) => finite(s.x));
  const ys = series.flatMap((s) => finite(s.y));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = ys.length ? [Math.min(0, ...ys), Math.max(...ys)] : [0, 1];
  const px = (x: number): number => m.left + ((x - x0) / (x1 - x0 || 1)) * (W - m.left - m.right);
  const py = (y: number): number => H - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - m.top - m.bottom);
  const parts: string[] = [
    `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
    `<text x="${W / 2}" y="16" text-anchor="middle" class="chart-title">${esc(title)}</text>`,
    `<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" class="axis"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${H - m.bottom}" class="axis"/>`,
  ];
  for (const t of ticks(x0, x1)) parts.push(`<text x="${px(t).toFixed(1)}" y="${H - m.bottom + 14}" text-anchor="middle" class="tick">${t}</text>`);
  for (const t of ticks(y0, y1, 4)) {
    parts.push(
      `<line x1="${m.left}" y1="${py(t).toFixed(1)}" x2="${W - m.right}" y2="${py(t).toFixed(1)}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${Number(t.toPrecision(3))}</text>`,
    );
  }
  parts.push(
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 6}" text-anchor="middle" class="label">${esc(xLabel)}</text>`,
    `<text x="14" y="${(m.top + H - m.bottom) / 2}" text-anchor="middle" class="label" transform="rotate(-90 14 ${(m.top + H - m.bottom) / 2})">${esc(yLabel)}</text>`,
  );
  for (const s of series) {
    const pts = s.x.map((x, i) => [x, s.y[i]!] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    parts.push(
      `<polyline fill="none" stroke="${s.colour}" stroke-width="${s.width ?? 1.5}" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
    );
  }
  series
    .filter((s) => s.name !== '')
    .forEach((s, i) => {
      const y = m.top + 4 + i * 14;
      parts.push(
        `<line x1="${W - m.right + 10}" y1="${y}" x2="${W - m.right + 30}" y2="${y}" stroke="${s.colour}" stroke-width="3"/>`,
        `<text x="${W - m.right + 35}" y="${y + 4}" class="legend">${esc(s.name)}</text>`,
      );
    });
  parts.push('</svg>');
  return parts.join('\n');
}
