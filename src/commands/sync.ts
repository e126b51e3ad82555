import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {environmentFlags, storeFlags} from '../flags.js'
import {durationFlagMs} from '../config/schema.js'
import {openStoreContext} from '../release/context.js'
import {makeLogger} from '../sync/log.js'
import {onceFailure, runSync} from '../sync/loop.js'
import {withStopSignals} from '../util/interrupt.js'

export default class Sync extends BaseCommand<typeof Sync> {
  static override summary = 'Keep a DAG folder equal to the HEAD releases of an environment, atomically (the sidecar of Airflow).'
  static override description = `Mirrors the HEAD release of every package of the environment (or --package) into DIR/<package>/. Each new release is written whole beside the old one (under DIR/.dagctl-sync/, which the .airflowignore sync writes keeps out of Airflow's scan), every file checked against the manifest's sha256, then switched in by one atomic rename of a symlink: a scan of DIR never sees half a release or two at once. Files in DIR that sync did not write are never touched.

Runs without dagctl.yaml: every flag has a DAGCTL_* variable. See docs/sync.md.

Exit codes (--once): 0 every package at HEAD, 1 a blob missing or damaged, 2 bad usage, 4 the store failed after retries, 5 a manifest refused (unparsable, path outside the package) or DIR/<package> not written by sync. The loop exits 0 on SIGTERM after the current cycle.`
  static override examples = [
    {description: 'Init container: bring /opt/airflow/dags to HEAD once', command: '<%= config.bin %> sync --env prod --store s3://company-dags/airflow --to /opt/airflow/dags --once'},
    {description: 'Sidecar: every 30 s, metrics and health on :9102, JSON logs', command: '<%= config.bin %> sync --env prod --to /opt/airflow/dags --metrics-port 9102 --log-format json'},
    {description: 'Only two packages, from a local store', command: '<%= config.bin %> sync --store file:///srv/dagctl-store --to ./dags -p team_a -p team_b --once'},
  ]
  static override flags = {
    ...environmentFlags,
    ...storeFlags,
    to: Flags.string({summary: 'The DAG folder to keep in line (Airflow\'s dags_folder).', env: 'DAGCTL_SYNC_TO', required: true}),
    package: Flags.string({char: 'p', multiple: true, summary: 'Only this package (repeatable; DAGCTL_SYNC_PACKAGES: comma-separated). Default: every package of the environment.'}),
    once: Flags.boolean({summary: 'One cycle, then exit: 0 once every package is at its HEAD (init container).', env: 'DAGCTL_SYNC_ONCE'}),
    interval: Flags.string({summary: 'Time between cycles (30s, 1m, ...).', env: 'DAGCTL_SYNC_INTERVAL', default: '30s'}),
    grace: Flags.string({summary: 'How long a replaced version stays on disk for tasks still importing from it.', env: 'DAGCTL_SYNC_GRACE', default: '5m'}),
    'prune-packages': Flags.boolean({summary: 'Remove DIR/<package> when the package\'s HEAD is gone from the store.', env: 'DAGCTL_SYNC_PRUNE_PACKAGES'}),
    'metrics-port': Flags.integer({summary: 'Serve /metrics, /healthz and /readyz on this port (0: any free port, logged).', env: 'DAGCTL_SYNC_METRICS_PORT', min: 0, max: 65_535}),
    'metrics-host': Flags.string({summary: 'Address the metrics server listens on.', env: 'DAGCTL_SYNC_METRICS_HOST', default: '0.0.0.0'}),
    'unhealthy-after': Flags.integer({summary: '/healthz answers 503 after this many cycles in a row in which the store failed.', env: 'DAGCTL_SYNC_UNHEALTHY_AFTER', default: 5, min: 1}),
    'log-format': Flags.string({summary: 'Log lines on stderr: text, or one JSON object per line.', env: 'DAGCTL_LOG_FORMAT', options: ['text', 'json'], default: 'text'}),
  }

  public async run() {
    const {flags} = this
    const packages = flags.package ?? (process.env.DAGCTL_SYNC_PACKAGES ?? '').split(/[\s,]+/).filter(Boolean)
    const ctx = await openStoreContext(() => this.loadConfig(), {env: flags.env, store: flags.store, endpoint: flags.endpoint})
    // SIGTERM or SIGINT: the loop ends after the current cycle and exits 0 (a second one exits at once)
    const result = await withStopSignals((signal) =>
      runSync({
        store: ctx.store,
        env: ctx.env,
        dir: flags.to,
        packages,
        prunePackages: flags['prune-packages'],
        graceMs: durationFlagMs('grace', flags.grace, 'dagctl sync --grace 5m'),
        once: flags.once,
        intervalMs: durationFlagMs('interval', flags.interval, 'dagctl sync --interval 30s'),
        unhealthyAfter: flags['unhealthy-after'],
        metricsPort: flags['metrics-port'],
        metricsHost: flags['metrics-host'],
        logger: makeLogger(flags['log-format'] as 'text' | 'json'),
        signal,
      }),
    )
    const failure = flags.once && result.last ? onceFailure(result.last) : undefined
    if (failure) throw failure
    return {cycles: result.cycles, ...(result.last ? {last: result.last} : {})}
  }
}
