/**
 * What Airflow's real DAG processor pays for one pass over dagctl's generated DAGs, per
 * `generate.layout`, beside dag-factory 1.1.0 (one YAML file and one loader file) building the same
 * DAGs: identical DAG ids, tasks, dependencies, schedules, owners and retries, checked through
 * Airflow's own DagBag before anything is timed.
 *
 * - Airflow 3.3: `airflow dag-processor -n 1` (one pass, 2 parsing processes, the default).
 * - Airflow 2.11: its standalone DAG processor for one pass (bench/airflow2_dag_processor.py, the
 *   CLI's `airflow dag-processor -n 1` without its SQLite refusal; with SQLite Airflow 2.11 parses
 *   with one process).
 *
 * Each run gets a fresh copy of a migrated SQLite database. A run over an empty folder gives the
 * processor's fixed cost (start-up, DB), subtracted to give the pass. CPU seconds (user + system of
 * the whole process tree) are what a loaded, shared machine does not inflate; wall seconds and peak
 * memory (sum over the process tree) beside them. After each run the DB must hold every DAG, none
 * stale, and no import error.
 *
 * BENCH_DAGS=500 (comma list, e.g. 500,5000), BENCH_RUNS=3, BENCH_AIRFLOW=3,2, BENCH_OUT (work folder,
 * default bench/out/dag-processor; give each of two parallel runs its own),
 * BENCH_LAYOUTS=dag,package,batch:50,loader:50,loader:250 (the dag layout is skipped above 1,000 DAGs unless
 * BENCH_DAG_LAYOUT_ALWAYS=1: 5,000 files take many minutes per pass; so is package on Airflow 3
 * unless BENCH_PACKAGE_ALWAYS=1: Airflow 3 stores the whole file once per DAG, n² for n DAGs).
 * BENCH_PROCESSOR=0 skips the processor runs (the DagBag check and the task-start table only).
 *
 * Task start (bench/task_start.py): what a task's worker pays to get its DAG, CPU seconds of
 * parsing the DAG's file in a fresh process after the imports a worker has anyway, with the parsing
 * context Airflow sets when a task starts (`_AIRFLOW_PARSING_CONTEXT_DAG_ID`), median of BENCH_RUNS.
 *
 * dag-factory is installed once with pip into ~/.cache/dagctl/dag-factory/<version>/ (pure Python,
 * no dependencies beyond what Airflow already has) and put on PYTHONPATH of each Airflow venv.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {acquireLock, cacheDir, ensureAirflowEnv} from '../src/python/venv.js'

const REPO = path.resolve(import.meta.dirname, '..')
const BIN = path.join(REPO, 'bin', 'run.js')
const OUT = process.env.BENCH_OUT ?? path.join(import.meta.dirname, 'out', 'dag-processor')
const SIZES = (process.env.BENCH_DAGS ?? '500').split(',').map(Number)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const MAJORS = (process.env.BENCH_AIRFLOW ?? '3,2').split(',').map((m) => Number(m) as 2 | 3)
const LAYOUTS = (process.env.BENCH_LAYOUTS ?? 'dag,package,batch:50,loader:50,loader:250').split(',')
const DAG_FACTORY_REQUIREMENTS = path.join(import.meta.dirname, 'requirements-dagfactory.txt')

/** Deterministic pseudo-random numbers: every run benches the same corpus. */
function rng(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648
    return s / 2_147_483_648
  }
}

interface Task {
  id: string
  kind: 'empty' | 'bash' | 'pod'
  deps: string[]
}
interface Dag {
  name: string
  /** never null: dag-factory on Airflow 2 turns a null schedule into one day (checked) */
  schedule: string | null
  owner: string
  retries: number
  tasks: Task[]
}

function corpus(n: number): Dag[] {
  const rand = rng(15)
  const dags: Dag[] = []
  for (let i = 0; i < n; i++) {
    const count = 3 + Math.floor(rand() * 4)
    const tasks: Task[] = [{id: 'start', kind: 'empty', deps: []}]
    for (let t = 1; t < count; t++) {
      const deps = [tasks[Math.floor(rand() * t)].id]
      if (t > 2 && rand() < 0.3) deps.push(tasks[t - 1].id)
      tasks.push({id: `step_${t}`, kind: rand() < 0.5 ? 'bash' : 'pod', deps: [...new Set(deps)]})
    }
    dags.push({name: `dag_${String(i).padStart(5, '0')}`, schedule: ['@weekly', '@daily', '0 6 * * *', '@hourly', '15 */2 * * 1-5'][i % 5], owner: `team-${i % 17}`, retries: i % 4, tasks})
  }
  return dags
}

