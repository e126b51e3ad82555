import {airflowMajor, probePython, type PythonChoice, type PythonProbe} from './interpreter.js'
import {findAirflowEnv, type AirflowMajor} from './venv.js'

/**
 * `dagctl doctor`: what validate's Python has and lacks, each gap with the command that fixes it.
 * Only a check of severity `error` that fails makes the report not ok (exit 1).
 */
export interface DoctorCheck {
  name: string
  ok: boolean
  /** how much a failure matters: `error` stops validate from working as configured */
  severity: 'error' | 'warning' | 'info'
  detail: string
  /** the command (or change) that fixes a failed check */
  fix?: string
}

export interface DoctorReport {
  ok: boolean
  python: PythonChoice & {executable?: string; version?: string}
  airflow?: {version: string; major?: AirflowMajor}
  providers: Record<string, string>
  /** the managed venvs (`dagctl python setup --airflow N`) and whether they are built */
  managed: Record<'2' | '3', {built: boolean; python?: string}>
  /** the Airflow major the configuration targets (airflow.version) */
  targetAirflow: AirflowMajor
  checks: DoctorCheck[]
}

export interface DoctorOptions {
  /** the interpreter validate and publish use (resolvePython with the config's settings, never --airflow) */
  choice: PythonChoice
  /** the Airflow major to expect: --airflow, else airflow.version */
  targetAirflow: AirflowMajor
  /** airflow.version of the config, which chose `choice`; when --airflow differs, doctor says so */
  configAirflow?: AirflowMajor
  /** validate.python: the Python version validate parses with */
  pythonTarget?: string
  /** finds the interpreter validate parses with for pythonTarget (src/check/python-target.ts) */
  parsingPython?: (choice: PythonChoice, target: string) => Promise<string>
  /** validate.engine of the config: with `airflow`, a missing Airflow is an error, not a warning */
  engine?: 'auto' | 'ast' | 'airflow'
  env?: NodeJS.ProcessEnv
  probe?: (python: string) => Promise<PythonProbe>
}

