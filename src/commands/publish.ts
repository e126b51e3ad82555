import {Flags} from '@oclif/core'

import {BaseCommand, environmentFlags} from '../base-command.js'
import {openStoreContext, requirePackage, storeFlags} from '../release/context.js'
import {planIsNoop, planPublish, publishResult, uploadBlobs, writeRelease, type PublishPlan, type PublishResult} from '../release/publish.js'
import {renderDiff} from '../release/render.js'
import type {Manifest} from '../release/manifest.js'
import {validateSettings} from '../check/settings.js'

export default class Publish extends BaseCommand<typeof Publish> {
  static override summary = 'Validate the DAG files and publish them to an environment as a new release.'
  static override description = `Validates first and refuses on errors, shows the diff against the current release (by content hash), then uploads only new contents, writes an immutable release manifest, moves HEAD by compare-and-swap, and brings the live tree (<env>/<package>/dags/) in line, touching only changed and removed files.

Publishing content equal to HEAD makes no release. If another publish of the package wins the race, this one exits 3 and nothing of it becomes current: re-run it.

Exit codes: 0 published (or nothing to do), 1 validation failed, 2 bad usage or config, 3 lost the race, 4 the store failed after retries, 5 refused by a guardrail (symlink leaving the package, DAG id without the package prefix, mass removal).`
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
      validateOptions: validateSettings(resolved),
      allowMassRemoval: flags['allow-mass-removal'],
      message: flags.message,
      image: c.image,
    }
    const state: {plan?: PublishPlan} = {}
    await this.progress(
      [
        {
          title: flags.validate ? `Validate and compare with ${pkg}'s release in ${ctx.env}` : `Compare with ${pkg}'s release in ${ctx.env} (validation skipped)`,
          task: async (s) => {
            s.plan = await planPublish(options)
          },
        },
      ],
      state,
    )
    const plan = state.plan!
    if (!this.jsonEnabled()) {
      if (plan.skipped.length > 0) this.note(`Not published (extension not .py or in publish.extensions): ${plan.skipped.join(', ')}`)
      this.log(`${pkg} in ${ctx.env} (${ctx.store.url}), against ${plan.headRead.head ? `release ${plan.headRead.head.release}` : 'no release yet'}:`)
      this.log(renderDiff({added: plan.diff.added, changed: plan.diff.changed, removed: plan.diff.removed, unchanged: plan.diff.unchanged.length}))
    }
    if (flags['dry-run']) {
      this.note('Dry run: nothing written.')
      return publishResult(plan, {release: null, dryRun: true, uploaded: 0})
    }
    if (planIsNoop(plan)) {
      const live = await plan.repo.updateLive(plan.contents)
      this.note(`Nothing changed: release ${plan.headRead.head!.release} stays current${live.written + live.deleted > 0 ? ` (live tree healed: ${live.written} written, ${live.deleted} removed)` : ''}.`)
      return publishResult(plan, {release: null, dryRun: false, uploaded: 0, live})
    }
    const run: {uploaded: number; manifest?: Manifest; live?: {written: number; deleted: number}} = {uploaded: 0}
    await this.progress(
      [
        {
          title: `Upload ${plan.newBlobs.length} new content(s)`,
          task: async (s, task) => {
            s.uploaded = await uploadBlobs(plan, (done, total) => {
              task.output = `${done}/${total}`
            })
          },
        },
        {
          title: 'Write the release manifest',
          task: async (s, task) => {
            s.manifest = await writeRelease(plan)
            task.title = `Write release ${s.manifest.id}`
          },
        },
        {
          title: 'Make it current (swap HEAD)',
          task: async (s) => {
            await plan.repo.swapHead(s.manifest!.id, plan.headRead)
          },
        },
        {
          title: 'Bring the live tree in line',
          task: async (s, task) => {
            s.live = await plan.repo.updateLiveAfterSwap(s.manifest!.id, plan.contents)
            task.title = `Live tree: ${s.live.written} written, ${s.live.deleted} removed`
          },
        },
      ],
      run,
    )
    this.note(`Published release ${run.manifest!.id} of ${pkg} to ${ctx.env}.`)
    return publishResult(plan, {release: run.manifest!.id, dryRun: false, uploaded: run.uploaded, live: run.live})
  }
}
