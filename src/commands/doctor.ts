import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {CheckFailedError} from '../errors.js'
import {chooseParsingPython} from '../check/python-target.js'
import {runDoctor, type DoctorReport} from '../python/doctor.js'
import {optionalConfig, pythonSettings, resolvePython} from '../python/interpreter.js'
import type {AirflowMajor} from '../python/venv.js'
import {palette} from '../ui/colour.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = "Check the Python validate and publish run: interpreter, Airflow and provider versions, and what is missing."
  static override description = `Finds the python validate would use (--python, DAGCTL_PYTHON, python: in dagctl.yaml, the managed venv for airflow.version, python3), and reports its version, Airflow's and the providers', and each gap with the command that fixes it.

Exits 1 when something validate needs is broken (no runnable python; no Airflow while validate.engine is airflow); warnings alone exit 0.`
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --python /opt/airflow/venv/bin/python --json', '<%= config.bin %> doctor --airflow 2']
  static override flags = {
    python: Flags.string({summary: 'Interpreter to check instead of the one validate would choose (DAGCTL_PYTHON is honoured like everywhere).'}),
    airflow: Flags.string({summary: 'Airflow major version to expect (default: airflow.version of dagctl.yaml, else 3); the interpreter checked stays the one validate uses.', options: ['2', '3']}),
  }

  public async run(): Promise<DoctorReport> {
    const resolved = optionalConfig(() => this.loadConfig())
    const settings = pythonSettings(resolved)
    const targetAirflow = (this.flags.airflow ? Number(this.flags.airflow) : settings.airflowVersion) as AirflowMajor
    // exactly the interpreter validate and publish use: --airflow changes what is expected, not which python
    const choice = resolvePython({...settings, flag: this.flags.python})
    const pythonTarget = resolved?.config.validate.python
    const report = await runDoctor({choice, targetAirflow, configAirflow: settings.airflowVersion, engine: settings.engine, pythonTarget, parsingPython: (c, target) => chooseParsingPython({python: c.python, source: c.source, from: c.from, target})})
    const gap = new CheckFailedError(`validate cannot work as configured with ${choice.python}`, {code: 'PYTHON_NOT_READY', hint: 'Run the fix shown beside each FAIL line.'})
    if (this.jsonEnabled()) return report.ok ? report : this.failWithResult(report, gap)
    const c = palette()
    for (const check of report.checks) {
      const mark = check.ok ? c.green('ok  ') : check.severity === 'error' ? c.red('FAIL') : check.severity === 'warning' ? c.yellow('warn') : c.dim('info')
      this.log(`${mark}  ${check.name.padEnd(26)} ${check.detail}`)
      if (!check.ok && check.fix) this.log(`      ${' '.repeat(26)} ${c.dim('fix:')} ${check.fix}`)
    }
    if (!report.ok) this.failWithResult(report, gap)
    return report
  }
}
