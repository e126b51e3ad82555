import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {environmentFlags, packageFlag, storeFlags} from '../flags.js'
import {CheckFailedError} from '../errors.js'
import {openStoreContext} from '../release/context.js'
import {fsck, type FsckResult} from '../release/fsck.js'
import {renderFsck} from '../release/render.js'

export default class Fsck extends BaseCommand<typeof Fsck> {
  static override summary = 'Check a store\'s invariants and say exactly what is wrong.'
  static override description = `For every package of the environment (or --package): HEAD names a complete release; every release of the history exists, parses, names only paths inside the package and has all its blobs; every blob holds the content its name (SHA-256) says; the live tree equals HEAD's files by hash.

Findings: damage (an invariant broken), lag (the live tree is behind HEAD because a writer was interrupted; Airflow runs the live tree, so it still sees older files: --repair or the next publish/rollback heals it), info (releases of publishes that lost a race, unreferenced blobs: harmless). A lagging package is one line (how many files lag which release); --verbose lists the files.

--repair brings every live tree in line with HEAD as far as the store allows, even when other damage exists, and says what it repaired and what it could not, and why. It never touches blobs, releases or HEAD.

Exit codes: 0 healthy, 1 damage or a live tree that lags HEAD (also after --repair, when something is left), 2 bad usage, 4 the store failed after retries.`
  static override examples = [
    '<%= config.bin %> fsck --env prod',
    {description: 'Bring a lagging live tree in line with HEAD', command: '<%= config.bin %> fsck --env prod --repair'},
    {description: 'Every lagging or damaged file, one line each', command: '<%= config.bin %> fsck --env prod --verbose'},
    '<%= config.bin %> fsck --store s3://company-dags/airflow --env prod --json',
  ]
  static override flags = {
    ...environmentFlags,
    ...storeFlags,
    package: packageFlag,
    repair: Flags.boolean({summary: 'Bring live trees that lag or differ from HEAD in line, as far as the store allows (never touches blobs, releases or HEAD).'}),
  }

  public async run(): Promise<FsckResult> {
    const ctx = await openStoreContext(() => this.loadConfig(), this.flags)
    const result = await fsck({store: ctx.store, env: ctx.env, pkg: this.flags.package, repair: this.flags.repair, scope: {store: this.flags.store}})
    if (!this.jsonEnabled()) for (const line of renderFsck(result, this.flags.verbose)) this.log(line)
    if (result.damaged) {
      this.failWithResult(result, new CheckFailedError(`fsck found damage in ${ctx.env} (${ctx.store.url})`, {
        code: 'STORE_DAMAGED',
        hint: 'Restore the named objects from bucket versioning: see docs/runbook.md#fsck-found-damage.',
      }))
    }
    if (result.lagging) {
      const lag = result.packages.filter((p) => p.lag)
      this.failWithResult(result, new CheckFailedError(`the live tree of ${lag.map((p) => p.package).join(', ')} lags HEAD in ${ctx.env}: Airflow still runs older files`, {
        code: 'LIVE_LAGS',
        hint: `Run \`${lag.length === 1 ? lag[0].lag!.repair : `dagctl fsck --env ${ctx.env}${this.flags.store ? ` --store ${this.flags.store}` : ''} --repair`}\` (the next publish or rollback heals it too); see docs/runbook.md#the-live-tree-lags-head.`,
      }))
    }
    return result
  }
}