const IMAGE = 'registry.example.com/bench/etl:1.0'
const command = (d: Dag, t: Task) => `echo ${d.name} ${t.id} {{ ds }}`

function specYaml(d: Dag): string {
  const lines = [
    `name: ${d.name}`,
    `schedule: ${d.schedule === null ? 'null' : JSON.stringify(d.schedule)}`,
    'start_date: "2024-01-01"',
    'catchup: false',
    `owner: ${d.owner}`,
    'default_args:',
    `  retries: ${d.retries}`,
    '  retry_delay: 5m',
    'tasks:',
  ]
  for (const t of d.tasks) {
    lines.push(`  ${t.id}:`)
    if (t.kind === 'empty') lines.push('    type: empty')
    if (t.kind === 'bash') lines.push('    type: bash', `    command: ${JSON.stringify(command(d, t))}`)
    if (t.kind === 'pod') lines.push('    type: kubernetes_pod', '    cmds: [python, -m, etl]', `    arguments: ["--date", "{{ ds }}", "--step", ${JSON.stringify(t.id)}]`)
    if (t.deps.length > 0) lines.push(`    depends_on: [${t.deps.join(', ')}]`)
  }
  return `${lines.join('\n')}\n`
}

/** The same DAGs in dag-factory's YAML (JSON is YAML), with Airflow's own operator classes. */
function dagFactoryConfig(dags: Dag[], major: 2 | 3): string {
  const op = (k: Task['kind']) =>
    k === 'pod'
      ? 'airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator'
      : major === 3
        ? `airflow.providers.standard.operators.${k}.${k === 'bash' ? 'BashOperator' : 'EmptyOperator'}`
        : `airflow.operators.${k}.${k === 'bash' ? 'BashOperator' : 'EmptyOperator'}`
  const config: Record<string, unknown> = {}
  for (const d of dags) {
    config[`bench_${d.name}`] = {
      schedule: d.schedule,
      catchup: false,
      default_args: {owner: d.owner, retries: d.retries, retry_delay: {__type__: 'datetime.timedelta', seconds: 300}, start_date: '2024-01-01'},
      tasks: d.tasks.map((t) => ({
        task_id: t.id,
        operator: op(t.kind),
        ...(t.kind === 'bash' ? {bash_command: command(d, t)} : {}),
        ...(t.kind === 'pod' ? {image: IMAGE, cmds: ['python', '-m', 'etl'], arguments: ['--date', '{{ ds }}', '--step', t.id]} : {}),
        ...(t.deps.length > 0 ? {dependencies: t.deps} : {}),
      })),
    }
  }
  return JSON.stringify(config, null, 1)
}

const DAG_FACTORY_LOADER = `# airflow DAG loader: dag-factory builds every DAG of bench_dags.yml
from pathlib import Path

from dagfactory import load_yaml_dags

load_yaml_dags(globals_dict=globals(), config_filepath=str(Path(__file__).with_name("bench_dags.yml")))
`

/** The shape both tools must give: DAG id -> schedule, catchup, and each task's operator, upstream and retries. */
const SHAPE = `
import json, os, sys
folder = sys.argv[1]
try:
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(folder)
except ImportError:
    from airflow.models.dagbag import DagBag
    bag = DagBag(folder, include_examples=False)
def timetable(t):
    attrs = getattr(t, "__dict__", None) or {s: getattr(t, s, None) for s in getattr(type(t), "__slots__", ())}
    return [type(t).__name__, {k: str(v) for k, v in sorted(attrs.items())}]
shape = {}
for d in bag.dags.values():
    shape[d.dag_id] = {
        "schedule": timetable(d.timetable), "catchup": d.catchup, "owner": d.owner,
        "tasks": {t.task_id: [type(t).__name__, sorted(t.upstream_task_ids), t.retries, t.retry_delay.total_seconds()] for t in d.tasks},
    }
with open(sys.argv[2], "w") as f:
    json.dump({"dags": shape, "errors": sorted(bag.import_errors)}, f, sort_keys=True)
`

