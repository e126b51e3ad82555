/**
 * `dagctl discover` over a 10,000-file monorepo (300 jobs among them, 10 % of the other files
 * mentioning JOB in a comment), beside its floor: one python3 that only reads and ast.parses every
 * file (bench/ast_floor.py). Then `dagctl generate` of a package with 1,000 jobs. Each run is a
 * cold process of the built binary. Goals: discover ≤ 1.5× the floor; generate of 1,000 jobs < 2 s.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'

const REPO = path.resolve(import.meta.dirname, '..')
const BIN = path.join(REPO, 'bin', 'run.js')
const FILES = 10_000
const JOBS = 300
const GENERATE_JOBS = 1000

interface Row {
  label: string
  seconds: number
  cpu?: number
  status: number | null
  out: string
}

function timed(label: string, cmd: string, args: string[], cwd: string): Row {
  const start = performance.now()
  const res = spawnSync('bash', ['-c', 'TIMEFORMAT="cpu %3U %3S"; time "$@"', 'bench', cmd, ...args], {cwd, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, maxBuffer: 256 * 1024 * 1024})
  const seconds = (performance.now() - start) / 1000
  const stderr = res.stderr.trim().split('\n')
  const cpuLine = /^cpu ([\d.]+) ([\d.]+)$/.exec(stderr.at(-1) ?? '')
  const out = `${res.stdout}\n${stderr.slice(0, cpuLine ? -1 : undefined).join('\n')}`.trim().split('\n').at(-1) ?? ''
  return {label, seconds, cpu: cpuLine ? Number(cpuLine[1]) + Number(cpuLine[2]) : undefined, status: res.status, out: out.slice(0, 90)}
}

const moduleText = (i: number, mentionsJob: boolean): string =>
  [
    `"""Module ${i}: helpers for the ingestion of region ${i % 13}."""`,
    'import json',
    'import os',
    '',
    mentionsJob ? '# used by the JOB of this package' : '# helpers',
    `LIMIT = ${i % 97}`,
    '',
    '',
    `def transform_${i}(rows, factor=2):`,
    '    out = []',
    '    for row in rows:',
    '        if row.get("skip"):',
    '            continue',
    '        out.append({k: v * factor if isinstance(v, int) else v for k, v in row.items()})',
    '    return out',
    '',
    '',
    `class Loader${i}:`,
    '    def __init__(self, path):',
    '        self.path = path',
    '',
    '    def load(self):',
    '        with open(self.path) as f:',
    '            return json.load(f)',
    '',
  ].join('\n')

const jobText = (i: number): string =>
  [
    `"""Job ${i}."""`,
    'import sys',
    '',
    `SCHEDULE = "${i % 60} ${i % 24} * * *"`,
    `TENANT = "t${i % 10}"`,
    'RETRIES = {"max_retries": 2, "initial_delay": 30, "backoff_multiplier": 2, "retryable_exit_codes": [75]}',
    '',
    '',
    'def main(argv):',
    '    print(argv)',
    '    return 0',
    '',
    '',
    `JOB = (main, "Job number ${i}.")`,
    '',
    'if __name__ == "__main__":',
    '    sys.exit(JOB[0](sys.argv[1:]))',
    '',
  ].join('\n')

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, text)
}

export default async function bench(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-discover-'))
  try {
    // 50 packages; jobs spread evenly; the other files in nested folders of jobs/ and lib/.
    const every = Math.floor(FILES / JOBS)
    for (let i = 0; i < FILES; i++) {
      const pkg = `p${String(i % 50).padStart(2, '0')}`
      const isJob = i % every === 0 && i / every < JOBS
      const where = isJob || i % 2 === 0 ? `jobs/area_${i % 7}` : `lib/sub_${i % 5}`
      write(path.join(root, 'packages', pkg, where, `m_${i}.py`), isJob ? jobText(i) : moduleText(i, i % 10 === 1))
    }
    const big = path.join(root, 'big')
    write(path.join(big, 'packages', 'bench', 'dagctl.yaml'), 'package: bench\npolicy:\n  owner: bench\n  tags: [bench]\ndiscover:\n  root: ../..\n  image: registry.example.com/jobs/{package}:1\n')
    for (let i = 0; i < GENERATE_JOBS; i++) write(path.join(big, 'packages', 'bench', 'jobs', `job_${String(i).padStart(4, '0')}.py`), jobText(i))

    const pkgDir = path.join(big, 'packages', 'bench')
    const rows: Row[] = [
      timed(`discover, ${FILES} files (${JOBS} jobs)`, 'node', [BIN, 'discover', '--root', root, '--json'], root),
      timed('floor: one python3 reading + ast.parse of every file', 'python3', [path.join(REPO, 'bench', 'ast_floor.py'), path.join(root, 'packages')], root),
      timed('node + oclif startup only (dagctl --version)', 'node', [BIN, '--version'], root),
      timed(`generate, ${GENERATE_JOBS} jobs, cold (writes all)`, 'node', [BIN, 'generate'], pkgDir),
      timed('generate again (nothing changed)', 'node', [BIN, 'generate'], pkgDir),
    ]
    const width = Math.max(...rows.map((r) => r.label.length))
    const num = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(3)).padStart(7)
    console.log(`${'what'.padEnd(width)}  wall s    cpu s  exit  last line of output`)
    for (const r of rows) console.log(`${r.label.padEnd(width)}  ${num(r.seconds)}  ${num(r.cpu)}  ${String(r.status ?? '-').padStart(4)}  ${r.label.startsWith('discover') ? '(JSON)' : r.out}`)
    console.log(`load average while measuring: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`)
    console.log(`discover / floor = ${(rows[0].seconds / rows[1].seconds).toFixed(2)}× (goal ≤ 1.5×)`)
    console.log(`goal: generate of ${GENERATE_JOBS} jobs < 2 s (got ${rows[3].seconds.toFixed(2)} s)`)
  } finally {
    rmSync(root, {recursive: true, force: true})
  }
}
