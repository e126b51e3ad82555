/**
 * `dagctl generate` over 1,000 realistic specs (5–8 tasks of mixed types), each run a cold
 * process of the built binary, as CI runs it. When validate is built, also `dagctl validate
 * --engine ast` over the 1,000 generated files beside its floor: one python3 that only reads and
 * ast.parses them (bench/ast_floor.py). Goals: generate < 2 s; validate ≤ 1.5× the floor.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'

const REPO = path.resolve(import.meta.dirname, '..')
const BIN = path.join(REPO, 'bin', 'run.js')
const SPECS = 1000

/** Deterministic pseudo-random numbers, so every run benches the same corpus. */
export function rng(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648
    return s / 2_147_483_648
  }
}

export function specText(i: number, rand: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]
  const taskCount = 5 + Math.floor(rand() * 4)
  const lines = [
    `name: pipeline_${String(i).padStart(4, '0')}`,
    `description: "Pipeline ${i}: extract, transform and load the orders of region ${i % 7}"`,
    `schedule: ${pick(['"0 6 * * *"', '"@daily"', '6h', '30m', 'null', '"15 */2 * * 1-5"'])}`,
    'timezone: Europe/Berlin',
    'start_date: "2024-01-01"',
    `tags: [${pick(['orders', 'billing', 'marketing'])}, tier-${i % 3}]`,
    'params:',
    `  region: r${i % 7}`,
    `  batch_size: ${100 * (1 + (i % 5))}`,
    'default_args:',
    `  retries: ${i % 4}`,
    '  execution_timeout: 2h',
    'tasks:',
    '  start:',
    '    type: empty',
  ]
  const ids = ['start']
  for (let t = 1; t < taskCount; t++) {
    const id = `step_${t}`
    const type = t === taskCount - 1 ? 'empty' : pick(['kubernetes_pod', 'kubernetes_pod', 'python', 'bash'])
    const deps = [ids[ids.length - 1], ...(t > 2 && rand() < 0.3 ? [ids[ids.length - 2]] : [])]
    lines.push(`  ${id}:`, `    type: ${type}`, `    depends_on: [${deps.join(', ')}]`)
    if (type === 'kubernetes_pod') {
      lines.push(
        '    cmds: ["python", "-m", "jobs.step"]',
        `    arguments: ["--date", "{{ ds }}", "--step", "${t}"]`,
        '    resources:',
        '      requests: {cpu: 500m, memory: 512Mi}',
        '      limits: {memory: 1Gi}',
        '    env: {LOG_LEVEL: info}',
      )
      if (rand() < 0.3) lines.push('    secrets:', '      - {secret: db, key: password, env: DB_PASSWORD}')
    } else if (type === 'python') {
      lines.push(`    callable: jobs.step_${t}:main`, `    argv: ["--step", "${t}"]`)
    } else if (type === 'bash') {
      lines.push(`    command: echo "step ${t} of {{ ds }}" && ./run.sh ${t}`)
    }
    ids.push(id)
  }
  return `${lines.join('\n')}\n`
}

interface Row {
  label: string
  /** wall-clock seconds */
  seconds: number
  /** user + system CPU seconds of the process (and its threads): fairer than wall time on a busy machine */
  cpu?: number
  status: number | null
  out: string
}

/** Runs one cold process under bash's `time`, for its wall and CPU time. */
function timed(label: string, cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Row {
  const start = performance.now()
  const res = spawnSync('bash', ['-c', 'TIMEFORMAT="cpu %3U %3S"; time "$@"', 'bench', cmd, ...args], {
    cwd,
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', ...env},
    maxBuffer: 64 * 1024 * 1024,
  })
  const seconds = (performance.now() - start) / 1000
  const stderr = res.stderr.trim().split('\n')
  const cpuLine = /^cpu ([\d.]+) ([\d.]+)$/.exec(stderr.at(-1) ?? '')
  const out = `${res.stdout}\n${stderr.slice(0, cpuLine ? -1 : undefined).join('\n')}`.trim().split('\n').at(-1) ?? ''
  return {label, seconds, cpu: cpuLine ? Number(cpuLine[1]) + Number(cpuLine[2]) : undefined, status: res.status, out}
}

export default async function bench(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-generate-'))
  try {
    writeFileSync(
      path.join(root, 'dagctl.yaml'),
      'package: bench\nimage: registry.example.com/bench/jobs:1\npolicy:\n  owner: bench\n  retries: 1\n  tags: [bench]\n  allowed_registries: [registry.example.com/]\n',
    )
    mkdirSync(path.join(root, 'specs'))
    const rand = rng(42)
    for (let i = 0; i < SPECS; i++) writeFileSync(path.join(root, 'specs', `pipeline_${String(i).padStart(4, '0')}.yaml`), specText(i, rand))

    const rows: Row[] = [
      timed(`generate, ${SPECS} specs, cold (writes all)`, 'node', [BIN, 'generate'], root),
      timed(`generate again (nothing changed)`, 'node', [BIN, 'generate'], root),
      timed(`generate --check`, 'node', [BIN, 'generate', '--check'], root),
      timed(`node + oclif startup only (dagctl --version)`, 'node', [BIN, '--version'], root),
    ]
    const generated = path.join(root, 'dags', 'generated')
    let ratio: string | undefined
    if (existsSync(path.join(REPO, 'dist', 'commands', 'validate.js'))) {
      const validate = timed(`validate --engine ast, ${SPECS} files`, 'node', [BIN, 'validate', '--engine', 'ast'], root)
      const floor = timed(`floor: one python3 reading + ast.parse`, 'python3', [path.join(REPO, 'bench', 'ast_floor.py'), generated], root)
      rows.push(validate, floor)
      ratio = `validate / floor = ${(validate.seconds / floor.seconds).toFixed(2)}× (goal ≤ 1.5×)`
    } else {
      rows.push({label: 'validate: not built (dist/commands/validate.js missing): skipped', seconds: Number.NaN, status: null, out: ''})
    }
    const width = Math.max(...rows.map((r) => r.label.length))
    const num = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(3)).padStart(7)
    console.log(`${'what'.padEnd(width)}  wall s    cpu s  exit  last line of output`)
    for (const r of rows) console.log(`${r.label.padEnd(width)}  ${num(r.seconds)}  ${num(r.cpu)}  ${String(r.status ?? '-').padStart(4)}  ${r.out}`)
    console.log(`load average while measuring: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`)
    console.log(`goal: generate of ${SPECS} specs < 2 s (got ${rows[0].seconds.toFixed(2)} s)`)
    if (ratio) console.log(ratio)
  } finally {
    rmSync(root, {recursive: true, force: true})
  }
}