function dagFactoryPath(): string {
  const version = /dag-factory==([\w.]+)/.exec(readFileSync(DAG_FACTORY_REQUIREMENTS, 'utf8'))![1]
  const dir = path.join(cacheDir(), 'dag-factory', version)
  if (existsSync(path.join(dir, '.ready'))) return dir
  mkdirSync(path.dirname(dir), {recursive: true})
  acquireLock(`${dir}.lock`)
  try {
    if (!existsSync(path.join(dir, '.ready'))) {
      rmSync(dir, {recursive: true, force: true})
      const python = ensureAirflowEnv(3, {onProgress: (m) => console.error(m)}).python
      console.error(`installing dag-factory ${version} into ${dir} (first run only)`)
      execFileSync(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-deps', '--target', dir, '-r', DAG_FACTORY_REQUIREMENTS], {stdio: ['ignore', 2, 2]})
      writeFileSync(path.join(dir, '.ready'), `${new Date().toISOString()}\n`)
    }
  } finally {
    rmSync(`${dir}.lock`, {recursive: true, force: true})
  }
  return dir
}

function airflowEnv(major: 2 | 3, home: string, folder: string, dagFactory: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: folder,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(home, 'airflow.db')}`,
    AIRFLOW__LOGGING__LOGGING_LEVEL: 'WARNING',
    // one file of thousands of DAGs takes longer than the defaults (30 s import, 50 s per file): same for both tools
    AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT: '1200',
    AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT: '1200',
    AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT: '1200',
    ...(major === 2 ? {AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR: 'True'} : {}),
    AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY: 'False',
    DO_NOT_TRACK: 'True',
    SCARF_NO_ANALYTICS: 'True',
    PYTHONPATH: dagFactory,
  }
}

interface Run {
  wall: number
  cpu: number
  peak_rss_mb: number
  peak_one_mb: number
  code: number
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function runProcessor(major: 2 | 3, python: string, folder: string, templateDb: string, dagFactory: string, tag: string): Run & {dags: number; stale: number; errors: number} {
  const home = path.join(OUT, 'homes', tag)
  rmSync(home, {recursive: true, force: true})
  mkdirSync(home, {recursive: true})
  copyFileSync(templateDb, path.join(home, 'airflow.db'))
  const bin = path.dirname(python)
  const cmd = major === 3 ? [path.join(bin, 'airflow'), 'dag-processor', '-n', '1'] : [python, path.join(import.meta.dirname, 'airflow2_dag_processor.py'), folder]
  const env = {...airflowEnv(major, home, folder, dagFactory), PROC_PEAK_LOG: path.join(home, 'processor.log')}
  const res = spawnSync(python, [path.join(import.meta.dirname, 'proc_peak.py'), ...cmd], {env, encoding: 'utf8', maxBuffer: 1 << 26})
  const run = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as Run
  if (run.code !== 0) throw new Error(`processor failed (${run.code}), see ${env.PROC_PEAK_LOG}`)
  const live = major === 3 ? 'is_stale = 0' : 'is_active = 1'
  const q = spawnSync(
    python,
    ['-c', `import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select count(*), sum(case when ${live} then 0 else 1 end) from dag").fetchone(), c.execute("select count(*) from import_error").fetchone()[0])`, path.join(home, 'airflow.db')],
    {encoding: 'utf8'},
  )
  const m = /\((\d+), (\d+|None)\) (\d+)/.exec(q.stdout)!
  rmSync(path.join(home, 'airflow.db'), {force: true})
  return {...run, dags: Number(m[1]), stale: m[2] === 'None' ? 0 : Number(m[2]), errors: Number(m[3])}
}

/** The file of a DAG folder that holds `dagId`: a one-DAG file, a file whose map names it, or dag-factory's loader. */
function fileOf(folder: string, dagId: string): string {
  const names = readdirSync(folder).filter((f) => f.endsWith('.py'))
  const own = names.find((f) => f === `${dagId}.py`)
  if (own) return path.join(folder, own)
  const mapped = names.find((f) => readFileSync(path.join(folder, f), 'utf8').includes(`# dagctl:dag ${dagId} `))
  return path.join(folder, mapped ?? 'load_dags.py')
}

