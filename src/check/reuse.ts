/**
 * publish reuses HEAD's validation: a file whose content is in HEAD's release at the same path, and
 * that was validated there under the same validation fingerprint, is not parsed again. The
 * cross-file rule (duplicate-dag-id) still runs over the whole set, with HEAD's records standing in
 * for the unchanged files; anything that differs falls back to validating everything, and the
 * report says which was done and why. docs/validate.md#what-publish-validates.
 */
import {createHash} from 'node:crypto'
import path from 'node:path'

import type {FileRecord, HelperFingerprint, PendingValidation} from './index.js'
import type {Finding, ValidateOptions, ValidationReport} from './types.js'

/** Everything that can change a finding of the ast engine, as strings (compared key by key). */
export type Fingerprint = Record<string, string>

/**
 * What a publish records in its manifest (`validation.record`) so that the next one can reuse it.
 * Compact (the next publish reads it before anything else): per file only what the cross-file rule
 * and the summary need. The content each entry describes is the same manifest's `files` entry.
 */
export interface ValidationRecord {
  fingerprint: Fingerprint
  /** the package's own module names (own-module-import) when validated, comma-separated */
  ownModules: string
  /** per published .py file, by its path in the dags folder: `line:column:dag id` of each DAG (one: a string) */
  dags: Record<string, string | string[]>
  /** files with `# dagctl: ignore[...]` comments: line -> rules */
  ignores?: Record<string, Record<string, string[]>>
  /** files with warnings or infos (errors are 0: the release was published): [warnings, infos] */
  counts?: Record<string, [number, number]>
  /**
   * hash of the (path, content hash) pairs the record describes: a record copied beside other
   * files (a rollback of one DAG keeps the current release's other files) is not trusted
   */
  files: string
}

/** HEAD's release, as far as reuse is concerned. */
export interface HeadValidation {
  record?: ValidationRecord
  /** HEAD's files: path -> content hash */
  files: Record<string, {sha256: string}>
}

/** What the publish report says about validation. */
export interface ReuseSummary {
  /** files parsed in this run */
  validated: number
  /** files whose result came from HEAD's release */
  reused: number
  /** why nothing was reused, when HEAD exists and something was validated */
  reason?: string
}

export interface PublishFile {
  /** path in the dags folder, `/`-separated */
  path: string
  abs: string
  sha256: string
  body: Buffer
}

/** More changed module names than this: every file is validated again (a substring search per name stops paying). */
const MAX_MODULE_CHANGES = 20

export function fingerprintOf(
  helper: HelperFingerprint,
  settings: Pick<ValidateOptions, 'rules' | 'airflowVersion' | 'pythonTarget' | 'engineOptions'>,
  context: {dagctlVersion: string; pkg: string; dagsRel: string},
): Fingerprint {
  const sorted = (o: object | undefined) => JSON.stringify(Object.entries(o ?? {}).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))
  return {
    dagctl: context.dagctlVersion,
    engine: helper.engine,
    engineCode: helper.engine_code,
    python: helper.python,
    pythonTarget: settings.pythonTarget ?? '',
    package: context.pkg,
    airflow: String(settings.airflowVersion),
    dags: context.dagsRel,
    rules: sorted(settings.rules),
    engineOptions: sorted(settings.engineOptions),
  }
}

/** The record's `line:column:dag id` strings as the helper's [dag id, line, column]. */
function dagsOf(entries: string | string[]): FileRecord['dags'] {
  return (typeof entries === 'string' ? [entries] : entries).map((e) => {
    const [line, column] = e.split(':', 2)
    return [e.slice(line.length + column.length + 2), Number(line), Number(column)]
  })
}

/**
 * Which files need validating, given HEAD's record. All of them (with the reason) unless the engine
 * is ast and the fingerprint equals HEAD's; then the files new or changed since HEAD, and the
 * unchanged files that mention a module name added or removed since (own-module-import depends on
 * the set of the package's modules: such a file is parsed again rather than trusted).
 */
export function planReuse(
  head: HeadValidation | undefined,
  fingerprint: Fingerprint,
  ownModules: string[],
  files: PublishFile[],
): {validate: PublishFile[]; known: Map<string, FileRecord>; reason?: string} {
  const all = (reason: string) => ({validate: files, known: new Map<string, FileRecord>(), reason})
  if (fingerprint.engine !== 'ast') return all('the airflow engine imports the files: its results depend on more than their content, and are not reused')
  const record = head?.record
  if (!record) return all("HEAD's release holds no validation record (published with --no-validate, by an older dagctl, or with the airflow engine)")
  if (record.files !== filesDigest(Object.keys(record.dags), head.files)) return all("HEAD's validation record describes other contents than HEAD's files (a rollback of one DAG)")
  const differ = Object.keys({...fingerprint, ...record.fingerprint}).filter((k) => fingerprint[k] !== record.fingerprint[k]).sort()
  if (differ.length > 0) return all(`the validation fingerprint differs from HEAD's (${differ.join(', ')})`)
  const before = new Set(record.ownModules === '' ? [] : record.ownModules.split(','))
  const now = new Set(ownModules)
  const changedModules = [...now].filter((m) => !before.has(m)).concat([...before].filter((m) => !now.has(m)))
  if (changedModules.length > MAX_MODULE_CHANGES) return all(`${changedModules.length} of the package's module names changed since HEAD`)
  const names = changedModules.map((m) => Buffer.from(m))
  const validate: PublishFile[] = []
  const known = new Map<string, FileRecord>()
  for (const f of files) {
    const dags = record.dags[f.path]
    if (dags && head.files[f.path]?.sha256 === f.sha256 && !names.some((n) => f.body.includes(n))) {
      const ignores = record.ignores?.[f.path]
      known.set(f.path, {dags: dagsOf(dags), ...(ignores ? {ignores} : {})})
    } else validate.push(f)
  }
  return {validate, known}
}

