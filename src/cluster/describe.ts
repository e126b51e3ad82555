import type {StatusResult, UpResult} from './cluster.js'

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

/** The lines `cluster up` prints for people (stdout). */
export function describeUp(result: UpResult, printConfig: boolean): string[] {
  if (result.dryRun) {
    const lines = [`# cluster ${result.name}: the commands up would run (nothing started)`]
    for (const c of result.commands) {
      lines.push(`# ${c.component} (log ${c.log})`)
      lines.push([...Object.entries(c.env).map(([k, v]) => `${k}=${shellQuote(v)}`), ...c.command.map((a) => shellQuote(a))].join(' '))
    }
    lines.push('# dagctl.yaml:', ...result.config.trimEnd().split('\n').map((l) => `#   ${l}`))
    return lines
  }
  const lines = result.components.map((c) => `${c.name.padEnd(8)}${c.action.padEnd(17)}${c.pid ? `pid ${c.pid}`.padEnd(12) : ''}${c.url}`)
  lines.push('', `Airflow ${result.airflowVersion}: ${result.airflowUrl} (user ${result.username}, password ${result.password ?? '?'})`, `Store: ${result.store}`)
  if (result.configWritten) lines.push(`Wrote environments in ${result.configWritten}. Next: dagctl publish, then dagctl trigger <dag> --wait`)
  if (printConfig) lines.push('Add to dagctl.yaml:', ...result.config.trimEnd().split('\n'))
  return lines
}

/** The table `cluster status` prints. */
export function describeStatus(result: StatusResult): string[] {
  if (result.components.length === 0) return [`cluster ${result.name}: not up (nothing recorded under ${result.dir})`]
  const lines = [`cluster ${result.name}: ${result.up ? 'up' : 'NOT healthy'}`]
  for (const c of result.components) {
    lines.push(`${c.name.padEnd(8)}${(c.pid ? `pid ${c.pid}` : '-').padEnd(12)}${(c.healthy ? 'healthy' : 'unhealthy').padEnd(11)}${(c.version ?? '').padEnd(8)}${c.url}  ${c.healthy ? '' : c.detail}`.trimEnd())
  }
  lines.push(`Airflow ${result.airflowVersion}: ${result.airflowUrl} (user ${result.username}, password ${result.password ?? '?'})`, `Store: ${result.store}${result.mode === 'bundle' ? ' (through the DagctlBundle)' : ''}`)
  return lines
}
