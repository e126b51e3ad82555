import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {scaffoldPackage, type ScaffoldResult} from '../spec/scaffold.js'

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Start a package: dagctl.yaml, an example spec and the folders.'
  static override description = `Writes dagctl.yaml, specs/daily_report.yaml (an example DAG using the kubernetes_pod, python, bash and empty task types), the folders dags/, specs/ and dags/generated/, and a ".dagctl/" line in .gitignore.

Works in an empty folder or beside an existing package: nothing that exists is overwritten; what was skipped is listed. The package name defaults to the folder's name, made valid (lower case, digits and _). The example generates and validates as it is.`
  static override examples = [
    {description: 'A new package in ./example, then its first DAG', command: '<%= config.bin %> init example && cd example && <%= config.bin %> generate'},
    {description: 'Here, with an explicit package name', command: '<%= config.bin %> init --package team_orders'},
    {description: 'Targeting Airflow 2.11', command: '<%= config.bin %> init legacy --airflow 2'},
  ]

  static override args = {
    dir: Args.string({description: 'Folder of the package (created when missing).', default: '.'}),
  }

  static override flags = {
    package: Flags.string({char: 'p', summary: 'Package name (prefix of every DAG id); default: the folder name, sanitised.'}),
    airflow: Flags.integer({
      summary: 'Airflow major version the generated DAGs target.',
      options: ['2', '3'],
      default: 3,
      // the name of 0.1; kept for one release, with a deprecation note on stderr
      aliases: ['airflow-version'],
      deprecateAliases: true,
    }),
  }

  public async run(): Promise<ScaffoldResult> {
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
    return result
  }
}
