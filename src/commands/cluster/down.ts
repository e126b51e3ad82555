import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {clusterDown, type DownResult} from '../../cluster/cluster.js'
import {optionalConfig} from '../../python/interpreter.js'

export default class ClusterDown extends BaseCommand<typeof ClusterDown> {
  static override summary = 'Stop exactly what cluster up started (by pid and start time), and nothing else.'
  static override description = 'State, logs, the Airflow database and the store stay under .dagctl/ for the next cluster up.'
  static override examples = ['<%= config.bin %> cluster down']
  static override flags = {
    profile: Flags.string({summary: 'Where the platform runs: local (this machine).', options: ['local'], default: 'local'}),
    name: Flags.string({summary: 'Name of the cluster (its folder under .dagctl/cluster/).', default: 'local'}),
  }

  public async run(): Promise<DownResult> {
    const root = optionalConfig(() => this.loadConfig())?.root ?? process.cwd()
    const result = await clusterDown(root, this.flags.name, this.steps())
    if (!this.jsonEnabled()) {
      for (const s of result.stopped) this.log(`stopped ${s.name} (pid ${s.pid})`)
      if (result.stopped.length === 0) this.log(`cluster ${result.name}: nothing running`)
    }
    return result
  }
}
