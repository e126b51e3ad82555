import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {up, type AnyUpResult} from '../../cluster/cluster.js'
import {describeAnyUp} from '../../cluster/describe.js'
import {upRequest} from '../../cluster/options.js'
import {optionalConfig} from '../../python/interpreter.js'
import {confirm} from '../../ui/confirm.js'

export default class ClusterUp extends BaseCommand<typeof ClusterUp> {
  static override summary = 'Start a whole platform: on this machine (local), in a kind cluster (kind), or Terraform + Helm into the environment\'s cluster (prod).'
  static override description = `Profile local: no Kubernetes, no Docker. Starts \`airflow standalone\` (SQLite, admin/admin on Airflow 3) from the managed venv, \`dagctl sync\` every second into its DAG folder (or, with --bundle, the DagctlBundle on Airflow 3), and with --s3 moto's S3 server on loopback with the environment's bucket (versioning on). Then writes environments.<env> (store, Airflow URL and credentials) into dagctl.yaml, so that publish and trigger just work.

Profile kind: a kind cluster (created or reused), the dagctl image built and loaded, S3 (moto) in the cluster with the environment's bucket, and the official Airflow chart 1.22.0 (shipped with dagctl) with the dev values; --with datahub adds DataHub's chart.

Profile prod: terraform init/plan/apply of --terraform-dir (the plan is shown and confirmed; --yes in CI), then helm upgrade --install with the prod values and an overlay written from terraform output -json, into the kube context environments.<env>.kubernetes.context names, and no other.

Every profile checks its tools first (kind, docker, helm, kubectl, terraform: version found and wanted). --dry-run prints every command with its arguments and runs none. State is under .dagctl/cluster/<name>/. See docs/profiles.md.`
  static override examples = [
    '<%= config.bin %> cluster up',
    '<%= config.bin %> cluster up --s3 --airflow 2',
    '<%= config.bin %> cluster up --profile kind --with datahub',
    '<%= config.bin %> cluster up --profile prod --env prod --dry-run',
    '<%= config.bin %> cluster up --profile prod --env prod --yes',
    '<%= config.bin %> cluster up --profile prod --env prod --executor celery --dry-run',
  ]
  static override flags = {
    profile: Flags.string({summary: 'Where the platform runs: local (this machine), kind (a local Kubernetes), prod (Terraform + the environment\'s cluster).', options: ['local', 'kind', 'prod'], default: 'local'}),
    name: Flags.string({summary: 'Name of the cluster (its folder under .dagctl/cluster/; the kind cluster). Default: local, dagctl (kind), the environment (prod).'}),
    env: Flags.string({char: 'e', summary: 'The environment of dagctl.yaml the cluster serves.', env: 'DAGCTL_ENV', default: 'dev'}),
    airflow: Flags.string({summary: 'local: Airflow major version, 3 (3.3) or 2 (2.11).', options: ['2', '3'], default: '3'}),
    s3: Flags.boolean({summary: 'local: use an S3 store (moto on loopback) instead of the local file store.'}),
    bundle: Flags.boolean({summary: 'Airflow 3: read releases through the DagctlBundle instead of dagctl sync (kind, prod: adds values-bundle.yaml).'}),
    executor: Flags.string({summary: 'prod: the executor, kubernetes (values-prod.yaml) or celery (adds values-prod-celery.yaml).', options: ['kubernetes', 'celery'], default: 'kubernetes'}),
    port: Flags.integer({summary: 'local: port of Airflow\'s API and UI on 127.0.0.1.', default: 8080, min: 1, max: 65_535}),
    's3-port': Flags.integer({summary: 'local: port of the S3 endpoint (--s3).', default: 5000, min: 1, max: 65_535}),
    'metrics-port': Flags.integer({summary: 'local: port of sync\'s /metrics.', default: 9102, min: 1, max: 65_535}),
    timeout: Flags.integer({summary: 'Seconds Airflow may take to become healthy (kind/prod: helm --wait and the bucket Job).', default: 240, min: 1}),
    setup: Flags.boolean({summary: 'local: build the managed venvs (Airflow, moto) if they are missing.'}),
    'dry-run': Flags.boolean({summary: 'Print the preflight and every command it would run; run nothing.'}),
    'print-config': Flags.boolean({summary: 'local: print the environment for dagctl.yaml instead of writing it.'}),
    with: Flags.string({summary: 'kind/prod: also install DataHub\'s chart.', options: ['datahub'], multiple: true}),
    context: Flags.string({summary: 'prod: the kube context to use; it must be environments.<env>.kubernetes.context (default: kubectl\'s current context).'}),
    namespace: Flags.string({summary: 'kind/prod: namespace of the releases (default: environments.<env>.kubernetes.namespace, or airflow).'}),
    yes: Flags.boolean({char: 'y', summary: 'prod: apply the Terraform plan without asking (CI).'}),
    values: Flags.string({summary: 'kind/prod: another values file for the Airflow chart, after dagctl\'s (repeatable).', multiple: true}),
    set: Flags.string({summary: 'kind/prod: a helm --set KEY=VALUE for the Airflow chart (repeatable).', multiple: true}),
    wait: Flags.boolean({summary: 'kind/prod: helm --wait for the pods to be ready (--no-wait: return once the objects are stored).', allowNo: true, default: true}),
    'terraform-dir': Flags.string({summary: 'prod: the Terraform root module to apply (default: terraform/ beside dagctl.yaml).'}),
    image: Flags.string({summary: 'kind: load this dagctl image instead of building one from the Dockerfile.'}),
  }

  public async run(): Promise<AnyUpResult> {
    const loaded = optionalConfig(() => this.loadConfig())
    const result = await up(upRequest(this.flags, loaded), {
      steps: this.steps(), note: (m) => this.note(m), confirm: (q) => confirm(q, {command: 'cluster up --profile prod', yesFlag: '--yes'}),
    })
    if (!this.jsonEnabled()) for (const line of describeAnyUp(result, this.flags['print-config'] || !loaded)) this.log(line)
    if (result.profile === 'local' && result.s3Endpoint && !result.dryRun) this.note('S3 on loopback takes any credentials: export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing before publish.')
    return result
  }
}
