import type {AirflowClient} from '../airflow/client.js'
import {problemDetail} from '../airflow/client.js'
import {RemoteError} from '../errors.js'
import {tenantPool} from './model.js'

/**
 * Tenant serialisation: every task of a tenant runs in the Airflow pool `tenant_<tenant>`, whose
 * one slot lets a single task of that tenant run at a time, across DAGs. `dagctl pools sync`
 * creates or updates those pools over the REST API (v1 and v2), idempotently.
 */

export interface PoolChange {
  pool: string
  tenant: string
  action: 'create' | 'update' | 'unchanged'
  slots: number
  /** the slots Airflow has now, for updates */
  was?: number
}

export interface PoolsResult {
  dryRun: boolean
  api: string
  pools: PoolChange[]
}

export const POOL_DESCRIPTION = (tenant: string): string => `dagctl: jobs of tenant ${tenant} run one at a time`

type Client = Pick<AirflowClient, 'call' | 'api'>

export async function syncPools(client: Client, tenants: string[], options: {slots: number; dryRun: boolean}): Promise<PoolsResult> {
  const api = await client.api()
  const pools: PoolChange[] = []
  for (const tenant of [...new Set(tenants)].sort()) {
    const pool = tenantPool(tenant)
    const path = `/pools/${encodeURIComponent(pool)}`
    const found = await client.call<{slots?: number; description?: string | null; include_deferred?: boolean}>('GET', path)
    const description = POOL_DESCRIPTION(tenant)
    if (found.status === 404) {
      pools.push({pool, tenant, action: 'create', slots: options.slots})
      if (!options.dryRun) expect2xx(await client.call('POST', '/pools', {name: pool, slots: options.slots, description}), `creating pool ${pool}`)
      continue
    }
    expect2xx(found, `reading pool ${pool}`)
    if (found.body.slots === options.slots && found.body.description === description) {
      pools.push({pool, tenant, action: 'unchanged', slots: options.slots})
      continue
    }
    pools.push({pool, tenant, action: 'update', slots: options.slots, was: found.body.slots})
    if (!options.dryRun) {
      // v1 takes a Pool and a comma-separated mask; v2 a PoolPatchBody (`pool`, not `name`) and a
      // repeated mask, and Airflow 3.3 refuses it (422) without include_deferred: the pool's own value is kept.
      const [query, body] = api === 'v1' ? ['?update_mask=slots,description', {name: pool, slots: options.slots, description}] : ['?update_mask=slots&update_mask=description', {pool, slots: options.slots, description, include_deferred: found.body.include_deferred ?? false}]
      expect2xx(await client.call('PATCH', `${path}${query}`, body), `updating pool ${pool}`)
    }
  }
  return {dryRun: options.dryRun, api, pools}
}

function expect2xx(res: {status: number; body: unknown}, what: string): void {
  if (res.status >= 200 && res.status < 300) return
  throw new RemoteError(`Airflow answered ${res.status} ${what}: ${problemDetail(res.body)}`, {code: 'AIRFLOW_POOLS', hint: 'Check that the user may edit pools (Admin), then run `dagctl pools sync` again.'})
}
