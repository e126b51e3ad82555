import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {clusterUp, defaultDeps, type UpResult} from '../../cluster/cluster.js'
import {describeUp} from '../../cluster/describe.js'
import {optionalConfig} from '../../python/interpreter.js'
import type {AirflowMajor} from '../../python/venv.js'

export default class ClusterUp extends BaseCommand<typeof ClusterUp> {
  static override summary = 'Start a whole platform on this machine: Airflow standalone, the store, and dagctl sync.'
  static override description = `Profile local: no Kubernetes, no Docker. Starts \`airflow standalone\` (SQLite, admin/admin on Airflow 3) from the managed venv, \`dagctl sync\` every second into its DAG folder (or, with --bundle, the DagctlBundle on Airflow 3), and with --s3 moto's S3 server on loopback with the environment's bucket (versioning on). Then writes environments.<env> (store, Airflow URL and credentials) into dagctl.yaml, so that publish and trigger just work.

State, pids and logs are under .dagctl/cluster/<name>/. Running it again starts only what is not running. See docs/profiles.md.`
  static override examples = [
    '<%= config.bin %> cluster up',
    '<%= config.bin %> cluster up --s3 --airflow 2',
    '<%= config.bin %> cluster up --dry-run',
    '<%= config.bin %> cluster up --print-config --port 8081',
  ]
  static override flags = {
    profile: Flags.string({summary: 'Where the platform runs: local (this machine).', options: ['local'], default: 'local'}),
    name: Flags.string({summary: 'Name of the cluster (its folder under .dagctl/cluster/).', default: 'local'}),
    env: Flags.string({char: 'e', summary: 'The environment of dagctl.yaml the cluster serves.', env: 'DAGCTL_ENV', default: 'dev'}),
    airflow: Flags.string({summary: 'Airflow major version: 3 (3.3) or 2 (2.11).', options: ['2', '3'], default: '3'}),
    s3: Flags.boolean({summary: 'Use an S3 store (moto on loopback) instead of the local file store.'}),
    bundle: Flags.boolean({summary: 'Airflow 3: read releases through the DagctlBundle instead of dagctl sync.'}),
    port: Flags.integer({summary: 'Port of Airflow\'s API and UI on 127.0.0.1.', default: 8080, min: 1, max: 65_535}),
    's3-port': Flags.integer({summary: 'Port of the S3 endpoint (--s3).', default: 5000, min: 1, max: 65_535}),
    'metrics-port': Flags.integer({summary: 'Port of sync\'s /metrics.', default: 9102, min: 1, max: 65_535}),
    timeout: Flags.integer({summary: 'Seconds Airflow may take to become healthy.', default: 240, min: 1}),
    setup: Flags.boolean({summary: 'Build the managed venvs (Airflow, moto) if they are missing.'}),
    'dry-run': Flags.boolean({summary: 'Print every command it would run; start nothing.'}),
    'print-config': Flags.boolean({summary: 'Print the environment for dagctl.yaml instead of writing it.'}),
  }

  public async run(): Promise<UpResult> {
    const {flags} = this
    const loaded = optionalConfig(() => this.loadConfig())
    const result = await clusterUp(
      {
        root: loaded?.root ?? process.cwd(),
        configFile: loaded?.file,
        name: flags.name,
        env: flags.env,
        configuredStore: loaded?.environment.store,
        package: loaded?.config.package,
        airflowVersion: Number(flags.airflow) as AirflowMajor,
        s3: Boolean(flags.s3),
        bundle: Boolean(flags.bundle),
        airflowPort: flags.port,
        s3Port: flags['s3-port'],
        metricsPort: flags['metrics-port'],
        timeoutMs: flags.timeout * 1000,
        setup: Boolean(flags.setup),
        dryRun: Boolean(flags['dry-run']),
        printConfig: flags['print-config'] || !loaded,
      },
      defaultDeps({steps: this.steps(), note: (m) => this.note(m)}),
    )
    if (!this.jsonEnabled()) for (const line of describeUp(result, flags['print-config'] || !loaded)) this.log(line)
    if (result.s3Endpoint && !result.dryRun) this.note('S3 on loopback takes any credentials: export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing before publish.')
    return result
  }
}
