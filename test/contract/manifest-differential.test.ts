import {execa} from 'execa'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {parseManifest, UnsafeManifestError} from '../../src/release/manifest.js'
import {REPO_ROOT} from '../helpers/cli.js'

/**
 * The manifest rules exist twice: src/release/manifest.ts (zod, what publish, fsck and every
 * TypeScript reader use) and python/dagctl_airflow/dagctl_airflow/release.py (what DagctlBundle uses
 * inside Airflow). Hundreds of damaged manifests, made from a real one, go through both: each must
 * accept the same ones, and a path the Python reader calls outside the package must be the path the
 * TypeScript one names.
 */
const BASE_FILE = path.join(REPO_ROOT, 'test/fixtures/store-conformance/store/_dagctl/dev/alpha/releases/0000000003.json')
const ROLLBACK_FILE = path.join(REPO_ROOT, 'test/fixtures/store-conformance/store/_dagctl/dev/beta/releases/0000000003.json')

interface Case {
  name: string
  text: string
  /** the bytes, when they are not UTF-8 text */
  b64?: string
  package: string
  id: number
}

const WRONG_VALUES: unknown[] = [null, 0, -1, 1.5, 2, '', 'x', true, [], {}, ['a.py'], {a: 1}]
const UNSAFE_PATHS = ['\u{1F600}'.repeat(600), '\u{1F600}'.repeat(500), '../a.py', '/abs.py', 'a/./b.py', 'a//b.py', 'a\\b.py', 'C:x.py', '', 'a/', '.', '..', 'x\u0000y.py', 'a/../b.py', './a.py', 'a/.', 'x'.repeat(1025)]

function cases(): Case[] {
  const out: Case[] = []
  const add = (name: string, value: unknown, id = 3, pkg = 'alpha') => out.push({name, text: typeof value === 'string' ? value : JSON.stringify(value), package: pkg, id})
  for (const [file, pkg, id] of [[BASE_FILE, 'alpha', 3], [ROLLBACK_FILE, 'beta', 3]] as const) {
    const base = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>
    const clone = () => structuredClone(base)
    const push = (name: string, m: unknown) => add(`${pkg}: ${name}`, m, id, pkg)
    push('as written', base)
    push('an unknown key', {...clone(), extra: {anything: 1}})
    // every top-level key: gone, and every wrong type
    for (const key of Object.keys(base)) {
      const gone = clone()
      delete gone[key]
      push(`without ${key}`, gone)
      for (const v of WRONG_VALUES) push(`${key} = ${JSON.stringify(v)}`, {...clone(), [key]: v})
    }
    // one level down
    const nested: Array<[string, string]> = [['validation', 'skipped'], ['validation', 'engine'], ['validation', 'summary'], ['git', 'sha'], ['git', 'branch'], ['changes', 'added'], ['changes', 'changed'], ['changes', 'removed']]
    if (base.rollback) nested.push(['rollback', 'from'], ['rollback', 'to'], ['rollback', 'dag'])
    if (base.ci) nested.push(['ci', 'provider'], ['ci', 'jobUrl'])
    for (const [outer, inner] of nested) {
      const gone = clone()
      if (gone[outer]) delete gone[outer][inner]
      push(`without ${outer}.${inner}`, gone)
      for (const v of WRONG_VALUES) {
        const m = clone()
        m[outer] = {...m[outer], [inner]: v}
        push(`${outer}.${inner} = ${JSON.stringify(v)}`, m)
      }
    }
    push('ci without provider', {...clone(), ci: {jobUrl: 'https://x'}})
    push('ci with a provider', {...clone(), ci: {provider: 'gitlab', jobUrl: 'https://x'}})
    const first = Object.keys(base.files)[0]
    for (const field of ['sha256', 'size', 'since']) {
      const gone = clone()
      delete gone.files[first][field]
      push(`without files.${first}.${field}`, gone)
      for (const v of [...WRONG_VALUES, 'A'.repeat(64), 'g'.repeat(64), 'a'.repeat(63)]) {
        const m = clone()
        m.files[first][field] = v
        push(`files.${first}.${field} = ${JSON.stringify(v)}`, m)
      }
    }
    for (const v of WRONG_VALUES) {
      const m = clone()
      m.files[first] = v
      push(`files.${first} = ${JSON.stringify(v)}`, m)
    }
    {
      const m = clone()
      m.files[first] = {...m.files[first], extra: 1}
      push(`files.${first} with an unknown key`, m)
    }
    // paths: as a files key, in dags[].file and in changes
    for (const p of UNSAFE_PATHS) {
      const m = clone()
      m.files[p] = m.files[first]
      push(`files key ${JSON.stringify(p)}`, m)
      push(`dags file ${JSON.stringify(p)}`, {...clone(), dags: [{dagId: 'x', file: p}]})
      push(`changes.added ${JSON.stringify(p)}`, {...clone(), changes: {...base.changes, added: [p]}})
      const both = clone()
      both.files[p] = both.files[first]
      both.format = 3
      push(`files key ${JSON.stringify(p)} and a bad format`, both)
    }
    {
      const two = clone()
      two.files['z/../late.py'] = two.files[first]
      two.files['../early.py'] = two.files[first]
      push('two paths outside, the later one sorting first', two)
    }
    // format 2: entries may name a pack; format 1 may not; a later format is refused
    {
      const packId = 'c'.repeat(64)
      const packed = (pack: unknown, format: unknown = 2) => {
        const m = clone()
        m.format = format
        m.files[first] = {...m.files[first], pack}
        return m
      }
      push('format 2 with a pack entry', packed({id: packId, offset: 0}))
      push('format 2 with a pack entry at offset 4096', packed({id: packId, offset: 4096}))
      push('format 2 without packs', {...clone(), format: 2})
      push('format 1 with a pack entry', packed({id: packId, offset: 0}, 1))
      push('format 3 with a pack entry', packed({id: packId, offset: 0}, 3))
      push('format 3', {...clone(), format: 3})
      push('pack with an extra key', packed({id: packId, offset: 0, length: 3}))
      push('pack without offset', packed({id: packId}))
      push('pack without id', packed({offset: 0}))
      for (const v of WRONG_VALUES) {
        push(`pack = ${JSON.stringify(v)}`, packed(v))
        push(`pack.id = ${JSON.stringify(v)}`, packed({id: v, offset: 0}))
        push(`pack.offset = ${JSON.stringify(v)}`, packed({id: packId, offset: v}))
      }
      for (const v of ['A'.repeat(64), 'g'.repeat(64), 'a'.repeat(63), `../${'a'.repeat(61)}`]) push(`pack.id = ${JSON.stringify(v)}`, packed({id: v, offset: 0}))
    }
    push('dags entry without dagId', {...clone(), dags: [{file: first}]})
    push('dags entry with a good file', {...clone(), dags: [{dagId: 'alpha_one', file: first}]})
    for (const literal of ['NaN', 'Infinity', '-Infinity', '1e400']) push(`an unknown key = ${literal}`, JSON.stringify({...base, extra: 0}).replace('"extra":0', `"extra":${literal}`))
    const invalidUtf8 = Buffer.concat([Buffer.from(JSON.stringify({...base, message: 'MARK'}).split('MARK')[0]), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(JSON.stringify({...base, message: 'MARK'}).split('MARK')[1])])
    out.push({name: `${pkg}: a message that is not UTF-8`, text: '', b64: invalidUtf8.toString('base64'), package: pkg, id})
    push('another package', {...clone(), package: 'other'})
    push('another id', {...clone(), id: id + 1})
    push('id as 3.0 text', JSON.stringify(base).replace(`"id":${id}`, `"id":${id}.0`))
    // not JSON, or not an object
    for (const text of ['', '{', 'null', '[]', '"manifest"', '1', JSON.stringify(base).slice(0, 100), `\uFEFF${JSON.stringify(base)}`]) push(`text ${JSON.stringify(text.slice(0, 20))}`, text)
  }
  return out
}

