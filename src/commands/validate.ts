import {Args, Flags} from '@oclif/core'
import path from 'node:path'

import {BaseCommand} from '../base-command.js'
import {checkFlags} from '../flags.js'
import {repositoryPrefix, validateDags} from '../check/index.js'
import {validateSettings} from '../check/settings.js'
import type {EngineChoice} from '../check/types.js'
import {REPORT_FORMATS, renderReport, summaryLine, type ReportFormat} from '../check/reporters/index.js'
import type {ValidationReport} from '../check/types.js'
import {writeFileAtomic} from '../util/atomic-write.js'
import {CheckFailedError, UsageError} from '../errors.js'
import {palette} from '../ui/colour.js'

export default class Validate extends BaseCommand<typeof Validate> {
  static override summary = 'Check DAG files: syntax, DAG ids, schedules, import-time code, Airflow 3 imports.'
  static override description = `Checks every *.py under the dags folder of dagctl.yaml (or the files and folders given) through one Python process.
--engine ast needs only python3 and never imports the files; --engine airflow loads them with Airflow's own DagBag; auto (the default) uses Airflow when the interpreter has it.
Rules and their fixes: docs/rules.md. Exit 1 when any finding is an error (under --json, stdout still holds the whole report), 2 when the interpreter is missing.`

  static override examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate dags/sales.py --engine ast',
    '<%= config.bin %> validate --format junit --output reports/validate.xml',
    '<%= config.bin %> validate --format sarif --output validate.sarif',
    '<%= config.bin %> validate --json',
  ]

  static override strict = false

  static override args = {
    paths: Args.string({description: 'DAG files or folders (default: the `dags` folder of dagctl.yaml)', required: false}),
  }

  static override flags = {
    ...checkFlags,
    format: Flags.string({
      summary: 'Report format: text, junit (GitLab tests), codequality (GitLab code quality), sarif (GitHub code scanning).',
      options: [...REPORT_FORMATS],
      default: 'text',
    }),
    output: Flags.string({char: 'o', summary: 'Write the report to this file (atomically) instead of stdout; the text summary still goes to stdout.'}),
    cache: Flags.boolean({
      summary: 'Reuse the results of unchanged files from the last run (cached by content hash under DAGCTL_CACHE_DIR or ~/.cache/dagctl).',
      default: true,
      allowNo: true,
    }),
  }

  public async run(): Promise<ValidationReport> {
    const resolved = this.loadConfig()
    const {config} = resolved
    const given = this.positionals
    const files = given.length > 0 ? given.map((p) => path.resolve(p)) : [resolved.resolvePath(config.dags)]
    const report = await validateDags({
      files,
      root: resolved.root,
      packageName: config.package,
      ...validateSettings(resolved, {python: this.flags.python, engine: this.flags.engine as EngineChoice | undefined}),
      cache: this.flags.cache,
    })

    const format = this.flags.format as ReportFormat
    // GitLab and GitHub place findings by repository path; the package may be a subfolder
    const machine = {toolVersion: this.config.version, pathPrefix: repositoryPrefix(resolved.root)}
    if (this.flags.output) {
      try {
        writeFileAtomic(this.flags.output, renderReport(report, format, machine))
      } catch (error) {
        throw new UsageError(`cannot write ${this.flags.output}: ${(error as Error).message}`, {hint: 'Pass an --output path in a writable folder.'})
      }
    }
    if (!this.jsonEnabled()) {
      if (this.flags.output || format === 'text') {
        process.stdout.write(renderReport(report, 'text', {colour: palette(process.stdout)}))
      } else {
        process.stdout.write(renderReport(report, format, machine))
      }
      if (this.flags.output) this.note(`report written to ${this.flags.output}`)
    }
    if (report.summary.errors > 0) {
      const {errors, files} = report.summary
      const failing = [...new Set(report.findings.filter((f) => f.severity === 'error').map((f) => f.file))]
      const where = failing.length === 1 ? failing[0] : `${failing.length} files`
      this.failWithResult(report, new CheckFailedError(`validation failed: ${errors} error${errors === 1 ? '' : 's'} in ${where}`, {
        hint: `Fix the findings marked error${this.flags.output ? ` (listed above and in ${this.flags.output})` : ''}; docs/rules.md explains each rule and its fix.`,
        details: {files},
      }))
    }
    return report
  }
}
