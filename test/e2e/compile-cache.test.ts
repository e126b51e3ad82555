import {execa} from 'execa'
import {chmodSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN} from '../helpers/cli.js'
import {budget} from '../helpers/budget.js'
import {tempDir} from '../helpers/tmp.js'

// The bundle runs from its CommonJS copy (dist/bundle-cjs/), which src/bundle/commonjs-loader.ts
// compiles with the code V8 kept from the earlier runs (what they called), on every Node line; Node's
// own compile cache kept only what V8 compiled with a module, not the functions it compiles lazily on
// their first call, and is not on Node 20. What V8 compiled is read from its own log
// (--log-function-events): `script-details,<id>,<url>` names a script, a
// `function,parse-function,<id>,...` line is one function compiled lazily,
// `script,deserialize,<id>` a script read from a cache, and a `script,create,<id>` with no details
// code compiled from a string (eval, new Function). No timed assertion: the start-up bench
// (bench/startup.bench.ts) has the times.
const REFUSED = ['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9']

interface Compiled {
  /** the bundle's functions V8 compiled lazily, as file:name */
  lazily: string[]
  /** how many of the bundle's chunks V8 read from the compile cache */
  deserialized: number
  /** the folders of dist/ the chunks came from */
  copies: string[]
  /** scripts compiled from a string at run time (eval, new Function): created, with no script-details */
  evaluated: number
}

// a chunk of the bundle, or of its CommonJS copy; not the loader of that copy (loader.cjs, which Node
// loads: on Node 20, its few functions compiled at each start)
const CHUNK = /\/dist\/(bundle|bundle-cjs)\/(?!loader\.cjs$)[^/]+$/

async function compiled(dir: string, env: Record<string, string> = {}, args = REFUSED, exit = 5): Promise<Compiled> {
  const log = path.join(dir, 'v8.log')
  const res = await execa('node', ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate', BIN, ...args], {
    cwd: dir,
    env: {NO_COLOR: '1', DAGCTL_CACHE_DIR: path.join(dir, '.cache'), NODE_COMPILE_CACHE: path.join(dir, 'node-compile-cache'), ...env},
    reject: false,
    timeout: budget(60_000),
  })
  expect(res.exitCode, res.stderr).toBe(exit)
  return readV8Log(log)
}

function readV8Log(log: string): Compiled {
  const scripts = new Map<string, string>()
  const created = new Set<string>()
  const result: Compiled = {lazily: [], deserialized: 0, copies: [], evaluated: 0}
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const fields = line.split(',')
    if (fields[0] === 'script-details') scripts.set(fields[1], fields[2])
    if (fields[0] === 'script' && fields[1] === 'create') created.add(fields[2])
    const script = scripts.get(fields[2]) ?? ''
    const chunk = CHUNK.exec(script)
    if (!chunk) continue
    if (!result.copies.includes(chunk[1])) result.copies.push(chunk[1])
    if (fields[0] === 'function' && fields[1] === 'parse-function') result.lazily.push(`${path.basename(script)}:${fields.at(-1)}`)
    if (fields[0] === 'script' && fields[1] === 'deserialize') result.deserialized++
  }
  result.evaluated = [...created].filter((id) => !scripts.has(id)).length
  return result
}

