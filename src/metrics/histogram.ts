import { Histogram } from 'prom-client';
import { DURATION_BUCKETS, type HistogramSeries } from './aggregates.ts';

/**
 * A histogram whose buckets are counted by the state database, not observed in this process: each scrape
 * reads the series (bucket counts, sum, count) and prints them in prom-client's own format.
 */
export class AggregateHistogram<T extends string> extends Histogram<T> {
  private readonly spec: { name: string; help: string; read: () => Promise<HistogramSeries[]> };

  constructor(config: {
    name: string;
    help: string;
    labelNames: readonly T[];
    registers: ConstructorParameters<typeof Histogram<T>>[0]['registers'];
    read: () => Promise<HistogramSeries[]>;
  }) {
    const { read, ...histogram } = config;
    super({ ...histogram, buckets: [...DURATION_BUCKETS] });
    this.spec = { name: config.name, help: config.help, read };
  }

  /** What prom-client's registry prints (and `get()` returns, with the labels splayed). */
  async getForPromString() {
    const values = (await this.spec.read()).flatMap((series) => seriesValues(this.spec.name, series));
    return {
      name: this.spec.name,
      help: this.spec.help,
      type: 'histogram' as const,
      values,
      aggregator: 'sum' as const,
    };
  }
}

function seriesValues(name: string, series: HistogramSeries) {
  const value = (metricName: string, value: number, labels: Record<string, string | number>) => ({
    metricName,
    value,
    labels,
    sharedLabels: {},
  });
  let cumulative = 0;
  const buckets = [...DURATION_BUCKETS, '+Inf' as const].map((le, i) => {
    cumulative += series.buckets[i] ?? 0;
    return value(`${name}_bucket`, cumulative, { ...series.labels, le });
  });
  return [
    ...buckets,
    value(`${name}_sum`, series.sum, series.labels),
    value(`${name}_count`, series.count, series.labels),
  ];
}
