import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {environmentFlags, packageFlag, storeFlags} from '../flags.js'
import {openStoreContext, requirePackage} from '../release/context.js'
import {formatTimestamp} from '../ui/time.js'
import {listReleases, type ReleaseRow} from '../release/queries.js'
import {table} from '../release/render.js'

export interface ReleasesResult {
  package: string
  env: string
  store: string
  releases: ReleaseRow[]
}

export default class Releases extends BaseCommand<typeof Releases> {
  static override summary = 'The release history of a package: newest first, the current one marked.'
  static override description = 'History is the chain from HEAD through each release\'s parent: id, time, author, git sha, what changed and the message. Releases of publishes that lost a race are not history (`dagctl fsck` lists them).'
  static override examples = [
    '<%= config.bin %> releases',
    {description: 'Last 5 releases in prod, to pick a rollback target', command: '<%= config.bin %> releases --env prod -n 5'},
    '<%= config.bin %> releases --store s3://company-dags/airflow --package team_a --env prod --json',
  ]
  static override flags = {
    ...environmentFlags,
    ...storeFlags,
    package: packageFlag,
    limit: Flags.integer({char: 'n', summary: 'How many releases to show.', default: 20, min: 1}),
  }

  public async run(): Promise<ReleasesResult> {
    const ctx = await openStoreContext(() => this.loadConfig(), this.flags)
    const pkg = requirePackage(ctx)
    const releases = await listReleases(ctx.store, ctx.env, pkg, this.flags.limit)
    if (!this.jsonEnabled()) {
      if (releases.length === 0) this.log(`${pkg} has no release in ${ctx.env} (${ctx.store.url}).`)
      else {
        this.log(
          table([
            ['', 'ID', 'TIME', 'AUTHOR', 'GIT', 'CHANGES', 'MESSAGE'],
            ...releases.map((r) => [
              r.current ? '*' : '',
              String(r.id),
              formatTimestamp(r.createdAt),
              r.author,
              r.gitSha?.slice(0, 8) ?? '',
              `+${r.changes.added} ~${r.changes.changed} -${r.changes.removed}`,
              r.message ?? '',
            ]),
          ]),
        )
      }
    }
    return {package: pkg, env: ctx.env, store: ctx.store.url, releases}
  }
}
