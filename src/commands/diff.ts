import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {environmentFlags, packageFlag, storeFlags} from '../flags.js'
import {openStoreContext, requirePackage} from '../release/context.js'
import {diffReleases, type DiffResult} from '../release/queries.js'
import {renderDiff} from '../release/render.js'

export default class Diff extends BaseCommand<typeof Diff> {
  static override summary = 'What would change (working folder against HEAD), or what changed between two releases.'
  static override description = 'Compares by content hash. With no argument: the dags folder against the current release. With one release id: the dags folder against that release. With two: the first release against the second (HEAD names the current one).'
  static override examples = [
    {description: 'What `publish` would change in prod', command: '<%= config.bin %> diff --env prod'},
    {description: 'What release 42 changed compared with 41', command: '<%= config.bin %> diff 41 42'},
    {description: 'What a rollback to 40 would change', command: '<%= config.bin %> diff HEAD 40 --env prod --json'},
  ]
  static override args = {
    from: Args.string({description: 'release id (or HEAD) to compare from'}),
    to: Args.string({description: 'release id (or HEAD) to compare to; default the working folder'}),
  }
  static override flags = {...environmentFlags, ...storeFlags, package: packageFlag}

  public async run(): Promise<DiffResult> {
    const ctx = await openStoreContext(() => this.loadConfig(), this.flags, this.args.to === undefined)
    const pkg = requirePackage(ctx)
    const c = ctx.config?.config
    const result = await diffReleases({
      store: ctx.store,
      env: ctx.env,
      pkg,
      from: this.args.from,
      to: this.args.to,
      dagsDir: c ? ctx.config!.resolvePath(c.dags) : undefined,
      root: ctx.root,
      extensions: c?.publish.extensions,
    })
    if (!this.jsonEnabled()) {
      this.log(`${pkg} in ${ctx.env}: ${result.from} → ${result.to}`)
      this.log(renderDiff(result.diff))
    }
    return result
  }
}
