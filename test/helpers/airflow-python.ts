import {execa} from 'execa'
import path from 'node:path'

import {tempDir} from './tmp.js'

/**
 * Runs a Python script in an Airflow venv with a throwaway AIRFLOW_HOME (SQLite, no examples,
 * quiet logs) and returns the JSON it wrote on its `RESULT ` line: how the tests ask Airflow's own
 * classes (DagBag, BundleDagBag, DagctlBundle) what they see.
 */
export async function airflowResult<T>(python: string, script: string, args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<T> {
  const home = tempDir()
  const r = await execa(python, ['-c', script, ...args], {
    reject: false,
    timeout: timeoutMs,
    env: {
      AIRFLOW_HOME: home,
      AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`,
      AIRFLOW__LOGGING__LOGGING_LEVEL: 'ERROR',
      ...env,
    },
  })
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '))
  if (!line) throw new Error(`the Airflow script failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(line.slice('RESULT '.length)) as T
}