describe("the bundle's compile cache", () => {
  it('a warm run compiles none of the functions of the bundle again, though the first run took another path', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const first = await compiled(dir) // refused, with no config cache yet
    expect(first.lazily.length).toBeGreaterThan(0) // what it called, compiled as it called it
    // one that reaches for Airflow (nothing listens: exit 4) runs what the refused one did not
    const unreachable = ['trigger', 'team_a_x', '--airflow-url', 'http://127.0.0.1:9', '--retries', '0']
    const second = await compiled(dir, {}, unreachable, 4)
    expect(second.lazily.length).toBeGreaterThan(0) // and adds it to the caches
    const warm = await compiled(dir, {}, unreachable, 4)
    expect(warm.copies).toEqual(['bundle-cjs'])
    expect(warm.deserialized).toBeGreaterThan(0) // from the cache
    expect(warm.lazily).toEqual([])
    // where Node keeps its own (NODE_COMPILE_CACHE), under the build's key
    const ours = readdirSync(path.join(dir, 'node-compile-cache')).filter((d) => d.startsWith('dagctl-'))
    expect(ours).toHaveLength(1)
    // and each command's own: what trigger called is not what publish calls
    expect(readdirSync(path.join(dir, 'node-compile-cache', ours[0]))).toEqual(['trigger'])
  })

  it('a cold start compiles no parser zod writes at run time: config files are validated with its JIT off (src/config/load.ts)', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n', 'not-a-folder': ''})
    // no config cache (a folder that cannot be made): yaml and zod validate dagctl.yaml
    const cold = await compiled(dir, {DAGCTL_CACHE_DIR: path.join(dir, 'not-a-folder', 'cache')})
    // zod's one probe of whether new Function is allowed, and no parser of an object schema (one per object it parsed)
    expect(cold.evaluated).toBeLessThanOrEqual(1)
    // the count sees a new Function
    const log = path.join(dir, 'control.log')
    await execa('node', ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate', '-e', "new Function('return 1')(); new Function('return 2')()"], {timeout: budget(60_000)})
    expect(readV8Log(log).evaluated).toBe(2)
  })

  it("an import() in a chunk read from the cache still loads its module: publish's progress, through listr2", async () => {
    // V8 keeps no import() callback with a cached script: the CommonJS copy imports through the
    // loader instead (scripts/bundle.mjs, DYNAMIC_IMPORT_AS_REQUIRE)
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    store: file://store\n', 'dags/team_a_a.py': 'a = 1\n'})
    const env = {NO_COLOR: '1', DAGCTL_CACHE_DIR: path.join(dir, '.cache'), NODE_COMPILE_CACHE: path.join(dir, 'node-compile-cache')}
    for (const [i, file] of ['team_a_b.py', 'team_a_c.py'].entries()) {
      writeFileSync(path.join(dir, 'dags', file), `b = ${i}\n`)
      const res = await execa('node', [BIN, 'publish', '--no-validate', '-m', file], {cwd: dir, env, reject: false, timeout: budget(60_000)})
      expect(res.exitCode, res.stderr).toBe(0)
      expect(res.stderr).toContain('Make release') // a step's title, drawn by listr2
    }
  })

  it('with the compile cache turned off (NODE_DISABLE_COMPILE_CACHE), the ES bundle runs, compiled lazily', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    await compiled(dir, {NODE_DISABLE_COMPILE_CACHE: '1'})
    const warm = await compiled(dir, {NODE_DISABLE_COMPILE_CACHE: '1'})
    expect(warm.copies).toEqual(['bundle'])
    expect(warm.deserialized).toBe(0)
    expect(warm.lazily.length).toBeGreaterThan(100)
  })

  it("a cache in a folder others can write is not read: its code could be another user's", async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    await compiled(dir)
    const [ours] = readdirSync(path.join(dir, 'node-compile-cache')).filter((d) => d.startsWith('dagctl-'))
    for (const folder of [ours, path.join(ours, 'trigger')]) {
      const full = path.join(dir, 'node-compile-cache', folder)
      chmodSync(full, 0o777) // as a shared temp folder's would be, had another user made it
      const again = await compiled(dir)
      expect(again.deserialized).toBe(0)
      expect(again.lazily.length).toBeGreaterThan(100)
      chmodSync(full, 0o700)
    }
    expect((await compiled(dir)).deserialized).toBeGreaterThan(0) // its own again: read
  })

  it('a cache that cannot be written costs only the compile: the run succeeds, and compiles lazily', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n', 'node-compile-cache': 'a file, not a folder'})
    await compiled(dir)
    const again = await compiled(dir)
    expect(again.deserialized).toBe(0)
    expect(again.lazily.length).toBeGreaterThan(100)
  })
})
