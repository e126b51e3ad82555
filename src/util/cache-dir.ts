import os from 'node:os'
import path from 'node:path'

/** Where dagctl keeps heavy, rebuildable things: $DAGCTL_CACHE_DIR, else $XDG_CACHE_HOME/dagctl, else ~/.cache/dagctl. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DAGCTL_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'dagctl')
}
