import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How a request ended, as counted by `sync_requests_total`. */
export type RequestOutcome = 'completed' | 'failed' | 'retried' | 'rejected' | 'enqueued' | 'duplicate';
/** What happened to one SQS completion event, as counted by `sync_completion_events_total`. */
export type CompletionEventOutcome = 'recorded' | 'step' | 'duplicate' | 'ignored' | 'unparseable' | 'error';

/**
 * The `name` label for a request: its name when it looks like one (`noun.verb`, at most 64 chars)
 * and was not refused as unknown, else 'unknown', so client-chosen garbage cannot grow the series.
 */
export function requestLabel(name: string, errorCode?: string): string {
  return errorCode !== 'unknown_request' && name.length <= 64 && /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(name) ? name : 'unknown';
}

/** The agent's Prometheus metrics, on a private registry (no global state). */
export type Metrics = {
  readonly registry: Registry;
  requests: Counter<'name' | 'outcome'>;
  handlerDuration: Histogram<'name'>;
  sqsLagSeconds: Gauge;
  /** When the last completion event was handled (epoch seconds; 0 before the first). */
  completionLastEvent: Gauge;
  /** When the reconciler last began a pass (epoch seconds), and how many runs it checked. */
  reconcilerLastPass: Gauge;
  reconcilerRunsChecked: Gauge;
  completionEvents: Counter<'outcome'>;
  inflight: Gauge;
  /** Orphan clusters (tagged for this tenant, no live run): reported once each, and terminated. */
  orphanClusters: Counter<'action'>;
  /** The exposition text for `/metrics`. */
  render(): Promise<string>;
  readonly contentType: string;
};

/** Creates the metric set with its own Registry plus the default process metrics. */
export function createMetrics(options: { prefix?: string; defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, ...(options.prefix ? { prefix: options.prefix } : {}) });
  const requests = new Counter({
    name: 'sync_requests_total',
    help: 'Requests by name and outcome (enqueued, duplicate, rejected, retried, completed, failed).',
    labelNames: ['name', 'outcome'] as const,
    registers: [registry],
  });
  const handlerDuration = new Histogram({
    name: 'sync_handler_duration_seconds',
    help: 'Time a request handler ran, per attempt.',
    labelNames: ['name'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const sqsLagSeconds = new Gauge({
    name: 'sync_sqs_lag_seconds',
    help: 'Age of the last completion event processed (now - event time).',
    registers: [registry],
  });
  const completionLastEvent = new Gauge({
    name: 'sync_completion_last_event_timestamp_seconds',
    help: 'When the last SQS completion event was handled (Unix time).',
    registers: [registry],
  });
  const reconcilerLastPass = new Gauge({
    name: 'sync_reconciler_last_pass_timestamp_seconds',
    help: 'When the reconciler last began a pass (Unix time).',
    registers: [registry],
  });
  const reconcilerRunsChecked = new Gauge({
    name: 'sync_reconciler_runs_checked',
    help: 'Runs still marked running that the last reconciler pass looked at.',
    registers: [registry],
  });
  const completionEvents = new Counter({
    name: 'sync_completion_events_total',
    help: 'SQS completion events by outcome (recorded, duplicate, ignored, unparseable, error).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const inflight = new Gauge({
    name: 'sync_inflight_requests',
    help: 'Requests being handled by this agent right now.',
    registers: [registry],
  });
  const orphanClusters = new Counter({
    name: 'sync_orphan_clusters_total',
    help: 'Orphan clusters (tagged for this tenant, no live run owns them, up past site.orphans.graceMs) by action (reported, terminated).',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  return {
    registry,
    orphanClusters,
    requests,
    handlerDuration,
    sqsLagSeconds,
    completionLastEvent,
    reconcilerLastPass,
    reconcilerRunsChecked,
    completionEvents,
    inflight,
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