export interface PublishValidation {
  report: ValidationReport
  /** every DAG of the published files, HEAD's records included, with its path in the dags folder */
  dags: Array<{dagId: string; file: string; line: number}>
  /** for the new manifest; undefined when nothing can be reused next time (the airflow engine) */
  record?: ValidationRecord
  reuse: ReuseSummary
}

/**
 * The validation of a publish, through a helper started with `fingerprint: true`: full, or only the
 * files planReuse names, with HEAD's records as `known` for the cross-file rule.
 */
export async function validateForPublish(
  pending: PendingValidation,
  files: PublishFile[],
  context: {
    root: string
    dagsDir: string
    pkg: string
    dagctlVersion: string
    settings: Pick<ValidateOptions, 'rules' | 'airflowVersion' | 'pythonTarget' | 'engineOptions'>
    /** HEAD's release, when there is one; a promise: read while the helper starts */
    head: Promise<HeadValidation | undefined>
  },
): Promise<PublishValidation> {
  const dagsRel = path.relative(context.root, context.dagsDir).split(path.sep).join('/')
  const toRoot = (p: string) => (dagsRel === '' ? p : `${dagsRel}/${p}`)
  const toDags = (rel: string) => path.relative(context.dagsDir, path.resolve(context.root, rel)).split(path.sep).join('/')
  const helper = await pending.fingerprint()
  const head = await context.head
  const fingerprint = helper ? fingerprintOf(helper, context.settings, {dagctlVersion: context.dagctlVersion, pkg: context.pkg, dagsRel}) : undefined
  const ownModules = helper?.own_modules ? helper.own_modules.split(',') : []
  const plan = fingerprint ? planReuse(head, fingerprint, ownModules, files) : {validate: files, known: new Map<string, FileRecord>(), reason: 'the Python helper gave no fingerprint'}

  let report: ValidationReport
  let fresh: Record<string, FileRecord> | undefined
  if (plan.validate.length === 0 && plan.known.size > 0) {
    // nothing new or changed (a removed file cannot make a DAG id collide): no file is parsed
    await pending.cancel()
    report = {engine: 'ast', dags: [], findings: [], summary: {files: 0, dags: 0, errors: 0, warnings: 0, infos: 0}, suppressions: {config: [], inline: []}}
  } else {
    const known = plan.known.size > 0 ? Object.fromEntries([...plan.known].map(([p, r]) => [toRoot(p), r])) : undefined
    const answer = await pending.run(
      plan.validate.map((f) => f.abs),
      {...(known ? {known} : {}), records: fingerprint?.engine === 'ast'},
    )
    report = answer.report
    fresh = answer.records
  }

  // the summary covers every file: HEAD's counts for the reused ones
  let warnings = report.summary.warnings
  let infos = report.summary.infos
  const dags: PublishValidation['dags'] = report.dags.map((d) => ({dagId: d.dagId, file: toDags(d.file), line: d.line}))
  for (const [p, r] of plan.known) {
    const [w, i] = head?.record?.counts?.[p] ?? [0, 0]
    warnings += w
    infos += i
    for (const [dagId, line] of r.dags) dags.push({dagId, file: p, line})
  }
  dags.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
  report = {...report, summary: {...report.summary, files: files.length, dags: dags.length, warnings, infos}}
  const reuse: ReuseSummary = {validated: plan.validate.length, reused: plan.known.size, ...(plan.reason && head !== undefined ? {reason: plan.reason} : {})}

  if (!fingerprint || fingerprint.engine !== 'ast' || (!fresh && plan.validate.length > 0)) return {report, dags, reuse}
  const counts = countsByFile(report.findings)
  const record: ValidationRecord = {fingerprint, ownModules: ownModules.join(','), dags: {}, files: filesDigest(files.map((f) => f.path), Object.fromEntries(files.map((f) => [f.path, f])))}
  const ignores: Record<string, Record<string, string[]>> = {}
  const fileCounts: Record<string, [number, number]> = {}
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const known = plan.known.get(f.path)
    const r = known ?? fresh?.[toRoot(f.path)]
    // a file the helper did not answer for: record nothing rather than something partial
    if (!r) return {report, dags, reuse}
    const at = r.dags.map(([id, line, column]) => `${line}:${column}:${id}`)
    record.dags[f.path] = at.length === 1 ? at[0] : at
    if (r.ignores && Object.keys(r.ignores).length > 0) ignores[f.path] = r.ignores
    const c = known ? head?.record?.counts?.[f.path] : counts.get(toRoot(f.path))
    if (c && (c[0] > 0 || c[1] > 0)) fileCounts[f.path] = c
  }
  if (Object.keys(ignores).length > 0) record.ignores = ignores
  if (Object.keys(fileCounts).length > 0) record.counts = fileCounts
  return {report, dags, record, reuse}
}

/** sha256 of `path NUL content-hash LF` for each path, sorted; a path without content never matches. */
function filesDigest(paths: string[], contents: Record<string, {sha256: string} | undefined>): string {
  const h = createHash('sha256')
  for (const p of [...paths].sort()) {
    const c = contents[p]
    if (!c) return ''
    h.update(`${p}\0${c.sha256}\n`)
  }
  return h.digest('hex')
}

/** Per file, its [warnings, infos], leaving out the cross-file rule (found again by every run). */
function countsByFile(findings: Finding[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>()
  for (const f of findings) {
    if (f.rule === 'duplicate-dag-id' || f.severity === 'error') continue
    const c = out.get(f.file) ?? [0, 0]
    c[f.severity === 'warning' ? 0 : 1]++
    out.set(f.file, c)
  }
  return out
}