/** Task start: a worker parsing its DAG's file (bench/task_start.py), per folder, median CPU s of RUNS fresh processes. */
function taskStart(major: 2 | 3, python: string, dags: Dag[], folders: Array<[string, string]>, home: string, dagFactory: string): void {
  const name = dags[Math.floor(dags.length / 2)].name
  console.log(`\ntask start (${name}): CPU s to parse its DAG's file in a worker, with the parsing context set, median of ${RUNS}`)
  console.log('| DAG folder | file parsed | DAGs built | CPU s (median) |')
  console.log('| --- | --- | ---: | ---: |')
  for (const [label, folder] of folders) {
    const dagId = `bench_${name}`
    const file = fileOf(folder, dagId)
    const xs: Array<{cpu: number; dags: number}> = []
    for (let r = 0; r < RUNS; r++) {
      const res = spawnSync(python, [path.join(import.meta.dirname, 'task_start.py'), file, dagId], {env: airflowEnv(major, home, folder, dagFactory), encoding: 'utf8', maxBuffer: 1 << 26})
      if (res.status !== 0) throw new Error(`task start over ${file} failed: ${res.stderr.slice(-2000)}`)
      xs.push(JSON.parse(res.stdout.trim().split('\n').at(-1)!))
    }
    console.log(`| ${label} | ${path.basename(file)} | ${xs[0].dags} | ${median(xs.map((x) => x.cpu)).toFixed(2)} |`)
  }
}

