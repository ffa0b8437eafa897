/** A one-line progress bar with ETA on a TTY; periodic plain lines otherwise (logs, CI). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function progressLine(
  step: number,
  total: number,
  etaSeconds: number,
  extra: string,
  width = 28,
): string {
  const frac = total > 0 ? Math.min(1, step / total) : 0;
  const filled = Math.round(frac * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  return `${bar} ${String(Math.round(frac * 100)).padStart(3)}% ${step}/${total} ETA ${formatDuration(etaSeconds)} ${extra}`;
}

export class ProgressBar {
  private lastPlain = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(step: number, total: number, etaSeconds: number, extra = ''): void {
    const line = progressLine(step, total, etaSeconds, extra);
    if (this.stream.isTTY) this.stream.write(`\r${line}\x1b[K`);
    else if (Date.now() - this.lastPlain > 5000 || step === total) {
      this.lastPlain = Date.now();
      this.stream.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
