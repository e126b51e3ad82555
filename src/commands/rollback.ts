import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {environmentFlags, packageFlag, storeFlags} from '../flags.js'
import {openStoreContext, requirePackage} from '../release/context.js'
import {renderDiff} from '../release/render.js'
import {rollback, type RollbackPlan, type RollbackResult} from '../release/rollback.js'
import {confirm} from '../ui/confirm.js'
import {finishedDespite, stopMessages} from '../ui/interrupt.js'
import {withStopSignals} from '../util/interrupt.js'

export default class Rollback extends BaseCommand<typeof Rollback> {
  static override summary = 'Put an earlier release back, as a new release: the whole package or one DAG.'
  static override description = `Writes a new release whose files equal the target (history only grows; the new release records what it rolled back), swaps HEAD by compare-and-swap and brings the live tree in line, touching only the files that differ. No bucket versioning needed.

Asks for confirmation on a terminal; elsewhere (CI, scripts) pass --yes. Works without a dagctl.yaml when --store and --package are given.

Declining the prompt is not an error: it prints "Cancelled: nothing changed." and exits 0. Ctrl-C (SIGINT) or SIGTERM stops at the next safe point and says what state the store is left in, with the command that completes it (\`dagctl fsck --repair\`).

Exit codes: 0 done (or declined at the prompt), 2 bad usage (unknown release, no --yes when not on a terminal), 3 another publish or rollback won the race (re-run), 4 the store failed after retries, 5 --dag names a DAG whose file holds other DAGs that would go back with it (pass --whole-file), 130 stopped by SIGINT, 143 stopped by SIGTERM.`
  static override examples = [
    {description: 'Back one release in prod (asks first)', command: '<%= config.bin %> rollback --env prod'},
    {description: 'Back to release 41, from CI', command: '<%= config.bin %> rollback --env prod --to 41 --yes'},
    {description: 'Only one DAG back to how it was two releases ago', command: '<%= config.bin %> rollback --env prod --steps 2 --dag team_a_orders --yes'},
    {description: 'From an ops laptop, without the package checkout', command: '<%= config.bin %> rollback --store s3://company-dags/airflow --package team_a --env prod --to 41 --dry-run'},
  ]
  static override flags = {
    ...environmentFlags,
    ...storeFlags,
    package: packageFlag,
    to: Flags.integer({summary: 'Release id to go back to (see `dagctl releases`).', min: 1, exclusive: ['steps']}),
    steps: Flags.integer({summary: 'Go back N releases in the history (default 1).', min: 1, exclusive: ['to']}),
    dag: Flags.string({summary: 'Only the file of this DAG id (with a loader layout, its loader and module); the rest stays as it is.'}),
    'whole-file': Flags.boolean({
      summary: 'With --dag: also take back the other DAGs whose code is in the same file, which are otherwise refused (exit 5).',
      dependsOn: ['dag'],
    }),
    message: Flags.string({char: 'm', summary: 'Why: recorded in the new release.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation (needed when not on a terminal).'}),
    'dry-run': Flags.boolean({summary: 'Show what would change; write nothing.'}),
  }

  public async run(): Promise<RollbackResult> {
    const {flags} = this
    const ctx = await openStoreContext(() => this.loadConfig(), flags)
    const pkg = requirePackage(ctx)
    const options = {store: ctx.store, env: ctx.env, pkg, to: flags.to, steps: flags.steps, dag: flags.dag, wholeFile: flags['whole-file'], message: flags.message}
    const what = (plan: RollbackPlan) => `${flags.dag ? `DAG ${flags.dag} of ` : ''}${pkg} in ${ctx.env} from release ${plan.headManifest.id} to the files of release ${plan.target.id}`
    const result = await withStopSignals((signal) => rollback(
      {...options, dryRun: flags['dry-run'], root: ctx.root, signal, scope: {store: flags.store}},
      {
        steps: this.steps(),
        onPlan: (plan) => {
          if (this.jsonEnabled()) return
          this.note(`Roll back ${what(plan)}:`)
          if (plan.sharedWith?.length) this.note(`with ${plan.sharedWith.length} other DAG(s) of the same file: ${plan.sharedWith.join(', ')}`)
          this.note(renderDiff({...plan.diff, unchanged: plan.diff.unchanged.length}, undefined, process.stderr))
        },
        beforeWrite: (plan) => (flags.yes ? Promise.resolve(true) : confirm(`Roll back ${what(plan)}?`, {command: 'rollback', yesFlag: '--yes'})),
      },
    ), stopMessages)
    if (!this.jsonEnabled()) {
      if (result.cancelled) this.log('Cancelled: nothing changed.')
      else if (result.dryRun) this.log('Dry run: nothing written.')
      else if (result.release === null) this.log(`Nothing to do: HEAD (${result.from}) already has these files.`)
      else this.log(`Rolled back: release ${result.release} is current in ${ctx.env}.`)
    }
    if (result.interrupted) this.failWithResult(result, finishedDespite(result.interrupted))
    return result
  }
}
