import {Counter, Gauge, Histogram, Registry} from 'prom-client'

import type {CycleResult, RequestKind, RequestResult, SyncObserver} from './syncer.js'

/**
 * What `/metrics` serves (Prometheus text format through prom-client). Labels are package names,
 * request kinds and reasons only: never a URL, key or credential.
 */
export class SyncMetrics implements SyncObserver {
  readonly registry = new Registry()
  private readonly lastSuccess = new Gauge({name: 'dagctl_sync_last_success_timestamp_seconds', help: 'Unix time of the end of the last cycle that brought every package to its HEAD.', registers: [this.registry]})
  private readonly release = new Gauge({name: 'dagctl_sync_release', help: 'The release visible in the DAG folder, per package.', labelNames: ['package'], registers: [this.registry]})
  private readonly head = new Gauge({name: 'dagctl_sync_head_release', help: 'The release HEAD names in the store, per package (as last read).', labelNames: ['package'], registers: [this.registry]})
  private readonly duration = new Histogram({name: 'dagctl_sync_cycle_duration_seconds', help: 'Duration of a sync cycle.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [this.registry]})
  private readonly cycles = new Counter({name: 'dagctl_sync_cycles_total', help: 'Sync cycles, by result (ok, failed: a package is not at HEAD, store-failed).', labelNames: ['result'], registers: [this.registry]})
  private readonly failedInARow = new Gauge({name: 'dagctl_sync_consecutive_failed_cycles', help: 'Cycles in a row in which the store failed (/healthz turns unhealthy at --unhealthy-after).', registers: [this.registry]})
  private readonly requests = new Counter({name: 'dagctl_sync_store_requests_total', help: 'Requests to the store, by kind (list, head, manifest, blob) and result (ok, not-modified, missing, error).', labelNames: ['kind', 'result'], registers: [this.registry]})
  private readonly errors = new Counter({name: 'dagctl_sync_errors_total', help: 'Packages that could not be brought to HEAD in a cycle, by package and reason.', labelNames: ['package', 'reason'], registers: [this.registry]})
  private readonly updates = new Counter({name: 'dagctl_sync_updates_total', help: 'Releases made visible, per package.', labelNames: ['package'], registers: [this.registry]})
  private readonly downloads = new Counter({name: 'dagctl_sync_blobs_total', help: 'Blobs a release needed, by source (store: downloaded, cache: the local content-addressed cache).', labelNames: ['source'], registers: [this.registry]})
  private readonly lag = new Gauge({name: 'dagctl_sync_visible_lag_seconds', help: 'For the last release made visible per package: seconds from its createdAt to the moment it became visible.', labelNames: ['package'], registers: [this.registry]})
  private readonly lagHistogram = new Histogram({name: 'dagctl_sync_visible_lag_seconds_distribution', help: 'Seconds from a release\'s createdAt to the moment it became visible.', buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600], registers: [this.registry]})

  request(kind: RequestKind, result: RequestResult): void {
    this.requests.inc({kind, result})
  }

  cycle(result: CycleResult, consecutiveStoreFailures: number, now = Date.now()): void {
    this.duration.observe(result.durationSeconds)
    this.cycles.inc({result: result.storeFailed ? 'store-failed' : result.ok ? 'ok' : 'failed'})
    this.failedInARow.set(consecutiveStoreFailures)
    if (result.ok) this.lastSuccess.set(now / 1000)
    for (const p of result.packages) {
      if (p.package === '*') {
        if (p.reason) this.errors.inc({package: '', reason: p.reason})
        continue
      }
      if (p.status === 'removed') {
        this.release.remove({package: p.package})
        this.head.remove({package: p.package})
        this.lag.remove({package: p.package})
        continue
      }
      if (p.release !== null) this.release.set({package: p.package}, p.release)
      if (p.head !== undefined) this.head.set({package: p.package}, p.head)
      if (p.reason) this.errors.inc({package: p.package, reason: p.reason})
      if (p.status === 'updated') {
        this.updates.inc({package: p.package})
        if (p.downloaded) this.downloads.inc({source: 'store'}, p.downloaded)
        if (p.fromCache) this.downloads.inc({source: 'cache'}, p.fromCache)
        if (p.lagSeconds !== undefined) {
          this.lag.set({package: p.package}, p.lagSeconds)
          this.lagHistogram.observe(p.lagSeconds)
        }
      }
    }
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
