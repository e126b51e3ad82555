import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {status, type AnyStatusResult} from '../../cluster/cluster.js'
import {describeAnyStatus, notHealthyError} from '../../cluster/describe.js'
import {clusterTarget} from '../../cluster/options.js'

export default class ClusterStatus extends BaseCommand<typeof ClusterStatus> {
  static override summary = 'Show the real state of a cluster: local components (pid, URL, health), or the Helm releases, workloads, pods, Airflow health and sync metrics (kind, prod).'
  static override description = 'Exit codes: 0 up and healthy, 1 not up or not healthy (the report still prints; under --json it is the whole of stdout), 2 bad usage.'
  static override examples = ['<%= config.bin %> cluster status', '<%= config.bin %> cluster status --json', '<%= config.bin %> cluster status --profile prod --env prod']
  static override flags = {
    profile: Flags.string({summary: 'The profile it was brought up with (default: what up recorded).', options: ['local', 'kind', 'prod']}),
    name: Flags.string({summary: 'Name of the cluster (its folder under .dagctl/cluster/).'}),
    env: Flags.string({char: 'e', summary: 'The environment (prod: its kubernetes context of dagctl.yaml). Default: the one up recorded, or dev.', env: 'DAGCTL_ENV'}),
    namespace: Flags.string({summary: 'kind/prod: namespace of the releases.'}),
  }

  public async run(): Promise<AnyStatusResult> {
    const result = await status(clusterTarget(this.flags), {steps: this.steps(), note: (m) => this.note(m), confirm: async () => false})
    if (!this.jsonEnabled()) for (const line of describeAnyStatus(result)) this.log(line)
    if (!result.up) this.failWithResult(result, notHealthyError(result))
    return result
  }
}
