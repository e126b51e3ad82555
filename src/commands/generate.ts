import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {DagctlError} from '../errors.js'
import {collectJobSources, renderJobDags} from '../discover/render.js'
import {generate, staleError, type GenerateResult} from '../render/generate.js'

export default class Generate extends BaseCommand<typeof Generate> {
  static override summary = 'Render Airflow DAG files from the YAML specs (and the discovered jobs) of the package.'
  static override description = `Reads every spec under specs/ (the \`specs:\` folder of dagctl.yaml) and, with \`discover:\` in dagctl.yaml, every discovered job module and schedule entry (docs/discover.md); checks it, merges the policy defaults (platform < package < spec) and writes the DAG files into dags/generated/: one per spec as <package>_<name>.py, or with \`generate.layout\` in dagctl.yaml one file for the package (<package>.py), one per N DAGs (<package>-batch-001.py, ...), or per N DAGs a small loader that Airflow parses and a module of their code under _dagctl/ that it does not (<package>-loader-001.py, layout loader:N), which Airflow's DAG processor parses many times faster (docs/specs.md#file-layout).

Output is deterministic: the same specs give the same bytes, and only changed files are written (each atomically). When any spec is bad nothing is written: the error names the file, the line and the key. Every generated file starts with "# dagctl:generated " (a one-DAG file: "source=<spec>"; a file of several DAGs maps each DAG to its spec in its header); dagctl replaces or removes only files that carry it.

Exit codes: 0 done; 1 --check found stale files; 2 a bad spec or dagctl.yaml; 3 a hand-written file is in the way; 5 refused by policy (an image outside policy.allowed_registries).`
  static override examples = [
    {description: 'Write the DAG files of every spec', command: '<%= config.bin %> generate'},
    {description: 'In CI: fail (exit 1) when a generated file is missing, stale or orphaned; writes nothing', command: '<%= config.bin %> generate --check'},
    {description: 'Also remove generated files whose spec is gone', command: '<%= config.bin %> generate --clean'},
    {description: 'Machine-readable result', command: '<%= config.bin %> generate --json'},
  ]

  static override flags = {
    check: Flags.boolean({
      summary: 'Write nothing; exit 1 listing every generated file that is missing, stale or orphaned.',
      exclusive: ['clean'],
    }),
    clean: Flags.boolean({
      summary: 'Also remove generated files (those with the dagctl header) whose spec is gone.',
      exclusive: ['check'],
    }),
  }

  public async run(): Promise<GenerateResult> {
    const resolved = this.loadConfig()
    let result: GenerateResult
    try {
      const {config, root} = resolved
      // With discover: in dagctl.yaml, also one DAG per discovered job and schedule entry (docs/discover.md).
      const extra = config.discover ? renderJobDags(root, config, config.discover, (await collectJobSources(root, config)).dags) : undefined
      result = generate({root, config, extra, mode: this.flags.check ? 'check' : this.flags.clean ? 'clean' : 'write'})
    } catch (error) {
      if (error instanceof DagctlError && !this.jsonEnabled()) this.reportDetails(error)
      throw error
    }
    if (!this.jsonEnabled()) this.printSummary(result)
    // like validate and fsck: under --json the report is the whole of stdout, and exit 1 says it failed
    if (result.check && result.stale.length > 0) this.failWithResult(result, staleError(result))
    return result
  }

  /** The errors beyond the first, which the error line alone does not show. */
  private reportDetails(error: DagctlError): void {
    const details = error.details as
      | {errors?: Array<{message: string; location?: {file?: string; line?: number; key?: string}}>; stale?: GenerateResult['stale']; problems?: Array<{file: string; line: number; reason: string}>}
      | undefined
    // broken job files (discover): every one, the first included, as `dagctl discover` lists them
    for (const p of details?.problems ?? []) this.logToStderr(`  broken  ${p.file}:${p.line}: ${p.reason}`)
    for (const e of details?.errors?.slice(1) ?? []) {
      const where = [e.location?.file, e.location?.line].filter((p) => p !== undefined).join(':')
      this.logToStderr(`  ${e.message}${where ? ` (${where}${e.location?.key ? ` key ${e.location.key}` : ''})` : ''}`)
    }
  }

  private printSummary(result: GenerateResult): void {
    for (const file of result.written) this.log(`written   ${file}`)
    if (this.flags.verbose) for (const file of result.unchanged) this.log(`unchanged ${file}`)
    for (const file of result.removed) this.log(`removed   ${file}`)
    for (const s of result.stale) {
      if (result.check) this.log(`stale     ${s.file} (${s.reason}${s.dagId ? `: DAG ${s.dagId}` : ''}${s.spec ? `, from ${s.spec}` : ''})`)
      else this.log(`stale     ${s.file} (its spec ${s.spec ?? ''} no longer generates it; \`dagctl generate --clean\` removes it)`)
    }
    const counts = [
      result.check ? undefined : `${result.written.length} written`,
      `${result.unchanged.length} unchanged`,
      result.removed.length > 0 ? `${result.removed.length} removed` : undefined,
      result.stale.length > 0 ? `${result.stale.length} stale` : undefined,
    ].filter(Boolean)
    const what = result.check ? 'Checked' : 'Generated'
    this.log(`${what} ${result.dags.length} DAG${result.dags.length === 1 ? '' : 's'}: ${counts.join(', ')}.`)
  }
}
