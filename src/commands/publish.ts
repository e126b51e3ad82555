import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {checkFlags, environmentFlags, storeFlags} from '../flags.js'
import {openStoreContext, requirePackage} from '../release/context.js'
import {publish, type PublishResult} from '../release/publish.js'
import {renderDiff} from '../release/render.js'
import {validateSettings} from '../check/settings.js'
import type {EngineChoice} from '../check/types.js'
import {finishedDespite, stopMessages} from '../ui/interrupt.js'
import {withStopSignals} from '../util/interrupt.js'

export default class Publish extends BaseCommand<typeof Publish> {
  static override summary = 'Validate the DAG files and publish them to an environment as a new release.'
  static override description = `Validates first and refuses on errors, shows the diff against the current release (by content hash), then uploads only new contents, writes an immutable release manifest, moves HEAD by compare-and-swap, and brings the live tree (<env>/<package>/dags/) in line, touching only changed and removed files.

Publishing content equal to HEAD makes no release. If another publish of the package wins the race, this one exits 3 and nothing of it becomes current: re-run it.

Ctrl-C (SIGINT) or SIGTERM stops at the next safe point and says what state the store is left in: before HEAD moves nothing becomes current; while the live tree is brought in line it says how many live files still lag and the command that completes it (\`dagctl fsck --repair\`; the next publish heals it too). A second signal stops at once.

Exit codes: 0 published (or nothing to do), 1 validation failed, 2 bad usage or config, 3 lost the race, 4 the store failed after retries, 5 refused by a guardrail (symlink leaving the package, DAG id without the package prefix, removing more than half of the DAG files, or all of them), 130 stopped by SIGINT, 143 stopped by SIGTERM.`
  static override examples = [
    {description: 'Publish to dev (the local store file://.dagctl/store unless dagctl.yaml names one)', command: '<%= config.bin %> publish -m "add the orders DAG"'},
    {description: 'See what would change in prod without writing anything', command: '<%= config.bin %> publish --env prod --dry-run'},
    {description: 'Publish to a bucket through MinIO, machine-readable', command: '<%= config.bin %> publish --store s3://dags/airflow --endpoint http://127.0.0.1:9000 --json'},
  ]
  static override flags = {
    ...environmentFlags,
    ...storeFlags,
    message: Flags.string({char: 'm', summary: 'Why: recorded in the release and shown by `dagctl releases`.'}),
    'dry-run': Flags.boolean({summary: 'Validate and show the diff; write nothing.'}),
    validate: Flags.boolean({default: true, allowNo: true, summary: 'Validate before publishing (--no-validate skips it and records that in the release).'}),
    ...checkFlags,
    'allow-mass-removal': Flags.boolean({summary: 'Allow removing more than half of the published DAG files.'}),
  }

  public async run(): Promise<PublishResult> {
    const {flags} = this
    const ctx = await openStoreContext(() => this.loadConfig(), flags, true)
    const resolved = ctx.config!
    const pkg = requirePackage(ctx)
    const c = resolved.config
    const options = {
      store: ctx.store,
      env: ctx.env,
      pkg,
      root: ctx.root,
      dagsDir: resolved.resolvePath(c.dags),
      extensions: c.publish.extensions,
      validate: flags.validate,
      validateOptions: validateSettings(resolved, {python: flags.python, engine: flags.engine as EngineChoice | undefined}),
      allowMassRemoval: flags['allow-mass-removal'],
      message: flags.message,
      image: c.image,
    }
    const result = await withStopSignals((signal) => publish({...options, dryRun: flags['dry-run'], signal, scope: {store: flags.store}}, {
      steps: this.steps(),
      onPlan: (plan) => {
        if (this.jsonEnabled()) return
        if (plan.skipped.length > 0) this.note(`Not published (extension not .py or in publish.extensions): ${plan.skipped.join(', ')}`)
        // the diff is progress: it comes before the writes; the result is the last line, on stdout
        this.note(`${pkg} in ${ctx.env} (${ctx.store.url}), against ${plan.headRead.head ? `release ${plan.headRead.head.release}` : 'no release yet'}:`)
        this.note(renderDiff({...plan.diff, unchanged: plan.diff.unchanged.length}, undefined, process.stderr))
        const v = plan.validation?.reuse
        if (v && plan.headRead.head) this.note(`Validation: ${v.validated} file(s) checked, ${v.reused} unchanged file(s) reused from release ${plan.headRead.head.release}${v.reason ? ` (nothing reused: ${v.reason})` : ''}.`)
      },
    }), stopMessages)
    const live = result.live && result.live.written + result.live.deleted > 0 ? ` (live tree healed: ${result.live.written} written, ${result.live.deleted} removed)` : ''
    if (!this.jsonEnabled()) {
      if (result.dryRun) this.log('Dry run: nothing written.')
      else if (result.release === null) this.log(`Nothing changed: release ${result.parent} stays current${live}.`)
      else this.log(`Published release ${result.release} of ${pkg} to ${ctx.env}.`)
    }
    if (result.interrupted) this.failWithResult(result, finishedDespite(result.interrupted))
    return result
  }
}