/** Providers whose operators generated DAGs use, by Airflow major. */
const PROVIDERS: Record<AirflowMajor, Array<{name: string; why: string; severity: 'warning' | 'info'}>> = {
  3: [
    {name: 'standard', why: 'BashOperator, PythonOperator and EmptyOperator live there in Airflow 3', severity: 'warning'},
    {name: 'cncf-kubernetes', why: 'kubernetes_pod tasks (KubernetesPodOperator)', severity: 'warning'},
    {name: 'amazon', why: "S3 hooks and Airflow 3's S3 DAG bundle", severity: 'info'},
  ],
  2: [
    {name: 'cncf-kubernetes', why: 'kubernetes_pod tasks (KubernetesPodOperator)', severity: 'warning'},
    {name: 'amazon', why: 'S3 hooks', severity: 'info'},
  ],
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const env = options.env ?? process.env
  const {choice, targetAirflow} = options
  const probe = await (options.probe ?? probePython)(choice.python)
  const setup = `dagctl python setup --airflow ${targetAirflow}`
  const checks: DoctorCheck[] = []
  const managed = {
    '2': {built: false} as {built: boolean; python?: string},
    '3': {built: false} as {built: boolean; python?: string},
  }
  for (const v of [2, 3] as const) {
    const venv = findAirflowEnv(v, env)
    managed[v] = venv ? {built: true, python: venv.python} : {built: false}
  }

  checks.push(
    probe.ok
      ? {name: 'python', ok: true, severity: 'error', detail: `${probe.executable} (Python ${probe.version}), chosen by ${choice.from}: the interpreter validate and publish run`}
      : {name: 'python', ok: false, severity: 'error', detail: `${probe.error} (chosen by ${choice.from})`, fix: choice.source === 'default' ? `${setup}, or pass --python PATH` : `point ${choice.from} at a python that runs, or drop it and run ${setup}`},
  )
  if (probe.ok && probe.version && compareVersions(probe.version, '3.9') < 0) {
    checks.push({name: 'python-version', ok: false, severity: 'error', detail: `Python ${probe.version} is older than 3.9, which Airflow 2.11 and 3 need`, fix: setup})
  }

  if (probe.ok && options.pythonTarget && options.parsingPython) {
    const target = options.pythonTarget
    try {
      const parsing = await options.parsingPython(choice, target)
      checks.push(
        parsing === choice.python
          ? {name: 'python-target', ok: true, severity: 'error', detail: `Python ${probe.version} is validate.python ${target}`}
          : {name: 'python-target', ok: true, severity: 'error', detail: `validate parses the files with ${parsing} (validate.python ${target}); ${choice.python} is Python ${probe.version}`},
      )
    } catch (error) {
      checks.push({name: 'python-target', ok: false, severity: 'error', detail: (error as Error).message, fix: (error as {hint?: string}).hint})
    }
  }
  if (options.configAirflow !== undefined && options.configAirflow !== targetAirflow) {
    const other = managed[targetAirflow]
    checks.push({
      name: 'airflow-target',
      ok: false,
      severity: 'info',
      detail: `--airflow ${targetAirflow} sets only what this check expects: validate and publish use the interpreter above, chosen for airflow.version ${options.configAirflow}`,
      fix: `set airflow.version: ${targetAirflow} in dagctl.yaml${other.built ? `, or validate --python ${other.python}` : ''}`,
    })
  }

  const major = airflowMajor(probe.airflow)
  if (probe.ok) {
    const needAirflow = options.engine === 'airflow'
    if (!probe.airflow) {
      checks.push({
        name: 'airflow',
        ok: false,
        severity: needAirflow ? 'error' : 'warning',
        detail: `Airflow is not installed in ${probe.executable}; validate uses the ast engine only${needAirflow ? ', but validate.engine is airflow' : ''}`,
        fix: `${setup} (validate then uses it by itself), or --python /path/to/your/airflow/python`,
      })
    } else if (major !== targetAirflow) {
      checks.push({
        name: 'airflow',
        ok: false,
        severity: 'warning',
        detail: `Airflow ${probe.airflow} is installed, but ${options.configAirflow !== undefined && options.configAirflow !== targetAirflow ? `--airflow expects Airflow ${targetAirflow}` : `the configuration targets Airflow ${targetAirflow} (airflow.version)`}`,
        fix: `${setup}, or set airflow.version: ${major ?? '?'} in dagctl.yaml`,
      })
    } else {
      checks.push({name: 'airflow', ok: true, severity: 'error', detail: `Airflow ${probe.airflow}`})
    }
    if (probe.airflow) {
      for (const p of PROVIDERS[major ?? targetAirflow]) {
        const version = probe.providers[p.name]
        checks.push(
          version
            ? {name: `provider ${p.name}`, ok: true, severity: p.severity, detail: `apache-airflow-providers-${p.name} ${version}`}
            : {
                name: `provider ${p.name}`,
                ok: false,
                severity: p.severity,
                detail: `apache-airflow-providers-${p.name} is missing: needed for ${p.why}`,
                fix: choice.source === 'managed' ? `${setup}` : `${probe.executable} -m pip install apache-airflow-providers-${p.name} (or use the managed venv: ${setup})`,
              },
        )
      }
    }
  }
  for (const v of [3, 2] as const) {
    checks.push(
      managed[v].built
        ? {name: `managed venv airflow-${v}`, ok: true, severity: 'info', detail: managed[v].python!}
        : {name: `managed venv airflow-${v}`, ok: false, severity: 'info', detail: 'not built', fix: `dagctl python setup --airflow ${v}`},
    )
  }

  return {
    ok: checks.every((c) => c.ok || c.severity !== 'error'),
    python: {...choice, executable: probe.executable, version: probe.version},
    ...(probe.airflow ? {airflow: {version: probe.airflow, major}} : {}),
    providers: Object.fromEntries(Object.entries(probe.providers).sort(([a], [b]) => a.localeCompare(b))),
    managed,
    targetAirflow,
    checks,
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
