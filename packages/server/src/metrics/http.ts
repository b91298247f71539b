import { Histogram, type MetricFamily } from '@promptops/core';

/** Seconds; from a cached snapshot read to a slow eval upload. */
const LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A request that matched no route is counted under this route, so unknown URLs add no series. */
export const UNMATCHED_ROUTE = '(unmatched)';

const INGEST_ROUTES = new Set(['/api/v1/ingest', '/v1/traces', '/api/public/otel/v1/traces']);

/** What an ingest request's status means: load shed (429, 503, 408) is dropped, any other 4xx rejected. */
const ingestOutcome = (status: number): 'accepted' | 'rejected' | 'dropped' =>
  status === 429 || status === 503 || status === 408 ? 'dropped' : status >= 400 ? 'rejected' : 'accepted';

/**
 * This process's HTTP figures: requests by method, route pattern (never the URL: bounded cardinality)
 * and status class, with their latency histograms; ingest requests by outcome.
 */
export class HttpMetrics {
  readonly #counts = new Map<string, { labels: Record<string, string>; count: number }>();
  readonly #latencies = new Map<string, { labels: Record<string, string>; histogram: Histogram }>();
  readonly #ingest = { accepted: 0, rejected: 0, dropped: 0 };

  observe(method: string, route: string | undefined, status: number, seconds: number): void {
    const path = route === undefined || route === '' ? UNMATCHED_ROUTE : route;
    const labels = { method, route: path, status: `${Math.floor(status / 100)}xx` };
    const key = `${method} ${path} ${labels.status}`;
    const counted = this.#counts.get(key) ?? { labels, count: 0 };
    counted.count += 1;
    this.#counts.set(key, counted);
    const latencyKey = `${method} ${path}`;
    const timed = this.#latencies.get(latencyKey) ?? {
      labels: { method, route: path },
      histogram: new Histogram(LATENCY_BOUNDS),
    };
    timed.histogram.observe(seconds);
    this.#latencies.set(latencyKey, timed);
    if (INGEST_ROUTES.has(path) && method === 'POST') this.#ingest[ingestOutcome(status)] += 1;
  }

  families(): MetricFamily[] {
    return [
      {
        name: 'promptops_http_requests_total',
        help: 'HTTP requests answered by this process, by method, route pattern and status class.',
        type: 'counter',
        samples: [...this.#counts.values()].map(({ labels, count }) => ({ labels, value: count })),
      },
      {
        name: 'promptops_http_request_duration_seconds',
        help: 'Time to answer an HTTP request in this process, by method and route pattern.',
        type: 'histogram',
        samples: [...this.#latencies.values()].flatMap(({ labels, histogram }) => histogram.samples(labels)),
      },
      {
        name: 'promptops_ingest_requests_total',
        help: 'Trace ingest requests in this process: accepted (2xx), rejected (4xx), dropped (load shed: 408, 429, 503).',
        type: 'counter',
        samples: (['accepted', 'rejected', 'dropped'] as const).map((outcome) => ({
          labels: { outcome },
          value: this.#ingest[outcome],
        })),
      },
    ];
  }
}