export default async function bench(): Promise<void> {
  rmSync(OUT, {recursive: true, force: true})
  mkdirSync(OUT, {recursive: true})
  const dagFactory = dagFactoryPath()
  console.log(`${os.cpus().length} CPUs, load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${RUNS} runs each, interleaved; Node ${process.version}`)
  for (const major of MAJORS) {
    const python = ensureAirflowEnv(major, {onProgress: (m) => console.error(m)}).python
    const dbHome = path.join(OUT, `db-${major}`)
    mkdirSync(dbHome, {recursive: true})
    execFileSync(path.join(path.dirname(python), 'airflow'), ['db', 'migrate'], {env: airflowEnv(major, dbHome, dbHome, dagFactory), stdio: 'ignore'})
    const templateDb = path.join(dbHome, 'airflow.db')
    for (const n of SIZES) {
      const dags = corpus(n)
      const base = path.join(OUT, `a${major}-${n}`)
      // the two tools' DAG folders
      const folders: Array<[string, string]> = []
      const empty = path.join(base, 'empty')
      mkdirSync(empty, {recursive: true})
      const df = path.join(base, 'dag-factory')
      mkdirSync(df, {recursive: true})
      writeFileSync(path.join(df, 'bench_dags.yml'), dagFactoryConfig(dags, major))
      writeFileSync(path.join(df, 'load_dags.py'), DAG_FACTORY_LOADER)
      folders.push(['dag-factory 1.1.0 (1 YAML + 1 loader file)', df])
      const generateTimes: string[] = []
      for (const layout of LAYOUTS) {
        if (layout === 'dag' && n > 1000 && process.env.BENCH_DAG_LAYOUT_ALWAYS !== '1') continue
        // Airflow 3 stores a DAG's whole file as its code (DagCode) once per DAG: one file of n DAGs
        // costs n copies of itself, n² in all (5,000 DAGs: about 50 GB through SQLite)
        if (layout === 'package' && major === 3 && n > 1000 && process.env.BENCH_PACKAGE_ALWAYS !== '1') {
          console.log(`(layout package skipped at ${n} DAGs on Airflow 3: its DagCode would hold ${n} copies of a ${n}-DAG file; BENCH_PACKAGE_ALWAYS=1 runs it)`)
          continue
        }
        const pkg = path.join(base, `dagctl-${layout.replace(':', '-')}`)
        const files: Record<string, string> = {
          'dagctl.yaml': `package: bench\nairflow:\n  version: ${major}\nimage: ${IMAGE}\npolicy:\n  allowed_registries: [registry.example.com/]\ngenerate:\n  layout: "${layout}"\n`,
        }
        for (const d of dags) files[`specs/${d.name}.yaml`] = specYaml(d)
        for (const [rel, text] of Object.entries(files)) {
          mkdirSync(path.dirname(path.join(pkg, rel)), {recursive: true})
          writeFileSync(path.join(pkg, rel), text)
        }
        const t0 = performance.now()
        execFileSync(process.execPath, [BIN, 'generate', '--json'], {cwd: pkg, stdio: ['ignore', 'ignore', 2]})
        generateTimes.push(`${layout} ${((performance.now() - t0) / 1000).toFixed(1)} s`)
        // the files Airflow parses (a loader layout's modules, under _dagctl/, are not among them)
        const count = String(readdirSync(path.join(pkg, 'dags/generated')).filter((f) => f.endsWith('.py')).length)
        const modules = layout.startsWith('loader:') ? ` + ${count} module${count === '1' ? '' : 's'}` : ''
        folders.push([`dagctl, layout ${layout} (${count} file${count === '1' ? '' : 's'}${modules})`, path.join(pkg, 'dags/generated')])
      }
      console.log(`\nAirflow ${major === 3 ? '3.3' : '2.11'}, ${n} DAGs (${dags.reduce((s, d) => s + d.tasks.length, 0)} tasks); dagctl generate: ${generateTimes.join(', ')}`)

      // identical DAGs, checked through Airflow's DagBag before anything is timed
      const shape = (folder: string) => {
        const out = path.join(base, 'shape.json')
        rmSync(out, {force: true})
        const r = spawnSync(python, ['-c', SHAPE, folder, out], {env: airflowEnv(major, dbHome, folder, dagFactory), encoding: 'utf8', maxBuffer: 1 << 28})
        if (!existsSync(out)) throw new Error(`DagBag over ${folder} failed: ${r.stderr.slice(-2000)}`)
        return JSON.parse(readFileSync(out, 'utf8')) as {dags: Record<string, unknown>; errors: string[]}
      }
      const want = shape(df)
      if (want.errors.length > 0 || Object.keys(want.dags).length !== n) throw new Error(`dag-factory: ${Object.keys(want.dags).length} DAGs, errors ${want.errors.join(', ')}`)
      for (const [name, folder] of folders.slice(1)) {
        const got = shape(folder)
        const same = JSON.stringify(got.dags) === JSON.stringify(want.dags) && got.errors.length === 0
        if (!same) {
          const first = Object.keys(want.dags).find((id) => JSON.stringify(got.dags[id]) !== JSON.stringify(want.dags[id]))
          throw new Error(`${name} differs from dag-factory: ${first}: ${JSON.stringify(got.dags[first ?? ''])} vs ${JSON.stringify(want.dags[first ?? ''])}`)
        }
      }
      console.log(`checked: the ${folders.length - 1} dagctl layouts and dag-factory give identical DAGs (ids, schedules, catchup, owners, tasks, operators, upstream, retries, retry delays)`)

      taskStart(major, python, dags, folders, dbHome, dagFactory)
      if (process.env.BENCH_PROCESSOR === '0') continue

      const results = new Map<string, Run[]>()
      const loads: number[] = []
      for (let r = 0; r < RUNS; r++) {
        for (const [name, folder] of [['empty folder (fixed cost)', empty] as [string, string], ...folders]) {
          loads.push(os.loadavg()[0])
          const run = runProcessor(major, python, folder, templateDb, dagFactory, `${major}-${n}-${r}`)
          const expected = folder === empty ? 0 : n
          if (run.dags !== expected || run.stale !== 0 || run.errors !== 0) throw new Error(`${name}: DB has ${run.dags} DAGs (${run.stale} stale), ${run.errors} import errors; expected ${expected}`)
          results.set(name, [...(results.get(name) ?? []), run])
        }
      }
      const fixed = results.get('empty folder (fixed cost)')!
      const fixedCpu = median(fixed.map((x) => x.cpu))
      const fixedWall = median(fixed.map((x) => x.wall))
      const dfCpu = median(results.get(folders[0][0])!.map((x) => x.cpu)) - fixedCpu
      console.log(`load average during the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; fixed cost (empty folder) ${fixedCpu.toFixed(1)} CPU s, ${fixedWall.toFixed(1)} s wall, subtracted below`)
      console.log('| DAG folder | pass, CPU s (median) | vs dag-factory (CPU) | pass, wall s (median) | best wall s | peak memory, process tree MB | largest process MB |')
      console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
      for (const [name] of folders) {
        const xs = results.get(name)!
        const cpu = median(xs.map((x) => x.cpu)) - fixedCpu
        console.log(
          `| ${name} | ${cpu.toFixed(1)} | ${(dfCpu / cpu).toFixed(2)}× | ${(median(xs.map((x) => x.wall)) - fixedWall).toFixed(1)} | ${(Math.min(...xs.map((x) => x.wall)) - fixedWall).toFixed(1)} | ${median(xs.map((x) => x.peak_rss_mb)).toFixed(0)} | ${median(xs.map((x) => x.peak_one_mb)).toFixed(0)} |`,
        )
      }
    }
  }
}
