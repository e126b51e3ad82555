import type {ResolvedConfig} from '../config/load.js'
import {ConfigError, UsageError} from '../errors.js'
import {openStore, type Store} from '../store/index.js'

export interface StoreContext {
  store: Store
  env: string
  /** undefined when neither --package nor a dagctl.yaml names one */
  pkg?: string
  /** the package root (folder of dagctl.yaml), or the current folder without one */
  root: string
  config?: ResolvedConfig
}

/**
 * dagctl.yaml when there is one. Ops in an incident may have none at hand: with --store (and
 * --package) the read commands and rollback work from any folder.
 */
export async function openStoreContext(
  load: () => ResolvedConfig,
  flags: {env: string; store?: string; endpoint?: string; package?: string},
  needConfig = false,
): Promise<StoreContext> {
  let config: ResolvedConfig | undefined
  const storeUrl = flags.store ?? process.env.DAGCTL_STORE
  try {
    config = load()
  } catch (error) {
    if (needConfig || !(error instanceof ConfigError && error.code === 'CONFIG_MISSING' && storeUrl)) throw error
  }
  const root = config?.root ?? process.cwd()
  const url = config?.environment.store ?? storeUrl!
  const store = await openStore({url, root, s3: config?.environment.s3, endpoint: flags.endpoint})
  return {store, env: config?.envName ?? flags.env, pkg: flags.package ?? config?.config.package, root, config}
}

export function requirePackage(ctx: StoreContext): string {
  if (!ctx.pkg) {
    throw new UsageError('which package? No dagctl.yaml here names one', {code: 'PACKAGE_MISSING', hint: 'Run inside the package (where dagctl.yaml is) or pass --package NAME.'})
  }
  return ctx.pkg
}
