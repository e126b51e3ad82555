import {CheckFailedError, DagctlError, PolicyError, RemoteError} from '../errors.js'
import type {SyncLogger} from './log.js'
import {SyncMetrics} from './metrics.js'
import {startMetricsServer} from './server.js'
import {Syncer, type CycleResult, type PackageOutcome, type SyncerOptions} from './syncer.js'

export interface SyncRunOptions extends Omit<SyncerOptions, 'observer'> {
  /** one cycle, then exit: the init container */
  once: boolean
  intervalMs: number
  /** /healthz answers 503 after this many cycles in a row in which the store failed */
  unhealthyAfter: number
  metricsPort?: number
  metricsHost?: string
  logger: SyncLogger
  /** aborted by SIGTERM: the current cycle ends, then the loop returns */
  signal: AbortSignal
  /** longest wait between cycles while the store fails (default: max(interval, 5 min)) */
  maxBackoffMs?: number
  random?: () => number
}

export interface SyncRunResult {
  cycles: number
  last?: CycleResult
}

/** The wait before the next cycle: the interval, or after n store failures in a row an exponential backoff with jitter. */
export function nextDelay(intervalMs: number, storeFailures: number, maxBackoffMs: number, random: () => number = Math.random): number {
  if (storeFailures === 0) return intervalMs
  const base = Math.min(intervalMs * 2 ** Math.min(storeFailures, 20), Math.max(maxBackoffMs, intervalMs))
  return Math.round(base * (0.5 + random() * 0.5))
}

/**
 * `dagctl sync`: cycles of Syncer until the signal is aborted (or once), with the metrics server,
 * health, backoff and one log line per thing that happened. A store outage never changes DIR: the
 * last good tree stays.
 */
export async function runSync(options: SyncRunOptions): Promise<SyncRunResult> {
  const {logger, signal} = options
  const metrics = new SyncMetrics()
  const syncer = new Syncer({...options, observer: metrics})
  let storeFailures = 0
  let ready = false
  let cycles = 0
  let last: CycleResult | undefined
  const warned = new Map<string, string>()
  await syncer.prepare()
  const server =
    options.metricsPort === undefined
      ? undefined
      : await startMetricsServer(metrics, {healthy: () => storeFailures < options.unhealthyAfter, ready: () => ready}, options.metricsPort, options.metricsHost ?? '0.0.0.0')
  if (server) logger.log('info', `metrics on http://${options.metricsHost ?? '0.0.0.0'}:${server.port}/metrics (and /healthz, /readyz)`, {port: server.port})
  logger.log('info', `syncing ${options.packages?.length ? options.packages.join(', ') : 'every package'} of ${options.env} from ${options.store.url} into ${syncer.tree.dir}${options.once ? ' (once)' : `, every ${options.intervalMs / 1000}s`}`)
  try {
    while (!signal.aborted || cycles === 0) {
      last = await syncer.cycle()
      cycles++
      storeFailures = last.storeFailed ? storeFailures + 1 : 0
      if (last.ok) ready = true
      metrics.cycle(last, storeFailures)
      logCycle(logger, last, warned)
      if (options.once || signal.aborted) break
      await sleep(nextDelay(options.intervalMs, storeFailures, options.maxBackoffMs ?? 300_000, options.random), signal)
    }
  } finally {
    await server?.close()
    await syncer.close()
  }
  if (signal.aborted) logger.log('info', `stopped after ${cycles} cycle(s)`, {cycle: last?.cycle ?? null})
  return {cycles, last}
}

function logCycle(logger: SyncLogger, result: CycleResult, warned: Map<string, string>): void {
  const {cycle} = result
  for (const p of result.packages) {
    const fields = {cycle, package: p.package === '*' ? null : p.package}
    if (p.status === 'updated') {
      logger.log('info', `${p.package}: release ${p.release} is visible${p.previous ? ` (was ${p.previous})` : ''}`, {...fields, release: p.release, previous: p.previous ?? null, downloaded: p.downloaded, fromCache: p.fromCache, lagSeconds: p.lagSeconds})
      warned.delete(p.package)
    } else if (p.status === 'removed') {
      logger.log('info', `${p.package}: removed (its HEAD is gone; --prune-packages)`, {...fields, release: null, previous: p.previous ?? null})
    } else if (p.status === 'failed') {
      logger.log('error', `${p.package === '*' ? p.message : `${p.package}: ${p.message}`}${p.release !== null && p.package !== '*' ? `; release ${p.release} stays visible` : ''}`, {...fields, release: p.head ?? p.release, reason: p.reason, file: p.file ?? null, visible: p.release})
    } else if (p.status === 'kept' && p.message && warned.get(p.package) !== p.message) {
      warned.set(p.package, p.message)
      logger.log('warn', p.message, {...fields, release: p.release})
    }
  }
  const changed = result.packages.some((p) => p.status === 'updated' || p.status === 'removed')
  if (cycle === 1 || changed || !result.ok) {
    const at = result.packages.filter((p) => p.status === 'unchanged' || p.status === 'updated').length
    logger.log(result.ok ? 'info' : 'warn', `cycle ${cycle}: ${at} package(s) at HEAD, ${result.packages.filter((p) => p.status === 'failed').length} failed, in ${result.durationSeconds.toFixed(3)}s`, {cycle, package: null, release: null, ok: result.ok})
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, {once: true})
  })
}

/** The error `--once` exits with when a cycle left a package off its HEAD (DESIGN.md's exit codes). */
export function onceFailure(result: CycleResult): DagctlError | undefined {
  if (result.ok) return undefined
  const failed = result.packages.filter((p) => p.status === 'failed')
  const list = failed.map(describe).join('; ')
  if (result.storeFailed) {
    return new RemoteError(`sync could not reach every HEAD: ${list}`, {code: 'SYNC_STORE_FAILED', details: {packages: failed}, hint: 'Check that the store is reachable (--store, --endpoint, credentials) and re-run; the DAG folder keeps its last good tree.'})
  }
  const refused = failed.filter((p) => p.reason === 'manifest-invalid' || p.reason === 'path-outside-package' || p.reason === 'not-ours')
  const hint = 'The named packages stay on their last good release. Run `dagctl fsck --env <env>` on the store, fix or roll back the release (`dagctl rollback`), and re-run.'
  if (refused.length > 0) return new PolicyError(`sync refused: ${list}`, {code: 'SYNC_REFUSED', details: {packages: failed}, hint})
  return new CheckFailedError(`sync could not bring every package to its HEAD: ${list}`, {code: 'SYNC_FAILED', details: {packages: failed}, hint})
}

function describe(p: PackageOutcome): string {
  return `${p.package}${p.head ? ` release ${p.head}` : ''}: ${p.reason}${p.file ? ` (${p.file})` : ''}`
}
