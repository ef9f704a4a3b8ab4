/**
 * Progress and the closing summary on stderr. The progress line is drawn only when stderr is a terminal, at most once a
 * second, and erased before the summary.
 */
export class Progress {
  private readonly started = process.hrtime.bigint();
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(
    private readonly program: string,
    private readonly current: () => number,
    private readonly unit: string,
    enabled: boolean = process.stderr.isTTY === true,
  ) {
    if (enabled) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    }
  }

  /** Seconds since the run started. */
  seconds(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(): void {
    const n = this.current();
    const rate = n / Math.max(this.seconds(), 1e-9);
    process.stderr.write(`\r\x1b[K${this.program}: ${formatCount(n)} ${this.unit}, ${formatCount(rate)} ${this.unit}/s`);
    this.drawn = true;
  }
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `lmod-parse: 10 lines, 8 records, 1 skipped, 1 malformed in 0.01 s (1,000 lines/s)` */
export function summaryLine(program: string, counts: [string, number][], seconds: number, rateOf: [string, number]): string {
  const parts = counts.map(([label, n]) => `${formatCount(n)} ${label}`).join(', ');
  const rate = rateOf[1] / Math.max(seconds, 1e-9);
  return `${program}: ${parts} in ${seconds.toFixed(2)} s (${formatCount(rate)} ${rateOf[0]}/s)\n`;
}
