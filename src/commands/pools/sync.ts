import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {environmentFlags} from '../../flags.js'
import {collectJobSources} from '../../discover/render.js'
import {syncPools, type PoolsResult} from '../../discover/pools.js'
import {ConfigError} from '../../errors.js'

export default class PoolsSync extends BaseCommand<typeof PoolsSync> {
  static override summary = "Create or update the Airflow pools that keep a tenant's jobs from running at the same time."
  static override description = `Every task of a tenant (TENANT = "..." in a job module, tenant: in a schedule entry, or discover.packages.<package>.tenant) runs in the Airflow pool tenant_<tenant>. With one slot (discover.tenant_pool_slots), one task of a tenant runs at a time, across DAGs. This command creates the pools that are missing and corrects those whose slots or description differ, over Airflow's REST API (v1 or v2); run it again and nothing changes.

Exit codes: 0 done; 2 bad configuration; 4 Airflow unreachable or refusing.`
  static override examples = [
    {description: 'See what would change, change nothing', command: '<%= config.bin %> pools sync --dry-run'},
    {description: 'Create or update the pools in prod', command: '<%= config.bin %> pools sync --env prod'},
  ]

  static override flags = {
    ...environmentFlags,
    'dry-run': Flags.boolean({summary: 'Print what would change and change nothing.'}),
    'airflow-url': Flags.string({summary: 'Airflow address for this run (overrides environments.<env>.airflow.url).'}),
  }

  public async run(): Promise<PoolsResult> {
    const {flags} = this
    // --airflow-url is applied by the base command, as for every command that declares it
    const resolved = this.loadConfig()
    const settings = resolved.config.discover
    if (!settings) throw new ConfigError('dagctl.yaml has no discover: block, so no job has a tenant', {file: resolved.file, key: 'discover', hint: 'Add discover: to dagctl.yaml (docs/discover.md).'})
    const {dags} = await collectJobSources(resolved.root, resolved.config)
    const tenants = dags.map((d) => d.tenant ?? settings.packages[d.package]?.tenant).filter((t): t is string => t !== undefined)
    const [{AirflowClient}, {airflowOptionsFrom}] = await Promise.all([import('../../airflow/client.js'), import('../../airflow/connection.js')])
    const client = new AirflowClient(airflowOptionsFrom(resolved))
    try {
      const result = await syncPools(client, tenants, {slots: settings.tenant_pool_slots, dryRun: flags['dry-run']})
      if (!this.jsonEnabled()) {
        for (const p of result.pools) this.log(`${flags['dry-run'] && p.action !== 'unchanged' ? `would ${p.action}` : p.action.padEnd(9)} ${p.pool} (${p.slots} slot${p.slots === 1 ? '' : 's'}${p.was === undefined ? '' : `, was ${p.was}`})`)
        if (result.pools.length === 0) this.log('No tenants: no pools to sync.')
      }
      return result
    } finally {
      await client.close()
    }
  }
}
