/** Latency samples with nearest-rank percentiles, bounded to the most recent samples. */

export type Percentiles = { count: number; p50: number; p90: number; p99: number; max: number };

export class LatencySamples {
  private readonly samples: number[] = [];
  private total = 0;
  private readonly limit: number;

  constructor(limit = 4096) {
    this.limit = limit;
  }

  add(ms: number): void {
    this.total++;
    this.samples.push(ms);
    if (this.samples.length > this.limit) this.samples.shift();
  }

  /** Nearest-rank percentiles over the retained samples; `count` is every sample ever added. */
  summary(): Percentiles {
    if (this.samples.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const s = [...this.samples].sort((a, b) => a - b);
    const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
    return { count: this.total, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1]! };
  }
}

/** Nearest-rank percentile of a list (exported for tests). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
