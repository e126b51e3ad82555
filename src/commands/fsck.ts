import {Flags} from '@oclif/core'

import {BaseCommand, environmentFlags} from '../base-command.js'
import {CheckFailedError} from '../errors.js'
import {openStoreContext, packageFlag, storeFlags} from '../release/context.js'
import {fsck, type FsckResult} from '../release/fsck.js'
import {palette} from '../ui/colour.js'

export default class Fsck extends BaseCommand<typeof Fsck> {
  static override summary = 'Check a store\'s invariants and say exactly what is wrong.'
  static override description = `For every package of the environment (or --package): HEAD names a complete release; every release of the history exists, parses, names only paths inside the package and has all its blobs; every blob holds the content its name (SHA-256) says; the live tree equals HEAD's files by hash.

Findings: damage (an invariant broken: exit 1), lag (the live tree is behind HEAD because a writer was interrupted; --repair or the next publish/rollback heals it), info (releases of publishes that lost a race, unreferenced blobs: harmless).`
  static override examples = [
    '<%= config.bin %> fsck --env prod',
    {description: 'Bring a lagging live tree in line with HEAD', command: '<%= config.bin %> fsck --env prod --repair'},
    '<%= config.bin %> fsck --store s3://company-dags/airflow --env prod --json',
  ]
  static override flags = {
    ...environmentFlags,
    ...storeFlags,
    package: packageFlag,
    repair: Flags.boolean({summary: 'Bring a live tree that lags or differs from HEAD in line (never touches releases or HEAD).'}),
  }

  public async run(): Promise<FsckResult> {
    const ctx = await openStoreContext(() => this.loadConfig(), this.flags)
    const result = await fsck({store: ctx.store, env: ctx.env, pkg: this.flags.package, repair: this.flags.repair})
    const damage = new CheckFailedError(`fsck found damage in ${ctx.env} (${ctx.store.url})`, {
      code: 'STORE_DAMAGED',
      hint: 'See docs/runbook.md ("fsck found damage"); restore the named objects from bucket versioning.',
    })
    if (this.jsonEnabled()) return result.ok ? result : this.failWithResult(result, damage)
    const c = palette(process.stdout)
    for (const p of result.packages) {
      this.log(`${p.package}: HEAD ${p.head ?? '(none)'}, ${p.history} release(s) in history of ${p.releases}, ${p.blobs} blob(s), ${p.liveFiles} live file(s)${p.repaired ? `; repaired: ${p.repaired.written} written, ${p.repaired.deleted} removed` : ''}`)
    }
    if (result.packages.length === 0) this.log(`No package in ${ctx.env} (${ctx.store.url}).`)
    for (const f of result.findings) {
      const tag = f.severity === 'damage' ? c.red('DAMAGE') : f.severity === 'lag' ? c.yellow('LAG   ') : c.dim('info  ')
      this.log(`${tag} ${f.package}: ${f.message}${f.key ? c.dim(` (${f.key})`) : ''}`)
    }
    if (!result.ok) this.failWithResult(result, damage)
    if (result.findings.some((f) => f.severity === 'lag')) this.log('The live tree lags HEAD: run `dagctl fsck --repair` (or publish again).')
    else this.log('OK')
    return result
  }
}
