/**
 * DataHub events under load: a file source of 10,000 entity change events through the real
 * acryl-datahub-actions pipeline (Pipeline.create) with dagctl's Action, against Airflow 3 on
 * loopback. Rows: none matching, and 1% matching (each a new run), with the Action's long-lived
 * dagctl (`trigger --event - --stream`); and the one-shot mode (one dagctl per event, `stream:
 * false`) on a sample, as before. Events per second and the time an event waits from being handed
 * to the Action to its ack (all events are there at once: a backlog, as after a bulk ingestion).
 * Goal: >= 500 events/s when none match. Benchmarks print; they assert nothing.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {ensureAirflowEnv, ensureVenv} from '../src/python/venv.js'
import {startAirflow} from '../test/helpers/airflow-server.js'

const REPO = path.resolve(import.meta.dirname, '..')
const BIN = path.join(REPO, 'bin', 'run.js')
const N = Number(process.env.BENCH_EVENTS ?? 10_000)
const ONE_SHOT = Number(process.env.BENCH_ONE_SHOT_EVENTS ?? 50)

const MAPPING = `rules:
  - name: snowflake-tag-added
    match:
      category: TAG
      operation: ADD
      entityUrn: "urn:li:dataset:(urn:li:dataPlatform:snowflake,*"
    dag_id: team_a_on_tag
    conf:
      urn: \${event.entityUrn}
      tag: \${event.parameters.tagUrn}
  - name: owner-added
    match:
      category: OWNER
      operation: ADD
    dag_id: team_a_on_tag
`

function events(file: string, n: number, matchingEvery: number, tag: string): void {
  const base = JSON.parse(readFileSync(path.join(REPO, 'test', 'fixtures', 'datahub', 'event-envelope-entity-change-event-tag-added.json'), 'utf8'))
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const matching = matchingEvery > 0 && i % matchingEvery === 0
    const e = structuredClone(base)
    e.event.entityUrn = `urn:li:dataset:(urn:li:dataPlatform:${matching ? 'snowflake' : 'hive'},bench_${tag}.table_${i},PROD)`
    e.event.auditStamp.time += i
    lines.push(JSON.stringify(e))
  }
  writeFileSync(file, lines.join('\n') + '\n')
}

interface Figures {events: number; seconds: number; per_second: number; latency_median: number; latency_p99: number; failed: number}

export default async function bench(): Promise<void> {
  const datahub = ensureDatahub()
  const airflow = await startAirflow(3, ensureAirflowEnv(3, {onProgress: (m) => console.error(m)}).python)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dagctl-bench-datahub-'))
  try {
    writeFileSync(path.join(dir, 'dagctl.yaml'), 'package: team_a\ntrigger:\n  mapping: mapping.yaml\n')
    writeFileSync(path.join(dir, 'mapping.yaml'), MAPPING)
    const env = {DAGCTL_AIRFLOW_URL: airflow.url, DAGCTL_AIRFLOW_USERNAME: 'admin', DAGCTL_AIRFLOW_PASSWORD: airflow.password}
    const stamp = Date.now().toString(36)
    const rows: Array<[string, number, number, boolean]> = [
      [`${N} events, none matching, long-lived dagctl`, N, 0, true],
      [`${N} events, 1% matching (${N / 100} runs), long-lived dagctl`, N, 100, true],
      [`${ONE_SHOT} events, none matching, one dagctl per event (before)`, ONE_SHOT, 0, false],
    ]
    const out: Array<[string, Figures]> = []
    for (const [name, n, every, stream] of rows) {
      const file = path.join(dir, `events-${out.length}.ndjson`)
      events(file, n, every, `${stamp}_${out.length}`)
      const config = {command: ['node', BIN], cwd: dir, env, stream}
      const res = execFileSync(datahub, [path.join(REPO, 'bench', 'datahub_pipeline.py'), file, JSON.stringify(config)], {
        env: {...process.env, PYTHONPATH: [path.join(REPO, 'bench'), path.join(REPO, 'python', 'dagctl_datahub')].join(path.delimiter)},
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 64 * 1024 * 1024,
      })
      out.push([name, JSON.parse(res.trim().split('\n').pop()!) as Figures])
    }
    console.log(`\nreal acryl-datahub-actions pipeline, file source, Airflow 3.3 on loopback, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    console.log(`${'what'.padEnd(62)}  ${'events/s'.padStart(9)}  ${'total'.padStart(8)}  ${'wait median'.padStart(11)}  ${'wait p99'.padStart(9)}  failed`)
    for (const [name, f] of out) {
      console.log(`${name.padEnd(62)}  ${f.per_second.toFixed(0).padStart(9)}  ${f.seconds.toFixed(1).padStart(6)} s  ${(f.latency_median * 1000).toFixed(1).padStart(8)} ms  ${(f.latency_p99 * 1000).toFixed(1).padStart(6)} ms  ${f.failed}`)
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
    await airflow.stop()
  }
}

function ensureDatahub(): string {
  return ensureVenv(path.join(REPO, 'test', 'requirements-datahub.txt'), 'datahub', {onProgress: (m: string) => console.error(m)}).python
}
