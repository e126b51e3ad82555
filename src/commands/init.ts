import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {CI_KINDS, scaffoldCi, type CiKind, type CiScaffoldResult} from '../ci/scaffold.js'
import {scaffoldPackage, type ScaffoldResult} from '../spec/scaffold.js'

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Start a package: dagctl.yaml, an example spec and the folders.'
  static override description = `Writes dagctl.yaml, specs/daily_report.yaml (an example DAG using the kubernetes_pod, python, bash and empty task types), the folders dags/, specs/ and dags/generated/, and a ".dagctl/" line in .gitignore.

Works in an empty folder or beside an existing package: nothing that exists is overwritten; what was skipped is listed. The package name defaults to the folder's name, made valid (lower case, digits and _). The example generates and validates as it is.`
  static override examples = [
    {description: 'A new package in ./example, then its first DAG', command: '<%= config.bin %> init example && cd example && <%= config.bin %> generate'},
    {description: 'Here, with an explicit package name', command: '<%= config.bin %> init --package team_orders'},
    {description: 'With the GitLab pipeline (an include of the dagctl template in .gitlab-ci.yml)', command: '<%= config.bin %> init --ci gitlab'},
    {description: 'With a GitHub Actions workflow (.github/workflows/dagctl.yml)', command: '<%= config.bin %> init orders --ci github'},
    {description: 'Targeting Airflow 2.11', command: '<%= config.bin %> init legacy --airflow 2'},
  ]

  static override args = {
    dir: Args.string({description: 'Folder of the package (created when missing).', default: '.'}),
  }

  static override flags = {
    package: Flags.string({char: 'p', summary: 'Package name (prefix of every DAG id); default: the folder name, sanitised.'}),
    ci: Flags.string({summary: 'Also write the CI pipeline at the repository root: gitlab (.gitlab-ci.yml) or github (.github/workflows/dagctl.yml); never overwrites.', options: [...CI_KINDS]}),
    airflow: Flags.integer({
      summary: 'Airflow major version the generated DAGs target.',
      options: ['2', '3'],
      default: 3,
      // the name of 0.1; kept for one release, with a deprecation note on stderr
      aliases: ['airflow-version'],
      deprecateAliases: true,
    }),
  }

  public async run(): Promise<ScaffoldResult & {ci?: CiScaffoldResult}> {
    const result = scaffoldPackage({
      dir: this.args.dir,
      packageName: this.flags.package,
      airflowVersion: this.flags.airflow as 2 | 3,
    })
    if (!this.jsonEnabled()) {
      for (const item of result.created) this.log(`created  ${item}`)
      if (result.gitignoreUpdated && !result.created.includes('.gitignore')) this.log('updated  .gitignore (.dagctl/)')
      for (const item of result.skipped) this.log(`skipped  ${item} (exists; left as it is)`)
      this.log(`Package ${result.package}: ${result.created.length} created, ${result.skipped.length} skipped.`)
      this.note(`Next: ${this.args.dir === '.' ? '' : `cd ${this.args.dir} && `}dagctl generate && dagctl validate   (the example DAG is ${result.exampleDagId})`)
    }
    const ci = this.flags.ci ? scaffoldCi(this.flags.ci as CiKind, result.root, this.config.version) : undefined
    if (!this.jsonEnabled()) {
      if (!ci) this.note('CI: `dagctl init --ci gitlab` or `dagctl init --ci github` adds the pipeline (validate on merge requests, publish on merge).')
      else if (ci.created) this.log(`created  ${ci.file} (in ${ci.repositoryRoot})`)
      else this.log(`skipped  ${ci.file} (exists; left as it is). Add this to it:\n${ci.snippet}`)
    }
    return ci ? {...result, ci} : result
  }
}
