/**
 * Every command, by id: the target of oclif's explicit command strategy (package.json
 * oclif.commands), exported from src/bundle/oclif.ts so that it is part of the bundle's oclif.js,
 * which bin/run.js has loaded already. Each entry is a stand-in whose `run` imports its command's
 * module when that command runs, so the bundle (scripts/bundle.mjs) splits every command into a
 * chunk of its own and `dagctl trigger` never evaluates `cluster up`'s or `sync`'s code (the AWS
 * SDK, pino, prom-client). oclif takes everything else it needs before `run` (flags, help, the
 * command list) from oclif.manifest.json, which scripts/manifest.mjs writes from the command classes
 * themselves. test/unit/commands-index.test.ts holds this list to src/commands/.
 */
import type {Command, Config} from '@oclif/core'

type Loader = () => Promise<{default: Command.Class}>

export const COMMAND_LOADERS: Record<string, Loader> = {
  'cluster:down': () => import('../commands/cluster/down.js'),
  'cluster:status': () => import('../commands/cluster/status.js'),
  'cluster:up': () => import('../commands/cluster/up.js'),
  config: () => import('../commands/config.js'),
  diff: () => import('../commands/diff.js'),
  discover: () => import('../commands/discover.js'),
  doctor: () => import('../commands/doctor.js'),
  errors: () => import('../commands/errors.js'),
  fsck: () => import('../commands/fsck.js'),
  generate: () => import('../commands/generate.js'),
  init: () => import('../commands/init.js'),
  list: () => import('../commands/list.js'),
  'pools:sync': () => import('../commands/pools/sync.js'),
  publish: () => import('../commands/publish.js'),
  'python:setup': () => import('../commands/python/setup.js'),
  releases: () => import('../commands/releases.js'),
  rollback: () => import('../commands/rollback.js'),
  runs: () => import('../commands/runs.js'),
  schema: () => import('../commands/schema.js'),
  sync: () => import('../commands/sync.js'),
  trigger: () => import('../commands/trigger.js'),
  validate: () => import('../commands/validate.js'),
}

/** The stand-in oclif finds for one id: oclif sets `id` and `plugin` on it, and calls `run`. */
function lazyCommand(load: Loader): Command.Class {
  return class {
    static id: string
    static plugin: Command.Class['plugin']

    static async run(argv?: string[], config?: Config): Promise<unknown> {
      const {default: real} = await load()
      real.id = this.id
      real.plugin = this.plugin
      return real.run(argv, config)
    }
  } as unknown as Command.Class
}

export const COMMANDS: Record<string, Command.Class> = Object.fromEntries(Object.entries(COMMAND_LOADERS).map(([id, load]) => [id, lazyCommand(load)]))
