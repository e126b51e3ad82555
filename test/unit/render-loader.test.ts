import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {generatedHeader, generatedSources} from '../../src/render/header.js'
import {groupDags, parseLayout, renderGroupFiles} from '../../src/render/layout.js'
import {isLoaderModule, moduleSegments, renderLoaderFiles, splitImports, withoutWord} from '../../src/render/loader.js'
import {pyLiteral} from '../../src/render/python-literal.js'
import {TRICKY_STRINGS} from '../fixtures/specs/tricky-values.js'

/**
 * The loader layout's module must never hold the word "airflow" (any case): Airflow's safe mode
 * then does not parse it as a DAG file. Rewriting it must keep every value and name the same
 * (checked with real python3).
 */

const dag = (id: string, body: string, imports = ['from airflow.sdk import DAG']) => ({
  dagId: id,
  source: `specs/${id}.yaml`,
  content: `${generatedHeader(`specs/${id}.yaml`)}from datetime import timedelta\n\nimport pendulum\n${imports.join('\n')}\n\n\n${body}\n`,
})

function python(script: string, input: string): string {
  return execFileSync('python3', ['-c', script], {encoding: 'utf8', input})
}

describe('layout loader:N', () => {
  it('parses loader:N; groups as batch:N does, into a loader and its module of the same name under _dagctl/', () => {
    expect(parseLayout('loader:50')).toEqual({kind: 'loader', size: 50})
    expect(() => parseLayout('loader:0')).toThrow(/generate.layout/)
    const dags = ['team_a_c', 'team_a_a', 'team_a_b'].map((id) => dag(id, `dag = DAG(dag_id=${JSON.stringify(id)})`))
    const groups = groupDags({kind: 'loader', size: 2}, 'team_a', dags)
    expect(groups.map((g) => [g.name, g.dags.map((d) => d.dagId)])).toEqual([
      ['team_a-loader-001.py', ['team_a_a', 'team_a_b']],
      ['team_a-loader-002.py', ['team_a_c']],
    ])
    const files = renderGroupFiles({kind: 'loader', size: 2}, groups[0])
    expect(files.map((f) => f.name)).toEqual(['team_a-loader-001.py', '_dagctl/team_a-loader-001.py'])
    // the loader is what Airflow parses: both words, the map of DAG -> spec
    expect(files[0].content.split('\n')[0]).toBe('# dagctl:generated layout=loader:2 dags=2')
    expect(generatedSources(files[0].content)).toEqual([
      {dagId: 'team_a_a', source: 'specs/team_a_a.yaml'},
      {dagId: 'team_a_b', source: 'specs/team_a_b.yaml'},
    ])
    expect(files[0].content).toContain('from airflow.sdk import DAG')
    // the module: generated (so --clean may remove it), one function per DAG, no import, no "airflow"
    expect(isLoaderModule(files[1].content)).toBe(true)
    expect(generatedSources(files[1].content)).toEqual([])
    expect(moduleSegments(files[1].content)).toHaveLength(2)
    expect(files[1].content).not.toMatch(/airflow/i)
    expect(files[1].content).not.toMatch(/^\s*(from|import) /m)
  })

  it('the module never holds the word: values (any case, in any quoting) keep their value, comments are respelled, imported names are renamed', () => {
    const values = ['Airflow', 'AIRFLOW airflow', 'x\\airflow', ...TRICKY_STRINGS.map(String)]
    const body = [
      '# Airflow runs this',
      `VALUES = [${values.map((v) => pyLiteral(v)).join(', ')}, 'airflow', """triple AirFlow""", b"airflow"]`,
      'def fail():',
      '    raise AirflowFailException("Airflow says no")',
      'x = some.AirflowFailException',
      'dag = DAG(dag_id="team_a_x")',
    ].join('\n')
    const files = renderLoaderFiles('loader:50', 'team_a-loader-001.py', [dag('team_a_x', body, ['from airflow.sdk import DAG', 'from airflow.exceptions import AirflowFailException'])])
    // the one occurrence left is the attribute (below)
    expect(files.moduleNamesAirflow).toBe(true)
    expect(files.module.match(/airflow/gi)).toEqual(['Airflow'])
    expect(files.module).toContain('# Air-flow runs this')
    expect(files.module).toContain('raise _dagctl_AFFailException(')
    // an attribute is not the imported name: left as it is (and the module then names the word)
    expect(files.module).toContain('x = some.AirflowFailException')
    expect(files.loader).toContain('\nfrom airflow.exceptions import AirflowFailException\n_dagctl_AFFailException = AirflowFailException\n')
    // the values are the same Python values
    const script = `
import ast, json, sys
src = sys.stdin.read()
tree = ast.parse(src)
fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
assign = next(n for n in fn.body if isinstance(n, ast.Assign) and n.targets[0].id == "VALUES")
print(json.dumps([v if isinstance(v, str) else v.decode() for v in ast.literal_eval(assign.value)]))
`
    const moduleWithoutAttribute = files.module.replace('x = some.AirflowFailException', 'x = None')
    expect(moduleWithoutAttribute).not.toMatch(/airflow/i)
    expect(JSON.parse(python(script, moduleWithoutAttribute))).toEqual([...values, 'airflow', 'triple AirFlow', 'airflow'])
  })

  it('hoists each import once; a DAG whose import binds a name to something else keeps its imports in its function', () => {
    const a = dag('team_a_a', 'dag = DAG(dag_id="team_a_a")\ntasks = [Op()]', ['from airflow.sdk import DAG', 'from one.ops import Op'])
    const b = dag('team_a_b', 'dag = DAG(dag_id="team_a_b")\ntasks = [Op()]', ['from airflow.sdk import DAG', 'from two.ops import Op'])
    const c = dag('team_a_c', 'dag = DAG(dag_id="team_a_c")', ['from airflow.sdk import DAG', 'import kubernetes.client'])
    const files = renderLoaderFiles('loader:50', 'team_a-loader-001.py', [a, b, c])
    expect(files.loader.match(/^from airflow\.sdk import DAG$/gm)).toHaveLength(1)
    expect(files.loader).toContain('from one.ops import Op')
    expect(files.loader).not.toContain('two.ops')
    const [, second] = moduleSegments(files.module)
    expect(second).toContain('    from two.ops import Op')
    // the clash keeps an airflow import in the module: Airflow then parses it as well (harmless: no DAG at its top level)
    expect(files.moduleNamesAirflow).toBe(true)
    expect(splitImports(c.content).imports).toEqual(['from datetime import timedelta', 'import pendulum', 'from airflow.sdk import DAG', 'import kubernetes.client'])
  })

  it('python3 compiles the loader and the module', () => {
    const files = renderLoaderFiles('loader:50', 'team_a-loader-001.py', [dag('team_a_a', 'dag = DAG(dag_id="team_a_a")')])
    const check = 'import sys; compile(sys.stdin.read(), "x.py", "exec"); print("ok")'
    expect(python(check, files.loader).trim()).toBe('ok')
    expect(python(check, files.module).trim()).toBe('ok')
  })
})
