import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {down, type AnyDownResult} from '../../cluster/cluster.js'
import {describeAnyDown} from '../../cluster/describe.js'
import {clusterTarget} from '../../cluster/options.js'

export default class ClusterDown extends BaseCommand<typeof ClusterDown> {
  static override summary = 'Stop what cluster up started: local processes (by pid and start time), or the Helm releases (kind, prod). Data stays without --yes.'
  static override description = `local: state, logs, the Airflow database and the store stay under .dagctl/ for the next cluster up.

kind/prod: uninstalls the Helm releases. Without --yes nothing that holds data is deleted: the PersistentVolumeClaims (database, logs), kind's in-cluster S3 and the kind cluster are kept, and listed. The prod bucket is Terraform's: dagctl never deletes it.`
  static override examples = ['<%= config.bin %> cluster down', '<%= config.bin %> cluster down --profile kind --yes', '<%= config.bin %> cluster down --profile prod --env prod --dry-run']
  static override flags = {
    profile: Flags.string({summary: 'The profile it was brought up with (default: what up recorded).', options: ['local', 'kind', 'prod']}),
    name: Flags.string({summary: 'Name of the cluster (its folder under .dagctl/cluster/).'}),
    env: Flags.string({char: 'e', summary: 'The environment (prod: its kubernetes context of dagctl.yaml). Default: the one up recorded, or dev.', env: 'DAGCTL_ENV'}),
    context: Flags.string({summary: 'prod: the kube context to use; it must be environments.<env>.kubernetes.context.'}),
    namespace: Flags.string({summary: 'kind/prod: namespace of the releases.'}),
    yes: Flags.boolean({char: 'y', summary: 'kind/prod: also delete what holds data (PVCs; kind: the cluster with its S3).'}),
    'dry-run': Flags.boolean({summary: 'kind/prod: print the commands down would run; run nothing.'}),
  }

  public async run(): Promise<AnyDownResult> {
    const result = await down(clusterTarget(this.flags), {steps: this.steps(), note: (m) => this.note(m), confirm: async () => false})
    if (!this.jsonEnabled()) for (const line of describeAnyDown(result)) this.log(line)
    return result
  }
}
