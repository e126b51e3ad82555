import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {airflowFlags, environmentFlags} from '../flags.js'
import {formatTimestamp} from '../ui/time.js'

export interface ErrorsResult {
  airflow: string
  total: number
  import_errors: Array<{filename: string; timestamp: string; stack_trace: string; bundle_name?: string | null}>
}

export default class Errors extends BaseCommand<typeof Errors> {
  static override summary = 'Airflow\'s import errors: the DAG files it could not load.'
  static override description = 'Lists the import errors of the environment\'s Airflow (REST API v1 or v2, detected). Exit 0 whether or not there are errors; use --json and count them in CI.'
  static override examples = ['<%= config.bin %> errors', '<%= config.bin %> errors --env prod --json']
  static override flags = {
    env: environmentFlags.env,
    ...airflowFlags,
    limit: Flags.integer({char: 'n', summary: 'How many errors.', default: 100, min: 1, max: 1000}),
  }

  public async run(): Promise<ErrorsResult> {
    const {flags} = this
    const resolved = this.loadConfig()
    const [{AirflowClient}, {airflowOptionsFrom}] = await Promise.all([import('../airflow/client.js'), import('../airflow/connection.js')])
    const log = flags.verbose ? (line: string) => process.stderr.write(`[airflow] ${line}\n`) : undefined
    const client = new AirflowClient(airflowOptionsFrom(resolved, {retries: flags.retries, log}))
    try {
      const {errors, total} = await client.importErrors(flags.limit)
      const rows = errors.map((e) => ({filename: e.filename, timestamp: formatTimestamp(e.timestamp), stack_trace: e.stack_trace, ...(e.bundle_name === undefined ? {} : {bundle_name: e.bundle_name})}))
      if (!this.jsonEnabled()) {
        if (rows.length === 0) this.log(`No import errors in Airflow at ${client.displayUrl}.`)
        for (const r of rows) {
          this.log(`${r.filename}  (${r.timestamp})`)
          this.log(r.stack_trace.trimEnd().split('\n').map((l) => `    ${l}`).join('\n'))
        }
      }
      return {airflow: client.displayUrl, total, import_errors: rows}
    } finally {
      await client.close()
    }
  }
}
