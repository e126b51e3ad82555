import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadConfig} from '../../src/config/load.js'
import {ConfigError} from '../../src/errors.js'
import {BUILTIN_TEMPLATES_DIR, createDagRenderer, createRenderEnvironment, lintTemplate, readTemplateDir} from '../../src/render/environment.js'
import {parseImport} from '../../src/render/imports.js'
import {loadSpec} from '../../src/spec/load.js'
import {buildRenderModel} from '../../src/spec/model.js'
import {buildSpecSchema} from '../../src/spec/schema.js'
import {builtinTaskTypes, loadPlatformTaskTypes} from '../../src/spec/task-types.js'
import {generate} from '../../src/render/generate.js'
import {tempDir} from '../helpers/tmp.js'

describe('template lint: every output goes through | py, | ident or | dotted', () => {
  const templates = readTemplateDir(BUILTIN_TEMPLATES_DIR)

  it('finds the shipped templates', () => {
    expect([...templates.keys()].sort()).toEqual(
      expect.arrayContaining(['dag.py.njk', 'partials/task-args.py.njk', 'tasks/bash.py.njk', 'tasks/empty.py.njk', 'tasks/kubernetes_pod.py.njk', 'tasks/python.py.njk']),
    )
  })

  for (const [name, {src}] of readTemplateDir(BUILTIN_TEMPLATES_DIR)) {
    it(`templates/${name} writes no value unfiltered`, () => {
      expect(lintTemplate(name, src)).toEqual([])
    })
  }

  it('catches every way of writing a value around the filter', () => {
    const cases: Array<[string, number]> = [
      ['x = {{ value }}', 1],
      ['x = {{ "a" ~ value | py }}', 1],
      ['x = {{ value | py | upper }}', 1],
      ['x = {{ value | safe }}', 1],
      ['x = {{ helper() }}', 1],
      ['{% if a %}\n  {% for v in vs %}\ny = {{ v.name }}\n{% endfor %}{% endif %}', 3],
      ['{% macro m(v) %}{{ v }}{% endmacro %}', 1],
      ['{% set s %}{{ raw }}{% endset %}', 1],
      ['x = {{ value | py }} + {{ other }}', 1],
    ]
    for (const [src, line] of cases) {
      const problems = lintTemplate('t.njk', src)
      expect(problems, src).toHaveLength(1)
      expect(problems[0].line, src).toBe(line)
    }
    expect(lintTemplate('ok.njk', 'x = {{ v | py }}\nfrom {{ m | dotted }} import {{ n | ident }}\n{# {{ comment }} #}{% raw %}{{ ds }}{% endraw %}')).toEqual([])
  })

  it('refuses a platform template that pastes a value, naming its file and line', () => {
    const file = path.join(tempDir(), 'bad.py.njk')
    let err: unknown
    try {
      createRenderEnvironment(new Map([['platform/bad.py.njk', {src: 'tasks[{{ task.id | py }}] = X(\n    cmd="{{ task.cmd }}",\n)\n', path: file}]]))
    } catch (error) {
      err = error
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).code).toBe('TEMPLATE_UNSAFE')
    expect((err as ConfigError).location).toMatchObject({file, line: 2})
  })
})

describe('spec values are data, never template source', () => {
  it('keeps {{ }} and {% %} in spec values as text in the generated file', () => {
    const dir = tempDir({
      'dagctl.yaml': 'package: team_a\n',
      'specs/t.yaml': [
        'name: t',
        'description: "{{ 7 * 7 }} {% for x in [1,2] %}{{ x }}{% endfor %}"',
        'tasks:',
        '  run:',
        '    type: bash',
        '    command: "echo {{ ds }} {{ dag.dag_id }} {% raw %}x{% endraw %}"',
        '',
      ].join('\n'),
    })
    generate({root: dir, config: loadConfig({cwd: dir, env: {}}).config, mode: 'write'})
    const out = readFileSync(path.join(dir, 'dags/generated/team_a_t.py'), 'utf8')
    expect(out).toContain('description="{{ 7 * 7 }} {% for x in [1,2] %}{{ x }}{% endfor %}"')
    expect(out).toContain('bash_command="echo {{ ds }} {{ dag.dag_id }} {% raw %}x{% endraw %}"')
    expect(out).not.toContain('49')
  })
})

describe('the inlined DAG template', () => {
  it('renders the same bytes as the include-based templates, platform types included', () => {
    const fixtures = path.resolve(import.meta.dirname, '..', 'fixtures', 'specs')
    const types = [...builtinTaskTypes(), ...loadPlatformTaskTypes(path.join(fixtures, 'platform', 'task_templates'))]
    const extra = new Map(types.filter((t) => t.file).map((t) => [t.template, {src: t.source!, path: t.file!}]))
    // whitespace a platform author might write: an indented include, one with whitespace control, one mid-line
    const odd = '{#- x -#}\ntasks[{{ task.id | py }}] = EmptyOperator(\n    task_id={{ task.id | py }},\n      {% include "partials/task-args.py.njk" %}\n)\n{%- include "partials/task-args.py.njk" -%}\n# {% include "partials/task-args.py.njk" %}\n'
    extra.set('platform/odd.py.njk', {src: odd, path: 'odd.py.njk'})
    types[types.findIndex((t) => t.name === 'empty')] = {...types.find((t) => t.name === 'empty')!, template: 'platform/odd.py.njk'}
    const renderer = createDagRenderer(extra, types.map((t) => t.template))
    const env = createRenderEnvironment(extra)
    const dir = tempDir({'dagctl.yaml': 'package: team_a\nimage: registry.example.com/x:1\n'})
    const schema = buildSpecSchema(types.map((t) => t.schema))
    const byName = new Map(types.map((t) => [t.name, t]))
    for (const version of [2, 3]) {
      const config = {...loadConfig({cwd: dir, env: {}}).config, airflow: {version: version as 2 | 3}}
      for (const spec of ['all-types.yaml', 'package/specs/upload.yaml']) {
        const file = path.join(fixtures, spec)
        const model = buildRenderModel(loadSpec(file, fixtures, schema), config, byName)
        const context = {...model, imports: model.imports.map(parseImport)}
        expect(renderer.render(context), `${spec} on Airflow ${version}`).toBe(env.render('dag.py.njk', context))
      }
    }
  })
})
