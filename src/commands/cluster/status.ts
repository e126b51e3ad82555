import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {clusterStatus, type StatusResult} from '../../cluster/cluster.js'
import {describeStatus} from '../../cluster/describe.js'
import {optionalConfig} from '../../python/interpreter.js'

export default class ClusterStatus extends BaseCommand<typeof ClusterStatus> {
  static override summary = 'Show each component of the local cluster: pid, URL, health, version, and the credentials.'
  static override examples = ['<%= config.bin %> cluster status', '<%= config.bin %> cluster status --json']
  static override flags = {
    profile: Flags.string({summary: 'Where the platform runs: local (this machine).', options: ['local'], default: 'local'}),
    name: Flags.string({summary: 'Name of the cluster (its folder under .dagctl/cluster/).', default: 'local'}),
  }

  public async run(): Promise<StatusResult> {
    const root = optionalConfig(() => this.loadConfig())?.root ?? process.cwd()
    const result = await clusterStatus(root, this.flags.name)
    if (!this.jsonEnabled()) for (const line of describeStatus(result)) this.log(line)
    return result
  }
}
