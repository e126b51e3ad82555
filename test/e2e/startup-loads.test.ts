import {execFileSync} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, inject, it} from 'vitest'

import {runCli, REPO_ROOT} from '../helpers/cli.js'
import {MOTO_ENV, startMoto, type Moto} from '../helpers/moto.js'
import {tempDir} from '../helpers/tmp.js'

// What a start-up loads, not how long it takes (no timed assertion: bench/startup.bench.ts has the
// times). The shipped build runs with a loader hook that logs every module it loads
// (test/fixtures/load-log/): a command loads its own chunks of the bundle and nothing of the others,
// so an import that drags `sync`'s or `cluster`'s dependencies into every command fails here.
const REGISTER = path.join(REPO_ROOT, 'test', 'fixtures', 'load-log', 'register.mjs')

/** urls: the files loaded; builtins: the node: modules loaded through the ES module loader (each with its facade); natives: every public builtin loaded, by any means; collator: whether ICU's collation ran */
async function loaded(args: string[], expectExit: number, dir = tempDir({'dagctl.yaml': 'package: team_a\n'}), env: NodeJS.ProcessEnv = {}): Promise<{urls: string[]; builtins: string[]; natives: string[]; collator: boolean; text: string}> {
  const log = path.join(dir, 'loads.txt')
  rmSync(log, {force: true})
  const res = await runCli(args, {cwd: dir, env: {...env, NODE_OPTIONS: `--import ${REGISTER}`, DAGCTL_TEST_LOAD_LOG: log, DAGCTL_CACHE_DIR: path.join(dir, '.cache')}})
  expect(res.exitCode, res.stderr).toBe(expectExit)
  const all = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))]
  const urls = all.filter((u) => u.startsWith('file:'))
  const text = urls.map((u) => readFileSync(new URL(u), 'utf8')).join('\n')
  return {urls, builtins: all.filter((u) => u.startsWith('node:')), natives: all.filter((u) => u.startsWith('native:')).map((u) => u.slice('native:'.length)), collator: all.includes('intl:collator'), text}
}

