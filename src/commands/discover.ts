import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {findConfigFile} from '../config/load.js'
import {brokenJobsError, defaultDiscoverSettings, discoverJobs, type DiscoverResult} from '../discover/discover.js'

export default class Discover extends BaseCommand<typeof Discover> {
  static override summary = 'Find job modules (JOB = (entrypoint, "description")) with Python\'s ast, never importing them.'
  static override description = `Reads every file matching discover.pattern (default packages/*/jobs/**/*.py) under discover.root, skipping discover.exclude and what .airflowignore files exclude, in one python3 process that parses and never imports. Lists each job by package: id (<package>_<job>), module, entrypoint, description, file and line, and the metadata constants beside JOB (docs/discover.md).

Files that look like jobs but are wrong (JOB not a 2-tuple, the entrypoint not a function of the module, the description not a string literal, a syntax error, two jobs with one id) are listed with file, line and reason.

Exit codes: 0 done (broken files are listed on stderr); 1 with --strict when any file is broken; 2 a bad dagctl.yaml or no python3.`
  static override examples = [
    {description: 'List the jobs of the monorepo, by package', command: '<%= config.bin %> discover'},
    {description: 'In CI: fail when any job file is broken', command: '<%= config.bin %> discover --strict'},
    {description: 'Search another folder, machine-readable', command: '<%= config.bin %> discover --root ../monorepo --json'},
  ]

  static override flags = {
    root: Flags.string({summary: 'Folder to search (default: discover.root of dagctl.yaml, else the current folder).'}),
    strict: Flags.boolean({summary: 'Exit 1 when any job file is broken.'}),
    python: Flags.string({summary: 'The python3 that parses the files (default: python: of dagctl.yaml, else python3).', env: 'DAGCTL_PYTHON'}),
  }

  public async run(): Promise<DiscoverResult> {
    const hasConfig = Boolean(this.flags.config || findConfigFile(process.cwd()))
    const resolved = hasConfig ? this.loadConfig() : undefined
    const result = await discoverJobs({
      base: resolved?.root ?? process.cwd(),
      settings: resolved?.config.discover ?? defaultDiscoverSettings(),
      root: this.flags.root,
      python: this.flags.python ?? resolved?.config.python,
      airflowVersion: resolved?.config.airflow.version as 2 | 3 | undefined,
    })
    if (!this.jsonEnabled()) this.print(result)
    if (this.flags.strict && result.problems.length > 0) this.failWithResult(result, brokenJobsError(result.problems, {problems: result.problems}))
    return result
  }

  private print(result: DiscoverResult): void {
    const packages = [...new Set(result.jobs.map((j) => j.package))]
    for (const pkg of packages) {
      this.log(pkg)
      for (const job of result.jobs.filter((j) => j.package === pkg)) {
        const meta = Object.entries(job.meta).filter(([k]) => k !== 'name').map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        this.log(`  ${job.id}  ${job.module}:${job.entrypoint}  ${job.file}:${job.line}`)
        this.log(`    ${job.description}${meta.length > 0 ? `  (${meta.join(', ')})` : ''}`)
      }
    }
    for (const p of result.problems) this.logToStderr(`broken  ${p.file}:${p.line}: ${p.reason}`)
    this.log(`${result.jobs.length} job${result.jobs.length === 1 ? '' : 's'} in ${packages.length} package${packages.length === 1 ? '' : 's'}; ${result.files} files read, ${result.problems.length} broken, ${result.excluded} excluded.`)
  }
}
