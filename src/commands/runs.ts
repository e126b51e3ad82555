import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {airflowFlags, environmentFlags} from '../flags.js'
import type {DagRun} from '../airflow/client.js'
import {formatOptionalTimestamp} from '../ui/time.js'

export interface RunsResult {
  dag_id: string
  airflow: string
  runs: Array<{run_id: string; state: string; run_type?: string; queued_at: string | null; start_date: string | null; end_date: string | null; conf: Record<string, unknown> | null; url: string; tasks?: Array<{task_id: string; state: string | null}>}>
}

export default class Runs extends BaseCommand<typeof Runs> {
  static override summary = 'Recent runs of a DAG: state, times, conf.'
  static override description = 'Reads the most recent runs of DAG_ID from the environment\'s Airflow (REST API v1 or v2, detected), newest first.'
  static override examples = ['<%= config.bin %> runs team_a_daily', '<%= config.bin %> runs team_a_daily -n 5 --tasks', '<%= config.bin %> runs team_a_daily --env prod --json']
  static override args = {dag_id: Args.string({description: 'The DAG whose runs to show.', required: true})}
  static override flags = {
    env: environmentFlags.env,
    ...airflowFlags,
    limit: Flags.integer({char: 'n', summary: 'How many runs.', default: 20, min: 1, max: 1000}),
    tasks: Flags.boolean({summary: 'Also show every task\'s state in each run (one request per run).'}),
  }

  public async run(): Promise<RunsResult> {
    const {args, flags} = this
    const resolved = this.loadConfig()
    const [{AirflowClient}, {airflowOptionsFrom}] = await Promise.all([import('../airflow/client.js'), import('../airflow/connection.js')])
    const log = flags.verbose ? (line: string) => process.stderr.write(`[airflow] ${line}\n`) : undefined
    const client = new AirflowClient(airflowOptionsFrom(resolved, {retries: flags.retries, log}))
    try {
      const runs = await client.listRuns(args.dag_id, flags.limit)
      const rows = await Promise.all(runs.map(async (r: DagRun) => ({
        run_id: r.dag_run_id,
        state: r.state,
        ...(r.run_type ? {run_type: r.run_type} : {}),
        queued_at: formatOptionalTimestamp(r.queued_at),
        start_date: formatOptionalTimestamp(r.start_date),
        end_date: formatOptionalTimestamp(r.end_date),
        conf: r.conf ?? null,
        url: await client.runUiUrl(args.dag_id, r.dag_run_id),
        ...(flags.tasks ? {tasks: (await client.taskInstances(args.dag_id, r.dag_run_id)).map((t) => ({task_id: t.task_id, state: t.state}))} : {}),
      })))
      if (!this.jsonEnabled()) {
        if (rows.length === 0) this.log(`${args.dag_id} has no runs.`)
        else {
          const w = Math.max(6, ...rows.map((r) => r.run_id.length))
          this.log(`${'run id'.padEnd(w)}  ${'state'.padEnd(9)}  ${'started'.padEnd(20)}  ${'ended'.padEnd(20)}  conf`)
          for (const r of rows) {
            this.log(`${r.run_id.padEnd(w)}  ${r.state.padEnd(9)}  ${(r.start_date ?? '-').padEnd(20)}  ${(r.end_date ?? '-').padEnd(20)}  ${r.conf && Object.keys(r.conf).length > 0 ? JSON.stringify(r.conf) : ''}`)
            for (const t of r.tasks ?? []) this.log(`${''.padEnd(w)}    ${t.task_id}: ${t.state ?? 'none'}`)
          }
        }
      }
      return {dag_id: args.dag_id, airflow: client.displayUrl, runs: rows}
    } finally {
      await client.close()
    }
  }
}

