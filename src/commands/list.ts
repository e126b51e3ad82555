import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {environmentFlags, packageFlag, storeFlags} from '../flags.js'
import {openStoreContext} from '../release/context.js'
import {listFiles, listPackages, type FileRow, type PackageRow} from '../release/queries.js'
import {table} from '../release/render.js'
import {formatTimestamp} from '../ui/time.js'

export type ListResult =
  | {env: string; store: string; packages: PackageRow[]}
  | {env: string; store: string; package: string; release: number | null; validated: boolean; files: FileRow[]}

export default class List extends BaseCommand<typeof List> {
  static override summary = 'What is published: the packages of an environment, or the files and DAGs of one package.'
  static override description = `Without --package, lists the packages of the environment: PACKAGE, RELEASE (its current release), FILES, PUBLISHED (when that release was made, UTC) and AUTHOR.

With --package, lists the files of its current release: PATH, DAGS (the DAG ids the file defines, as validation found them at publish time; "?" when the release was published with --no-validate), RELEASE (the release that last changed the file, i.e. brought its current content; a rollback that restores older content counts as a change), SIZE and SHA256.

The positional form \`dagctl list PACKAGE\` still works for one release, with a deprecation note: use --package.`
  static override examples = [
    {description: 'Packages published to dev', command: '<%= config.bin %> list'},
    {description: 'Files and DAG ids of one package in prod', command: '<%= config.bin %> list --package team_a --env prod'},
    {description: 'From anywhere, machine-readable', command: '<%= config.bin %> list --store s3://company-dags/airflow --env prod --json'},
  ]
  static override args = {package: Args.string({description: 'deprecated: use --package', hidden: true})}
  static override flags = {
    ...environmentFlags,
    ...storeFlags,
    package: {...packageFlag, summary: 'Package whose files and DAG ids to list (default: list the packages).'},
    limit: Flags.integer({char: 'n', summary: 'Show at most N rows.', min: 1}),
  }

  public async run(): Promise<ListResult> {
    if (this.args.package) this.note(`\`dagctl list ${this.args.package}\` is deprecated and will be removed in the next release: use \`dagctl list --package ${this.args.package}\`.`)
    const pkg = this.flags.package ?? this.args.package
    const ctx = await openStoreContext(() => this.loadConfig(), this.flags)
    const base = {env: ctx.env, store: ctx.store.url}
    const limit = this.flags.limit ?? Number.POSITIVE_INFINITY
    const more = (n: number) => (n > limit ? this.note(`… ${n - limit} more (raise --limit to see them).`) : undefined)
    if (!pkg) {
      const all = await listPackages(ctx.store, ctx.env)
      const packages = all.slice(0, limit)
      if (!this.jsonEnabled()) {
        if (packages.length === 0) this.log(`No package published to ${ctx.env} in ${ctx.store.url}.`)
        else this.log(table([['PACKAGE', 'RELEASE', 'FILES', 'PUBLISHED', 'AUTHOR'], ...packages.map((p) => [p.package, String(p.release ?? '-'), String(p.files), p.publishedAt ? formatTimestamp(p.publishedAt) : '', p.author ?? ''])]))
        more(all.length)
      }
      return {...base, packages}
    }
    const {release, validated, files: all} = await listFiles(ctx.store, ctx.env, pkg)
    const files = all.slice(0, limit)
    if (!this.jsonEnabled()) {
      if (release === null) this.log(`${pkg} has no release in ${ctx.env}.`)
      else this.log(table([['PATH', 'DAGS', 'RELEASE', 'SIZE', 'SHA256'], ...files.map((f) => [f.path, f.dags.length > 0 ? f.dags.join(', ') : validated ? '-' : '?', String(f.release), String(f.size), f.sha256.slice(0, 12)])]))
      more(all.length)
    }
    return {...base, package: pkg, release, validated, files}
  }
}
