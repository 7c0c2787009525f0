/**
 * Progress display for long CLI stages: redraws one line on a TTY, otherwise prints a line
 * every 5 % (logs stay readable in CI). Shows count, rate and ETA. Only the CLI uses it;
 * library code reports through callbacks.
 */
export interface ProgressBar {
  /** Sets the number of finished items (absolute) and an optional short status. */
  update(done: number, status?: string): void;
  /** Changes the total (for stages whose size becomes known late). */
  setTotal(total: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const t0 = performance.now();
  const tty = stream.isTTY === true;
  let lastPct = -1;
  let lastDraw = 0;
  let done = 0;
  let status = '';
  const draw = (final: boolean): void => {
    const seconds = (performance.now() - t0) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 && total > done ? (total - done) / rate : 0;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const width = 24;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const line = `${label} ${bar} ${done}/${total} ${(frac * 100).toFixed(0)}% ${formatRate(rate)} ${
      final ? `${formatSeconds(seconds)}` : `ETA ${formatSeconds(eta)}`
    }${status ? ` ${status}` : ''}`;
    if (tty) stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else stream.write(`${line}\n`);
  };
  return {
    update(n, s) {
      done = n;
      if (s !== undefined) status = s;
      const now = performance.now();
      if (tty) {
        if (now - lastDraw > 100 || done === total) {
          lastDraw = now;
          draw(false);
        }
      } else {
        const pct = total > 0 ? Math.floor((done / total) * 20) : 20;
        if (pct !== lastPct) {
          lastPct = pct;
          draw(false);
        }
      }
    },
    setTotal(n) {
      total = n;
    },
    stop() {
      draw(true);
    },
  };
}

function formatRate(perSecond: number): string {
  return perSecond >= 1 || perSecond === 0 ? `${perSecond.toFixed(1)}/s` : `${(1 / perSecond).toFixed(1)}s/it`;
}

/** `12.3s` under a minute, else whole seconds split once rounded (299.6 s is `5m00s`, not `4m60s`). */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 59.95) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}