// what marks yaml, zod and the config schemas in the bundle's text (as esbuild writes them; it may
// suffix a name with a number when another chunk member has the same one, e.g. LineCounter2)
const CONFIG_LIBRARIES = [/var LineCounter\d* = class/, /\$constructor\("\$ZodType"/, /var DagctlConfigSchema\d* =/]

describe('what a start-up loads (the shipped bundle)', () => {
  let moto: Moto | undefined
  afterAll(async () => {
    await moto?.stop()
  })

  it('a trigger the allowlist refuses loads the bundle only: no Airflow client, no AWS SDK, no other command', async () => {
    const {urls, text} = await loaded(['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9'], 5)
    expect(urls.some((u) => /\/dist\/bundle(-cjs)?\//.test(u))).toBe(true)
    expect(urls.filter((u) => !/\/dist\/bundle(-cjs)?\//.test(u) && !u.endsWith('/bin/run.js'))).toEqual([])
    expect(text).toContain('is not on this package') // the allowlist's message: the right code ran
    // the classes as esbuild writes them (`var Name = class`): the client, the S3 store, the AWS SDK's client, three other commands
    for (const absent of ['AirflowClient', 'S3Store', 'S3Client', 'Sync', 'ClusterUp', 'Publish']) expect(text, absent).not.toMatch(new RegExp(`var ${absent}\\d* = class`))
  })

  it('a trigger that reaches for Airflow loads its client from the bundle, over node:http (no undici from node_modules)', async () => {
    const {urls, text} = await loaded(['trigger', 'team_a_x', '--airflow-url', 'http://127.0.0.1:9', '--retries', '0'], 4)
    expect(text).toMatch(/var AirflowClient\d* = class/)
    expect(urls.filter((u) => u.includes('/node_modules/'))).toEqual([])
    expect(text).not.toContain('llhttp') // undici's HTTP parser: not bundled either
  })

  it('a warm start (the config cache of the run before, src/config/cache.ts) loads neither yaml nor zod nor the config schemas', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const args = ['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9']
    const cold = await loaded(args, 5, dir)
    for (const marker of CONFIG_LIBRARIES) expect(cold.text, String(marker)).toMatch(marker) // the markers are the right ones
    const warm = await loaded(args, 5, dir)
    expect(warm.text).toContain('is not on this package')
    for (const marker of CONFIG_LIBRARIES) expect(warm.text, String(marker)).not.toMatch(marker)
    const version = await loaded(['--version'], 0, dir)
    for (const marker of CONFIG_LIBRARIES) expect(version.text, String(marker)).not.toMatch(marker)
    // --version is answered before oclif loads (src/bundle/version.ts); a trigger does load it
    const OCLIF = '@oclif/core/lib/config/config.js'
    expect(warm.text).toContain(OCLIF)
    expect(version.text).not.toContain(OCLIF)
  })

  it('a warm trigger that reaches for Airflow (and writes a dead letter) loads no yaml or zod either: the event mapping is for --event', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const args = ['trigger', 'team_a_x', '--airflow-url', 'http://127.0.0.1:9', '--retries', '0']
    await loaded(args, 4, dir) // cold: fills the config cache
    const warm = await loaded(args, 4, dir)
    expect(warm.text).toMatch(/var AirflowClient\d* = class/)
    expect(warm.text).toContain('function triggerOrDeadLetter')
    for (const marker of CONFIG_LIBRARIES) expect(warm.text, String(marker)).not.toMatch(marker)
  })

  it('a trigger loads neither node:crypto nor node:child_process nor node:fs/promises (6-8, 4-5 and 1.6 ms of CPU): not for the config cache, the run id, the dead letter, oclif asking whether this is WSL, nor oclif reading its manifest', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const refused = ['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9']
    const reaching = ['trigger', 'team_a_x', '--airflow-url', 'http://127.0.0.1:9', '--retries', '0']
    for (const [args, code] of [[refused, 5], [reaching, 4], [refused, 5], [reaching, 4]] as const) {
      const {natives} = await loaded([...args], code, dir) // cold (writes the config cache), then warm
      expect(natives).toContain('fs') // the list is the real one
      expect(natives, args.join(' ')).not.toContain('crypto')
      expect(natives, args.join(' ')).not.toContain('child_process')
      expect(natives, args.join(' ')).not.toContain('fs/promises')
    }
    expect(readFileSync(path.join(dir, '.dagctl', 'trigger-dead-letters.jsonl'), 'utf8')).toMatch(/"id":"[0-9a-f]{16}".*"run_id":"dagctl__\d{8}T\d{6}Z_[0-9a-f]{8}"/)
    // an event's correlation id still names its run through SHA-256 (the id a retry after an upgrade must find again)
    const {natives} = await loaded([...reaching, '--correlation-id', 'evt-1'], 4, dir)
    expect(natives).toContain('crypto')
  })

  it("a trigger builds no ICU collator (5-7 ms of CPU): oclif's command list is sorted by code point (OCLIF_REWRITES)", async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    for (const [args, code] of [[['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9'], 5], [['trigger', 'team_a_x', '--airflow-url', 'http://127.0.0.1:9', '--retries', '0'], 4]] as const) {
      expect((await loaded([...args], code, dir)).collator, args.join(' ')).toBe(false)
    }
    // the log does see one
    const log = path.join(dir, 'control.txt')
    execFileSync(process.execPath, ['--import', REGISTER, '-e', "'a'.localeCompare('b')"], {env: {...process.env, DAGCTL_TEST_LOAD_LOG: log}})
    expect(readFileSync(log, 'utf8')).toContain('intl:collator')
  })

  it("binds oclif's templates, globbing, plugin patterns, help, spinners, stdin flags, fs/promises, performance marks and child processes lazily (scripts/bundle.mjs), and help still renders through them", async () => {
    const {text} = await loaded(['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9'], 5)
    // the fourteen bindings of OCLIF_LAZY_REQUIRES, in the chunk every command loads
    expect(text.match(/= __dagctlLazy\(\(\) => /g)).toHaveLength(14)
    for (const binding of ['ejs_1', 'tinyglobby_1', 'minimatch_1', 'index_1', 'help_1', 'lilconfig_1', 'cli_spinners_1', 'node_readline_1', 'promises_1', 'node_perf_hooks_1', 'node_child_process_1']) expect(text).toMatch(new RegExp(`var ${binding} = __dagctlLazy\\(`))
    // OCLIF_UNBUNDLED and semver: not in the bundle at all, required from @oclif/core's folder on first use
    for (const unbundled of ['ejs', 'tinyglobby', 'minimatch', 'lilconfig', 'cli-spinners', 'semver']) {
      expect(text, unbundled).not.toContain(`node_modules/${unbundled}/`)
      expect(text, unbundled).toContain(`__dagctlOclifRequire("${unbundled}")`)
    }
    // the --help flag (flags.js's help), the examples' <%= config.bin %> (ejs, from node_modules), the root help with its plugins
    const help = await loaded(['publish', '--help'], 0)
    expect(help.urls.some((u) => /\/node_modules\/(@oclif\/core\/node_modules\/)?ejs\//.test(u)), 'ejs read from node_modules').toBe(true)
    const helpText = (await runCli(['publish', '--help'])).stdout
    expect(helpText).toContain('$ dagctl publish')
    expect(helpText).not.toContain('<%')
    const root = await runCli(['--help'])
    expect(root.stdout).toMatch(/^ {2}trigger +Start a DAG run/m)
  })

  it("a refused trigger never starts Node's ES module loader: bin/run.js, the loader and the bundle's copy are CommonJS (3-4 ms of CPU); --verbose runs the ES bundle", async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    // without the load-log hook (an ES module loader's own): NODE_DEBUG=esm has Node's loader say what it does
    const esmDebug = async (extra: string[]) => {
      const res = await runCli(['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9', ...extra], {cwd: dir, env: {NODE_DEBUG: 'esm'}})
      expect(res.exitCode, res.stderr).toBe(5)
      return res.stderr.split('\n').filter((line) => /^ESM \d+:/.test(line))
    }
    expect((await esmDebug(['--verbose'])).length).toBeGreaterThan(0)
    expect(await esmDebug([])).toEqual([])
  })

  it('a warm refused trigger reads 17 files of the bundle: the command index is part of oclif.js, the allowlist no chunk of its own', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const args = ['trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9']
    await loaded(args, 5, dir) // cold: fills the config cache
    const {urls} = await loaded(args, 5, dir)
    const chunks = urls.filter((u) => /\/dist\/bundle(-cjs)?\//.test(u))
    // each file is one more module for the ES loader to resolve, read, link and run (0.2 ms of CPU on Node 24, 0.4 on 20)
    expect(chunks.length, chunks.join('\n')).toBeLessThanOrEqual(17)
    expect(chunks.some((u) => /\/dist\/bundle(-cjs)?\/commands\.c?js$/.test(u))).toBe(false)
  })

  it('publish --json draws no progress, so it loads no listr2; without --json its steps show through listr2', async () => {
    const files = {'dagctl.yaml': 'package: team_a\nenvironments:\n  dev:\n    store: file://store\n', 'dags/team_a_a.py': 'a = 1\n'}
    const json = await loaded(['publish', '--no-validate', '--json'], 0, tempDir(files))
    expect(json.text).toContain('Make release') // publish's own code loaded
    expect(json.urls.filter((u) => u.includes('/node_modules/listr2/'))).toEqual([])
    const human = await loaded(['publish', '--no-validate'], 0, tempDir(files))
    expect(human.urls.filter((u) => u.includes('/node_modules/listr2/')).length).toBeGreaterThan(0)
  })

  it("takes Node's builtins as they are, through no ES module facade: none of the bundle's imports of them, static or dynamic (the AWS SDK's import('node:http') on an S3 request)", async () => {
    moto = await startMoto(inject('testPython'))
    await moto.createBucket('loads')
    const dir = tempDir({'dagctl.yaml': 'package: team_a\n'})
    const {text, builtins} = await loaded(['list', '--store', 's3://loads/dagctl', '--endpoint', moto.endpoint, '--json'], 0, dir, MOTO_ENV)
    expect(text).toMatch(/var S3Client\d* = class/) // the SDK's client ran
    // bin/run.js's own two imports are all: a facade reads every export of its builtin (on Node 24
    // and 26, node:http's lazy getters load undici)
    expect(builtins.filter((b) => b !== 'node:module' && b !== 'node:url')).toEqual([])
  })
})
