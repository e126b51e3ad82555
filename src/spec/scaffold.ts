import {appendFileSync, existsSync, mkdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {parse as parseYaml} from 'yaml'

import {CONFIG_FILE} from '../config/load.js'
import {PackageName} from '../config/schema.js'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../util/atomic-write.js'

export interface ScaffoldOptions {
  /** the package folder; created when missing */
  dir: string
  /** default: the folder's name, sanitised */
  packageName?: string
  airflowVersion?: 2 | 3
}

/** The stable --json shape of `dagctl init`. Paths are relative to `root`. */
export interface ScaffoldResult {
  root: string
  package: string
  /** files and folders created */
  created: string[]
  /** files left as they were because they exist (never overwritten) */
  skipped: string[]
  /** the .gitignore got the `.dagctl/` line */
  gitignoreUpdated: boolean
  /** the example DAG's id */
  exampleDagId: string
}

export const EXAMPLE_SPEC_NAME = 'daily_report'

/** `My Team-Jobs` → `my_team_jobs`: a valid package name from a folder name. */
export function packageNameFrom(folder: string): string {
  let name = folder
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[^a-z]+/, '')
    .replace(/_+$/, '')
  if (name === '') name = 'dags'
  return name.slice(0, 63).replace(/_+$/, '')
}

export function exampleConfig(pkg: string, airflowVersion: 2 | 3): string {
  return `# dagctl package configuration. Every key: docs/configuration.md; schema: \`dagctl schema config\`.
# DAG ids of this package all start with "${pkg}_".
package: ${pkg}

# default image of kubernetes_pod tasks that name none
image: registry.example.com/${pkg}/jobs:latest

# where specs are read from and DAG files written to
specs: specs/
dags: dags/
generated: dags/generated/

# how generate groups DAGs into files (docs/specs.md#file-layout): per 250 DAGs, a small loader file
# that Airflow parses and a module of their code under _dagctl/ that it does not; the quickest for
# Airflow's DAG processor. A DAG that fails to build takes down the DAGs of its loader only.
generate:
  layout: loader:250

airflow:
  version: ${airflowVersion}

# defaults for every DAG of the package (a platform file named by \`extends:\` may set them too;
# a spec overrides them)
policy:
  owner: ${pkg}
  retries: 2
  retry_delay: 5m
  tags: [${pkg}]
  allowed_registries:
    - registry.example.com/

# only the environments listed here exist: --env prod is refused (exit 2) until prod is defined
environments:
  dev: {}                     # the local store file://.dagctl/store
  # prod:
  #   store: s3://my-dags-bucket/prod
  #   airflow:
  #     url: https://airflow.example.com
`
}

export function exampleSpec(pkg: string): string {
  return `# A DAG spec. \`dagctl generate\` turns it into the DAG ${pkg}_${EXAMPLE_SPEC_NAME}, in dags/generated/.
# Every key: docs/specs.md. JSON Schema for your editor: \`dagctl schema spec\`.
name: ${EXAMPLE_SPEC_NAME}            # DAG id: ${pkg}_${EXAMPLE_SPEC_NAME}
description: Extract yesterday's orders, build the report, tell the team.
schedule: "0 6 * * *"         # cron, a preset (@daily), an interval (6h), or null for manual runs
timezone: UTC
start_date: "2024-01-01"
catchup: false
max_active_runs: 1
tags: [example]               # added to policy.tags of dagctl.yaml
params:
  region: eu
default_args:
  retries: 3                  # overrides policy.retries
  execution_timeout: 1h

tasks:
  start:
    type: empty

  extract:
    type: kubernetes_pod        # image: the package's \`image\` in dagctl.yaml
    depends_on: [start]
    cmds: ["python", "-m", "${pkg}_jobs.extract"]
    arguments: ["--date", "{{ ds }}"]   # Airflow fills in {{ ds }} when the task runs
    resources:
      requests: {cpu: 500m, memory: 512Mi}
      limits: {memory: 1Gi}
    env:
      LOG_LEVEL: info
    # secrets:
    #   - {secret: orders-db, key: password, env: DB_PASSWORD}

  report:
    type: python
    depends_on: [extract]
    # module:function, called as function(argv); a module alone means its JOB = (entrypoint, "description").
    # Imported when the task runs, not when Airflow parses the DAG.
    callable: ${pkg}_jobs.report
    argv: ["--region", "eu"]    # used when the run's conf carries no "argv"

  notify:
    type: bash
    depends_on: [report]
    command: echo "report for {{ ds }} is ready"

  done:
    type: empty
    depends_on: [notify]
`
}

