import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {optionalConfig} from '../../python/interpreter.js'
import {setupAirflowPython, type PythonSetupResult} from '../../python/setup.js'
import type {AirflowMajor} from '../../python/venv.js'

export default class PythonSetup extends BaseCommand<typeof PythonSetup> {
  static override summary = 'Create (or reuse) the managed Python environment with Airflow, for validate --engine airflow.'
  static override description = `Installs Airflow (3.3 or 2.11, with the cncf.kubernetes, amazon and standard providers) from the requirement file dagctl ships into a venv in the user cache folder ($DAGCTL_CACHE_DIR, else ~/.cache/dagctl), keyed by the file's hash: the first run installs, later runs return at once.

validate then uses this venv by itself (for the airflow.version of dagctl.yaml) unless --python, DAGCTL_PYTHON or python: in dagctl.yaml names another interpreter. Prints the venv's python path on stdout.`
  static override examples = [
    '<%= config.bin %> python setup --airflow 3',
    '<%= config.bin %> python setup --airflow 2 --json',
    'DAGCTL_PYTHON=$(<%= config.bin %> python setup --airflow 3) <%= config.bin %> validate',
  ]
  static override flags = {
    airflow: Flags.string({summary: 'Airflow major version (default: airflow.version of dagctl.yaml, else 3).', options: ['2', '3']}),
  }

  public async run(): Promise<PythonSetupResult> {
    const version = (this.flags.airflow ? Number(this.flags.airflow) : (optionalConfig(() => this.loadConfig())?.config.airflow.version ?? 3)) as AirflowMajor
    const result = await setupAirflowPython(version, {quiet: this.jsonEnabled(), onProgress: (m) => this.note(m)})
    if (!this.jsonEnabled()) {
      this.note(`${result.created ? 'created' : 'reusing'} ${result.venv} (Airflow ${result.airflow ?? '?'})`)
      this.log(result.python)
    }
    return result
  }
}