type Verdict = {ok: true} | {ok: false; reason?: string; file?: string | null}

function typescriptVerdict(c: Case): Verdict & {offendingPath?: string} {
  try {
    parseManifest('m.json', c.b64 === undefined ? Buffer.from(c.text, 'utf8') : Buffer.from(c.b64, 'base64'), {id: c.id, package: c.package})
    return {ok: true}
  } catch (error) {
    if (!(error instanceof UnsafeManifestError)) throw error
    return {ok: false, offendingPath: error.offendingPath}
  }
}

describe('manifest rules: the TypeScript and the Python reader agree', () => {
  it('on hundreds of damaged manifests made from real ones', async () => {
    const all = cases()
    const res = await execa(inject('airflowPython')['3'], ['-m', 'dagctl_airflow.check', '--classify-manifests'], {
      env: {...process.env, PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow')},
      input: JSON.stringify(all),
      reject: false,
    })
    expect(res.exitCode, res.stderr).toBe(0)
    const python = JSON.parse(res.stdout) as Verdict[]
    expect(python).toHaveLength(all.length)
    const disagreements: string[] = []
    all.forEach((c, i) => {
      const py = python[i]
      const ts = typescriptVerdict(c)
      if (py.ok !== ts.ok) disagreements.push(`${c.name}: python ${JSON.stringify(py)}, typescript ${JSON.stringify(ts)}`)
      else if (!py.ok && py.reason === 'path-outside-package' && py.file !== ts.offendingPath) {
        disagreements.push(`${c.name}: python names ${JSON.stringify(py.file)}, typescript ${JSON.stringify(ts.offendingPath)}`)
      }
    })
    expect(disagreements).toEqual([])
    expect(all.length).toBeGreaterThan(300)
    // the cases do exercise both answers and every manifest reason
    expect(new Set(python.map((v) => (v.ok ? 'ok' : v.reason)))).toEqual(new Set(['ok', 'manifest-invalid', 'path-outside-package']))
  })
})
