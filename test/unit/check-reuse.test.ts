/**
 * planReuse (src/check/reuse.ts), the decision of which files a publish parses again, on its own:
 * the contract suite (test/contract/publish-validation-reuse.test.ts) runs it with real stores and
 * the real helper; this covers the edges that are costly to build there.
 */
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {planReuse, type Fingerprint, type HeadValidation, type PublishFile} from '../../src/check/reuse.js'

const FP: Fingerprint = {dagctl: '1.0.0', engine: 'ast', engineCode: 'abc', python: 'CPython 3.12.1', package: 'team_a', airflow: '3', dags: 'dags', rules: '[]', engineOptions: '[]', pythonTarget: ''}

function file(path: string, body: string): PublishFile {
  return {path, abs: `/pkg/dags/${path}`, sha256: createHash('sha256').update(body).digest('hex'), body: Buffer.from(body)}
}

function digest(files: PublishFile[]): string {
  const h = createHash('sha256')
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) h.update(`${f.path}\0${f.sha256}\n`)
  return h.digest('hex')
}

function head(files: PublishFile[], ownModules: string[], fingerprint = FP): HeadValidation {
  return {
    files: Object.fromEntries(files.map((f) => [f.path, {sha256: f.sha256}])),
    record: {fingerprint, ownModules: ownModules.join(','), dags: Object.fromEntries(files.map((f) => [f.path, `3:6:team_a_${f.path.replace('.py', '')}`])), files: digest(files)},
  }
}

describe('planReuse', () => {
  const a = file('a.py', 'import helpers\n')
  const b = file('b.py', 'x = 1\n')
  const modules = ['a', 'b']

  it('reuses unchanged files and hands back their DAGs as [id, line, column]', () => {
    const plan = planReuse(head([a, b], modules), FP, modules, [a, b])
    expect(plan.validate).toEqual([])
    expect(plan.known.get('a.py')).toEqual({dags: [['team_a_a', 3, 6]]})
  })

  it('a changed file is validated, the others reused', () => {
    const b2 = file('b.py', 'x = 2\n')
    const plan = planReuse(head([a, b], modules), FP, modules, [a, b2])
    expect(plan.validate.map((f) => f.path)).toEqual(['b.py'])
    expect([...plan.known.keys()]).toEqual(['a.py'])
  })

  it('any fingerprint key that differs validates everything and names the key', () => {
    for (const key of Object.keys(FP)) {
      const plan = planReuse(head([a, b], modules, {...FP, [key]: `${FP[key]}-other`}), FP, modules, [a, b])
      expect(plan.validate).toHaveLength(2)
      expect(plan.reason).toContain(key)
    }
  })

  it('the airflow engine never reuses', () => {
    expect(planReuse(head([a, b], modules), {...FP, engine: 'airflow'}, modules, [a, b]).validate).toHaveLength(2)
  })

  it('a module name added since HEAD re-validates the unchanged files that mention it; too many such names validate everything', () => {
    const plan = planReuse(head([a, b], modules), FP, [...modules, 'helpers'], [a, b])
    expect(plan.validate.map((f) => f.path)).toEqual(['a.py'])
    const many = Array.from({length: 21}, (_, i) => `m${i}`)
    expect(planReuse(head([a, b], modules), FP, [...modules, ...many], [a, b]).reason).toMatch(/21 of the package's module names changed/)
  })

  it('a record that does not describe HEAD\'s files (a rollback of one DAG) is not trusted', () => {
    const h = head([a, b], modules)
    const b2 = file('b.py', 'x = 2\n')
    h.files['b.py'] = {sha256: b2.sha256}
    const plan = planReuse(h, FP, modules, [a, b2])
    expect(plan.validate).toHaveLength(2)
    expect(plan.reason).toMatch(/rollback of one DAG/)
  })
})
