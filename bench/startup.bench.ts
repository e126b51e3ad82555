/**
 * Start-up: `dagctl --version` and a command that fails fast (a trigger the allowlist refuses: config
 * loaded, no request) beside `node -e 0`, wall and CPU (user + system, through child_time.py), on
 * every Node found (bench/node-lines.ts: the one running the bench, then DAGCTL_BENCH_NODES or the
 * lines .ci/run installed). The refused trigger runs warm (the config cache of src/config/cache.ts
 * holds the validated dagctl.yaml, as on every run after the first) and cold (a cache folder that
 * cannot be written: yaml and zod load every time). Goal: CPU and wall within 2x of `node -e 0`.
 * runq: time waiting for a core (the machine's load; child_time.py). Node runs without
 * NODE_EXTRA_CA_CERTS (bench/node-lines.ts, nodeEnv), and once more with it where it is set.
 * DAGCTL_BENCH_BEFORE=/path/to/an/older/bin/run.js adds that build's rows, measured in the same run.
 * Benchmarks print; they assert nothing.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {benchNodes, nodeEnv} from './node-lines.js'

const N = Number(process.env.BENCH_N ?? 15)
const REPO = path.resolve(import.meta.dirname, '..')
const BIN = path.join(REPO, 'bin', 'run.js')

interface Sample {wall: number; cpu: number; runq: number; code: number}

function run(node: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Sample {
  const out = execFileSync('python3', [path.join(REPO, 'bench', 'child_time.py'), node, ...args], {cwd, env: {...nodeEnv(), NO_COLOR: '1', ...env}, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  return JSON.parse(out) as Sample
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export default async function bench(): Promise<void> {
  const nodes = benchNodes()
  const project = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-startup-'))
  writeFileSync(path.join(project, 'dagctl.yaml'), 'package: team_a\n')
  writeFileSync(path.join(project, 'not-a-folder'), '')
  const cold = {DAGCTL_CACHE_DIR: path.join(project, 'not-a-folder', 'cache')}
  try {
    for (const node of nodes) {
      const version = execFileSync(node, ['--version'], {encoding: 'utf8'}).trim()
      const refused = [BIN, 'trigger', 'other_pkg_job', '--airflow-url', 'http://127.0.0.1:9']
      const rows: Array<[string, string[], number, NodeJS.ProcessEnv?]> = [
        ['node -e 0', ['-e', '0'], 0],
        ['dagctl --version', [BIN, '--version'], 0],
        ['dagctl trigger refused by the allowlist (exit 5)', refused, 5],
        ['  the same, no config cache (cold)', refused, 5, cold],
      ]
      // an older build beside this one, in the same run under the same load
      const before = process.env.DAGCTL_BENCH_BEFORE && path.resolve(process.env.DAGCTL_BENCH_BEFORE)
      if (before) {
        const refusedBefore = [before, ...refused.slice(1)]
        rows.push(['before: dagctl --version', [before, '--version'], 0], ['before: trigger refused (exit 5)', refusedBefore, 5], ['before:   the same, cold', refusedBefore, 5, cold])
      }
      // what every Node start pays where NODE_EXTRA_CA_CERTS is set, as on this machine (not in the other rows: bench/node-lines.ts)
      const caFile = process.env.NODE_EXTRA_CA_CERTS
      if (caFile) rows.push(['node -e 0, with NODE_EXTRA_CA_CERTS as set here', ['-e', '0'], 0, {NODE_EXTRA_CA_CERTS: caFile}])
      const samples = rows.map(() => [] as Sample[])
      for (const [, args, , env] of rows) run(node, args, project, env) // warm-up (page cache, compile cache, config cache)
      for (let i = 0; i < N; i++) rows.forEach(([, args, , env], r) => samples[r].push(run(node, args, project, env)))
      const load = os.loadavg().map((l) => l.toFixed(1)).join(' ')
      console.log(`\nNode ${version}: median of ${N}, ${os.cpus().length} cores, load average ${load}`)
      console.log(`${'what'.padEnd(52)}  ${'wall'.padStart(8)}  ${'cpu'.padStart(8)}  ${'runq'.padStart(8)}  ${'x node'.padStart(12)}  bad exits`)
      const base = {wall: median(samples[0].map((s) => s.wall)), cpu: median(samples[0].map((s) => s.cpu))}
      rows.forEach(([name, , code], r) => {
        const wall = median(samples[r].map((s) => s.wall))
        const cpu = median(samples[r].map((s) => s.cpu))
        const runq = median(samples[r].map((s) => s.runq))
        const bad = samples[r].filter((s) => s.code !== code).length
        console.log(`${name.padEnd(52)}  ${(wall * 1000).toFixed(0).padStart(5)} ms  ${(cpu * 1000).toFixed(0).padStart(5)} ms  ${(runq * 1000).toFixed(0).padStart(5)} ms  ${(wall / base.wall).toFixed(1).padStart(4)}w ${(cpu / base.cpu).toFixed(2).padStart(5)}c  ${bad}/${N}`)
      })
    }
  } finally {
    rmSync(project, {recursive: true, force: true})
  }
}

