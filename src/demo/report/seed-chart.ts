/**
 * The seed plot: one column per model, a dot per training seed and a bar at their mean, so a
 * reader sees the spread the ± of the tables summarises. Inline SVG like the report's other
 * charts (eval/svg.ts): no script, no external reference.
 */
import { esc } from '../../eval/svg.js';

export interface SeedGroup {
  readonly name: string;
  readonly colour: string;
  /** one value per seed, in the chart's unit (e.g. %) */
  readonly values: readonly number[];
}

/** A dot per seed and a mean bar per group; the y axis spans the values with a margin. */
export function seedChart(title: string, yLabel: string, groups: readonly SeedGroup[], size: [w: number, h: number] = [700, 280]): string {
  const [W, H] = size;
  const m = { left: 56, right: 16, top: 28, bottom: 46 };
  const all = groups.flatMap((g) => g.values).filter(Number.isFinite);
  const [lo, hi] = all.length > 0 ? [Math.min(...all), Math.max(...all)] : [0, 1];
  const pad = (hi - lo || Math.max(1, Math.abs(hi))) * 0.15;
  const [y0, y1] = [lo - pad, hi + pad];
  const py = (y: number): number => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const slot = (W - m.left - m.right) / Math.max(1, groups.length);
  const cx = (i: number): number => m.left + slot * (i + 0.5);
  const parts: string[] = [
    `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
    `<text x="${W / 2}" y="16" text-anchor="middle" class="chart-title">${esc(title)}</text>`,
    `<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" class="axis"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${H - m.bottom}" class="axis"/>`,
    `<text x="14" y="${(m.top + H - m.bottom) / 2}" text-anchor="middle" class="label" transform="rotate(-90 14 ${(m.top + H - m.bottom) / 2})">${esc(yLabel)}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = y0 + ((y1 - y0) * k) / 4;
    parts.push(
      `<line x1="${m.left}" y1="${py(v).toFixed(1)}" x2="${W - m.right}" y2="${py(v).toFixed(1)}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${v.toFixed(1)}</text>`,
    );
  }
  groups.forEach((g, i) => {
    const finite = g.values.filter(Number.isFinite);
    parts.push(`<text x="${cx(i).toFixed(1)}" y="${H - m.bottom + 16}" text-anchor="middle" class="tick">${esc(g.name)}</text>`);
    // seeds side by side around the column's centre, so equal values stay visible
    finite.forEach((v, k) => {
      const x = cx(i) + (k - (finite.length - 1) / 2) * 10;
      parts.push(
        `<circle class="seed" cx="${x.toFixed(1)}" cy="${py(v).toFixed(1)}" r="4" fill="${g.colour}" fill-opacity="0.6"><title>${esc(`${g.name} seed ${k + 1}: ${v.toFixed(2)}`)}</title></circle>`,
      );
    });
    if (finite.length > 0) {
      const mean = finite.reduce((a, v) => a + v, 0) / finite.length;
      const half = Math.min(slot / 3, 28);
      parts.push(
        `<line class="mean" x1="${(cx(i) - half).toFixed(1)}" y1="${py(mean).toFixed(1)}" x2="${(cx(i) + half).toFixed(1)}" y2="${py(mean).toFixed(1)}" stroke="${g.colour}" stroke-width="2.5"><title>${esc(`${g.name} mean of ${finite.length}: ${mean.toFixed(2)}`)}</title></line>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}
