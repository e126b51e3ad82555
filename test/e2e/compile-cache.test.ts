import {execa} from 'execa'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, HAS_COMPILE_CACHE} from '../helpers/cli.js'
import {budget} from '../helpers/budget.js'
import {tempDir} from '../helpers/tmp.js'

// Node's compile cache holds what V8 compiled with a chunk, not the functions it compiles lazily on
// their first call: bin/run.js has the bundle's chunks compiled whole where the cache is on, and
// nowhere else (scripts/bundle.mjs, eagerHelper). What V8 compiled is read from its own log
// (--log-function-events): `script-details,<id>,<url>` names a script, and a
// `function,parse-function,<id>,...` line is one function compiled lazily. No timed assertion: the
// start-up bench (bench/startup.bench.ts) has the times.
const REFUSED = ['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9']

interface Compiled {
  /** the bundle's functions V8 compiled lazily, as file:name */
  lazily: string[]
  /** how many of the bundle's chunks V8 read from the compile cache */
  deserialized: number
}

async function compiled(dir: string, env: Record<string, string> = {}): Promise<Compiled> {
  const log = path.join(dir, 'v8.log')
  const res = await execa('node', ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate', BIN, ...REFUSED], {
    cwd: dir,
    env: {NO_COLOR: '1', DAGCTL_CACHE_DIR: path.join(dir, '.cache'), NODE_COMPILE_CACHE: path.join(dir, 'node-compile-cache'), ...env},
    reject: false,
    timeout: budget(60_000),
  })
  expect(res.exitCode, res.stderr).toBe(5)
  const scripts = new Map<string, string>()
  const result: Compiled = {lazily: [], deserialized: 0}
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const fields = line.split(',')
    if (fields[0] === 'script-details') scripts.set(fields[1], fields[2])
    const script = scripts.get(fields[2]) ?? ''
    if (!script.includes('/dist/bundle/')) continue
    if (fields[0] === 'function' && fields[1] === 'parse-function') result.lazily.push(`${path.basename(script)}:${fields.at(-1)}`)
    if (fields[0] === 'script' && fields[1] === 'deserialize') result.deserialized++
  }
  return result
}

describe("the bundle and Node's compile cache", () => {
  it(HAS_COMPILE_CACHE ? 'a warm run compiles none of the functions of the bundle again' : 'Node 20 has no compile cache: the bundle compiles lazily, as before', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const first = await compiled(dir)
    const warm = await compiled(dir)
    if (HAS_COMPILE_CACHE) {
      expect(first.lazily).toEqual([]) // compiled whole, with its chunk
      expect(warm.deserialized).toBeGreaterThan(0) // from the cache
      expect(warm.lazily).toEqual([])
    } else {
      // compiling every function of a chunk would only cost where nothing keeps it
      expect(warm.deserialized).toBe(0)
      expect(warm.lazily.length).toBeGreaterThan(100)
    }
  })

  it('with the compile cache turned off (NODE_DISABLE_COMPILE_CACHE), the bundle compiles lazily', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    await compiled(dir, {NODE_DISABLE_COMPILE_CACHE: '1'})
    const warm = await compiled(dir, {NODE_DISABLE_COMPILE_CACHE: '1'})
    expect(warm.deserialized).toBe(0)
    expect(warm.lazily.length).toBeGreaterThan(100)
  })
})