interface ExistingConfig {
  package?: string
  specs?: string
  dags?: string
  generated?: string
}

/** What an existing dagctl.yaml says about names and folders; anything unreadable is ignored. */
function readExistingConfig(file: string): ExistingConfig {
  try {
    const data = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)
    return {package: str(data?.package), specs: str(data?.specs), dags: str(data?.dags), generated: str(data?.generated)}
  } catch {
    return {}
  }
}

/**
 * `dagctl init`: a dagctl.yaml, an example spec, the folders and a .gitignore line, into an empty
 * folder or beside an existing package. Never overwrites: what exists is reported as skipped.
 */
export function scaffoldPackage(options: ScaffoldOptions): ScaffoldResult {
  const root = path.resolve(options.dir)
  if (existsSync(root) && !statSync(root).isDirectory()) throw new UsageError(`${options.dir} exists and is not a folder`, {hint: 'Give init a folder path.'})
  const configFile = path.join(root, CONFIG_FILE)
  const existing = existsSync(configFile) ? readExistingConfig(configFile) : undefined
  const pkg = options.packageName ?? existing?.package ?? packageNameFrom(path.basename(root))
  const valid = PackageName.safeParse(pkg)
  if (!valid.success) {
    throw new UsageError(`invalid package name '${pkg}': ${valid.error.issues[0].message}`, {
      hint: `Pass --package with lower-case letters, digits and _, e.g. --package ${packageNameFrom(pkg)}.`,
    })
  }
  const created: string[] = []
  const skipped: string[] = []
  const rel = (p: string): string => path.relative(root, p).split(path.sep).join('/') || '.'
  mkdirSync(root, {recursive: true})

  const folders = [existing?.dags ?? 'dags/', existing?.specs ?? 'specs/', existing?.generated ?? 'dags/generated/']
  for (const folder of folders) {
    const full = path.resolve(root, folder)
    if (existsSync(full)) continue
    mkdirSync(full, {recursive: true})
    created.push(`${rel(full)}/`)
  }
  const writeNew = (file: string, content: string): void => {
    if (existsSync(file)) {
      skipped.push(rel(file))
      return
    }
    writeFileAtomic(file, content)
    created.push(rel(file))
  }
  writeNew(configFile, exampleConfig(pkg, options.airflowVersion ?? 3))
  writeNew(path.resolve(root, existing?.specs ?? 'specs/', `${EXAMPLE_SPEC_NAME}.yaml`), exampleSpec(pkg))

  const gitignore = path.join(root, '.gitignore')
  const current = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : undefined
  const hasLine = current?.split(/\r?\n/).some((l) => ['.dagctl/', '.dagctl', '/.dagctl/', '/.dagctl'].includes(l.trim())) ?? false
  if (!hasLine) {
    if (current === undefined) {
      writeFileAtomic(gitignore, '# dagctl: the local store and caches\n.dagctl/\n')
      created.push('.gitignore')
    } else {
      appendFileSync(gitignore, `${current === '' || current.endsWith('\n') ? '' : '\n'}.dagctl/\n`)
    }
  }
  return {root, package: pkg, created, skipped, gitignoreUpdated: !hasLine, exampleDagId: `${pkg}_${EXAMPLE_SPEC_NAME}`}
}
