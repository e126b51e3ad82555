import {Args} from '@oclif/core'

import {BaseCommand, environmentFlags} from '../base-command.js'
import {openStoreContext} from '../release/context.js'
import {storeFlags} from '../store-flags.js'
import {listFiles, listPackages, type FileRow, type PackageRow} from '../release/queries.js'
import {table} from '../release/render.js'

export type ListResult = {env: string; store: string; packages: PackageRow[]} | {env: string; store: string; package: string; release: number | null; files: FileRow[]}

export default class List extends BaseCommand<typeof List> {
  static override summary = 'What is published: the packages of an environment, or the DAG files of one package.'
  static override description = 'Without an argument, lists the packages of the environment and their current release. With a package name, lists the files of its current release: path, the release that brought that content, size and SHA-256.'
  static override examples = [
    {description: 'Packages published to dev', command: '<%= config.bin %> list'},
    {description: 'Files of one package in prod', command: '<%= config.bin %> list team_a --env prod'},
    {description: 'From anywhere, machine-readable', command: '<%= config.bin %> list --store s3://company-dags/airflow --env prod --json'},
  ]
  static override args = {package: Args.string({description: 'package whose files to list'})}
  static override flags = {...environmentFlags, ...storeFlags}

  public async run(): Promise<ListResult> {
    const ctx = await openStoreContext(() => this.loadConfig(), this.flags)
    const base = {env: ctx.env, store: ctx.store.url}
    if (!this.args.package) {
      const packages = await listPackages(ctx.store, ctx.env)
      if (!this.jsonEnabled()) {
        if (packages.length === 0) this.log(`No package published to ${ctx.env} in ${ctx.store.url}.`)
        else this.log(table([['PACKAGE', 'RELEASE', 'FILES', 'PUBLISHED', 'AUTHOR'], ...packages.map((p) => [p.package, String(p.release ?? '-'), String(p.files), p.publishedAt ?? '', p.author ?? ''])]))
      }
      return {...base, packages}
    }
    const {release, files} = await listFiles(ctx.store, ctx.env, this.args.package)
    if (!this.jsonEnabled()) {
      if (release === null) this.log(`${this.args.package} has no release in ${ctx.env}.`)
      else this.log(table([['PATH', 'RELEASE', 'SIZE', 'SHA256'], ...files.map((f) => [f.path, String(f.release), String(f.size), f.sha256.slice(0, 12)])]))
    }
    return {...base, package: this.args.package, release, files}
  }
}
