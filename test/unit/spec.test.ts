import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'

import {loadConfig} from '../../src/config/load.js'
import {ConfigError, DagctlError, PolicyError} from '../../src/errors.js'
import {parseYamlSource} from '../../src/config/yaml-source.js'
import {pyLiteral} from '../../src/render/python-literal.js'
import {fastYaml, loadSpec} from '../../src/spec/load.js'
import {buildRenderModel, imageAllowed, mergeTags, qualifiedImage} from '../../src/spec/model.js'
import {cronProblem, scheduleProblem} from '../../src/spec/schedule.js'
import {buildSpecSchema} from '../../src/spec/schema.js'
import {builtinTaskTypes, loadPlatformTaskTypes} from '../../src/spec/task-types.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'
import {TRICKY_STRINGS} from '../fixtures/specs/tricky-values.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'specs')

const types = builtinTaskTypes()
const schema = buildSpecSchema(types.map((t) => t.schema))
const ROOT = '/pkg'

function errorOf(fn: () => unknown): DagctlError {
  try {
    fn()
  } catch (error) {
    if (error instanceof DagctlError) return error
    throw error
  }
  throw new Error('expected a DagctlError')
}

const load = (text: string) => loadSpec(path.join(ROOT, 'specs/s.yaml'), ROOT, schema, text)

/** Bad specs: each names the file, the line and the key. */
const BAD_SPECS: Array<{what: string; text: string; line: number; key?: string; message: RegExp}> = [
  {what: 'malformed YAML', text: 'name: x\ntasks:\n  a: {type: empty\n', line: 4, message: /not valid YAML/},
  {what: 'unknown top-level key', text: 'name: x\nschedul: "@daily"\ntasks:\n  a: {type: empty}\n', line: 2, key: 'schedul', message: /unknown key 'schedul'/},
  {what: 'unknown task key', text: 'name: x\ntasks:\n  a:\n    type: bash\n    comand: ls\n    command: ls\n', line: 5, key: 'tasks.a.comand', message: /unknown key 'comand'/},
  {what: 'wrong type', text: 'name: x\nmax_active_runs: two\ntasks:\n  a: {type: empty}\n', line: 2, key: 'max_active_runs', message: /expected number/},
  {what: 'missing required field', text: 'name: x\ntasks:\n  a:\n    type: python\n', line: 4, key: 'tasks.a.callable', message: /required/},
  {what: 'missing tasks', text: 'name: x\n', line: 1, key: 'tasks', message: /'tasks' is required/},
  {what: 'no tasks', text: 'name: x\ntasks: {}\n', line: 2, key: 'tasks', message: /at least one task/},
  {what: 'unknown task type', text: 'name: x\ntasks:\n  a:\n    type: sftp_upload\n', line: 4, key: 'tasks.a.type', message: /unknown task type "sftp_upload".*kubernetes_pod/},
  {what: 'task without type', text: 'name: x\ntasks:\n  a:\n    command: ls\n', line: 4, key: 'tasks.a.type', message: /needs a type/},
  {what: 'bad task id', text: 'name: x\ntasks:\n  ok: {type: empty}\n  "bad id!": {type: empty}\n', line: 4, key: 'tasks.bad id!', message: /bad id 'bad id!'/},
  {what: 'bad DAG name', text: 'name: "my dag"\ntasks:\n  a: {type: empty}\n', line: 1, key: 'name', message: /letters, digits/},
  {what: 'unknown depends_on', text: 'name: x\ntasks:\n  a: {type: empty}\n  b:\n    type: empty\n    depends_on: [a, c]\n', line: 6, key: 'tasks.b.depends_on[1]', message: /unknown task 'c'/},
  {what: 'depends on itself', text: 'name: x\ntasks:\n  a:\n    type: empty\n    depends_on: a\n', line: 5, key: 'tasks.a.depends_on', message: /depends on itself/},
  {what: 'bad cron', text: 'name: x\nschedule: "61 * * * *"\ntasks:\n  a: {type: empty}\n', line: 2, key: 'schedule', message: /minute field/},
  {what: 'bad preset', text: 'name: x\nschedule: "@fortnightly"\ntasks:\n  a: {type: empty}\n', line: 2, key: 'schedule', message: /unknown preset/},
  {what: 'bad time zone', text: 'name: x\ntimezone: Mars/Olympus\ntasks:\n  a: {type: empty}\n', line: 2, key: 'timezone', message: /time zone/},
  {what: 'bad start date', text: 'name: x\nstart_date: 2024-02-30\ntasks:\n  a: {type: empty}\n', line: 2, key: 'start_date', message: /calendar date/},
  {what: 'secret env without key', text: 'name: x\ntasks:\n  a:\n    type: kubernetes_pod\n    secrets:\n      - {secret: s, env: X}\n', line: 6, key: 'tasks.a.secrets[0].key', message: /needs the key/},
  {what: 'bad duration', text: 'name: x\ndefault_args:\n  retry_delay: 5 minutes\ntasks:\n  a: {type: empty}\n', line: 3, key: 'default_args.retry_delay', message: /duration/},
  {what: 'not a mapping', text: '- a\n- b\n', line: 1, message: /mapping/},
]

describe('a bad spec names the file, the line and the key (exit 2)', () => {
  for (const c of BAD_SPECS) {
    it(c.what, () => {
      const err = errorOf(() => load(c.text))
      expect(err).toBeInstanceOf(ConfigError)
      expect(err.exitCode).toBe(2)
      expect(err.message).toMatch(c.message)
      expect(err.location.file).toBe(path.join(ROOT, 'specs/s.yaml'))
      expect(err.location.line).toBe(c.line)
      if (c.key) expect(err.location.key).toBe(c.key)
    })
  }

  it('names every task of a cycle', () => {
    const err = errorOf(() => load('name: x\ntasks:\n  a: {type: empty, depends_on: c}\n  b: {type: empty, depends_on: a}\n  c: {type: empty, depends_on: b}\n  d: {type: empty}\n'))
    expect(err.code).toBe('SPEC_CYCLE')
    expect(err.message).toMatch(/cycle: a → c → b → a|cycle: a → b → c → a/)
    expect((err.details as {cycle: string[]}).cycle.sort()).toEqual(['a', 'a', 'b', 'c'])
    expect(err.location.key).toMatch(/^tasks\.[abc]\.depends_on$/)
    expect(err.location.line).toBeGreaterThanOrEqual(3)
  })

  it('refuses a spec path that could not be written safely into a comment', () => {
    const err = errorOf(() => loadSpec(path.join(ROOT, 'specs/evil\nimport os.yaml'), ROOT, schema, 'name: x\ntasks:\n  a: {type: empty}\n'))
    expect(err.message).toMatch(/file name/)
  })
})

describe('schedules', () => {
  it('accepts cron, presets and intervals', () => {
    for (const ok of ['0 6 * * *', '*/15 0-6,22 1 JAN-MAR mon-fri', '0 0 * * 7', '@daily', '@continuous', '30m', '6h', '1d', '45s']) expect(scheduleProblem(ok), ok).toBeUndefined()
    for (const bad of ['0 6 * *', '0 24 * * *', '* * 0 * *', '* * * 13 *', '@daily2', '0m', 'daily']) expect(scheduleProblem(bad), bad).toBeDefined()
    expect(cronProblem('0 6 * * * *')).toMatch(/5 fields/)
  })
})

describe('policy defaults: platform < package < spec', () => {
  const spec = (text: string) => load(text)
  const config = (yaml: string) => {
    const dir = tempDir({'platform.yaml': 'policy:\n  owner: platform\n  retries: 1\n  tags: [platform, shared]\n  resources:\n    requests: {cpu: 100m, memory: 128Mi}\n    limits: {memory: 256Mi}\n  namespace: jobs\n', 'dagctl.yaml': yaml})
    return loadConfig({cwd: dir, env: {}}).config
  }
  const byName = new Map(types.map((t) => [t.name, t]))

  it('merges owner, retries, tags and pod resources', () => {
    const cfg = config('extends: platform.yaml\npackage: team_a\nimage: registry.example.com/a:1\npolicy:\n  retries: 2\n  retry_delay: 5m\n  tags: [team-a, shared]\n')
    const model = buildRenderModel(
      spec('name: x\ntags: [nightly, team-a]\ndefault_args: {retries: 5}\ntasks:\n  p:\n    type: kubernetes_pod\n    resources: {limits: {memory: 1Gi, cpu: 2}}\n'),
      cfg,
      byName,
    )
    expect(model.dag.dag_id).toBe('team_a_x')
    expect(model.dag.default_args).toMatchObject({owner: 'platform', retries: 5, retry_delay: 300})
    expect(model.dag.tags).toEqual(['team-a', 'shared', 'nightly'])
    const pod = model.dag.tasks[0]
    expect(pod.image).toBe('registry.example.com/a:1')
    expect(pod.namespace).toBe('jobs')
    expect(pod.resources).toEqual({requests: {cpu: '100m', memory: '128Mi'}, limits: {memory: '1Gi', cpu: '2'}})
  })

  it('tags: a union in order without duplicates', () => {
    expect(mergeTags(['a', 'b'], ['b', 'c', 'a'], undefined)).toEqual(['a', 'b', 'c'])
  })

  it('refuses an image outside policy.allowed_registries with exit 5 at the image line', () => {
    const cfg = config('package: team_a\nimage: registry.example.com/a:1\npolicy:\n  allowed_registries: [registry.example.com]\n')
    const err = errorOf(() => buildRenderModel(spec('name: x\ntasks:\n  ok: {type: kubernetes_pod}\n  pod:\n    type: kubernetes_pod\n    image: docker.io/evil/miner:latest\n'), cfg, byName))
    expect(err).toBeInstanceOf(PolicyError)
    expect(err.exitCode).toBe(5)
    expect(err.location).toMatchObject({line: 6, key: 'tasks.pod.image'})
  })

  it('a kubernetes_pod task needs an image from the task or dagctl.yaml', () => {
    const err = errorOf(() => buildRenderModel(spec('name: x\ntasks:\n  pod: {type: kubernetes_pod}\n'), config('package: team_a\n'), byName))
    expect(err.exitCode).toBe(2)
    expect(err.location).toMatchObject({line: 3, key: 'tasks.pod.image'})
  })

  it('matches registries by host and path, not by a string prefix', () => {
    expect(qualifiedImage('python:3.12')).toBe('docker.io/library/python:3.12')
    expect(qualifiedImage('bitnami/spark')).toBe('docker.io/bitnami/spark')
    expect(imageAllowed('registry.example.com/a/b:1', ['registry.example.com'])).toBe(true)
    expect(imageAllowed('registry.example.com.evil.io/a:1', ['registry.example.com'])).toBe(false)
    expect(imageAllowed('python:3.12', ['docker.io/library/'])).toBe(true)
    expect(imageAllowed('python:3.12', ['registry.example.com/'])).toBe(false)
    expect(imageAllowed('registry.example.com/team_b/x', ['registry.example.com/team_a/'])).toBe(false)
    expect(imageAllowed('localhost:5000/x', ['localhost:5000'])).toBe(true)
  })
})

describe('dagctl.yaml errors (shared loader, reportInput)', () => {
  it('says a value has the wrong type instead of calling it missing', () => {
    const dir = tempDir({'dagctl.yaml': 'package: a\npolicy:\n  retries: "three"\n'})
    const err = errorOf(() => loadConfig({cwd: dir, env: {}}))
    expect(err.message).toMatch(/policy\.retries: .*expected number/)
    expect(err.message).not.toMatch(/required/)
    expect(err.location).toMatchObject({line: 3, key: 'policy.retries'})
  })
})

describe("a platform's task type headers", () => {
  const header = (body: string) => `{#- dagctl-task-type\n${body}-#}\ntasks[{{ task.id | py }}] = X(\n    task_id={{ task.id | py }},\n{% include "partials/task-args.py.njk" %}\n)\n`
  const cases: Array<{what: string; files: Record<string, string>; message: RegExp; line?: number}> = [
    {what: 'no header', files: {'t.py.njk': 'tasks[{{ task.id | py }}] = X()\n'}, message: /does not start with/, line: 1},
    {what: 'unknown header key', files: {'t.py.njk': header('description: x\nfeilds: {}\n')}, message: /unknown key 'feilds'/, line: 3},
    {what: 'bad field type', files: {'t.py.njk': header('fields:\n  host: {type: hostname}\n')}, message: /fields\.host\.type/, line: 3},
    {what: 'not an import line', files: {'t.py.njk': header('imports:\n  - "import os; os.system(1)"\n')}, message: /import line/, line: 3},
    {what: 'reserved field', files: {'t.py.njk': header('fields:\n  retries: {type: integer}\n')}, message: /reserved/},
    {what: "a built-in's name", files: {'bash.py.njk': header('description: x\n')}, message: /built-in/},
  ]
  for (const c of cases) {
    it(`refuses ${c.what} (exit 2, at the template)`, () => {
      const dir = tempDir(c.files)
      const err = errorOf(() => loadPlatformTaskTypes(dir))
      expect(err.exitCode).toBe(2)
      expect(err.message).toMatch(c.message)
      expect(err.location.file).toBe(path.join(dir, Object.keys(c.files)[0]))
      if (c.line) expect(err.location.line).toBe(c.line)
    })
  }

  it('turns the header into a checked schema', () => {
    const [type] = loadPlatformTaskTypes(tempDir({'sftp_upload.py.njk': header('fields:\n  host: {type: string, required: true}\n  port: {type: integer}\n  mode: {type: string, enum: [put, get]}\nimports: {airflow2: ["from a import B"], airflow3: ["from c.d import E as F"]}\n')}))
    expect(type.imports).toEqual({2: ['from a import B'], 3: ['from c.d import E as F']})
    expect(type.schema.safeParse({type: 'sftp_upload', host: 'h', port: 22, mode: 'put', depends_on: 'x'}).success).toBe(true)
    expect(type.schema.safeParse({type: 'sftp_upload', port: 22}).success).toBe(false)
    expect(type.schema.safeParse({type: 'sftp_upload', host: 'h', mode: 'delete'}).success).toBe(false)
    expect(type.schema.safeParse({type: 'sftp_upload', host: 'h', extra: 1}).success).toBe(false)
  })
})

describe('the fast YAML path reads what yaml-source reads, or steps aside', () => {
  const SNIPPETS = [
    'a: 017', 'a: 0o17', 'a: 0x1F', 'a: .inf', 'a: -.Inf', 'a: .nan', 'a: ~', 'a: Null', 'a: TRUE', 'a: yes', 'a: on', 'a: 1e3', 'a: 1_000', 'a: +12',
    'a: -0', 'a: 0.', 'a: .5', 'a: 2024-01-01', 'a: 12:30:00', 'a: 1:20', 'true: 1', '1: x', 'null: y', '~: z', '1.5: f', '"q": x', 'a: |\n  l1\n  l2\n',
    'a: |-\n  l1\n', 'a: >\n  f1\n  f2\n\n  f3\n', 'a: >+\n  k\n\n', 'a: "\\x41\\u00e9\\U0001F600\\t\\N\\_\\/\\0\\a\\e\\L\\P"', "a: 'it''s'",
    'a: {b: [1, 2], c: {d: e}}', 'a: plain\n  continued\n  lines', '---\na: 1\n...', '? k\n: v', 'a: !!str 12', 'a: !!float 1', 'a: "multi\n  line"',
    'a: [a, b, ]', 'a: -1e-3', 'a: 9007199254740993', 'a: 0b101', 'a: 1e400', 'a: x # c', 'a: "# not c"', 'a:\n- 1\n- - 2\n  - 3', 'a: =', '<<: {b: 1}',
    'a: !custom x', 'a: &x [1]\nb: *x', 'a: "\ttab"', "a: 'a\n\n  b'", 'command: echo a && b || c & d', 'cron: "0 6 * * *"', 'a: [*, x]', 'a: {__proto__: {b: 1}}',
    ...['all-types.yaml', 'package/specs/upload.yaml'].map((f) => readFileSync(path.join(FIXTURES, f), 'utf8')),
    stringify({tricky: TRICKY_STRINGS.filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))}),
  ]
  it('on every snippet', () => {
    for (const text of SNIPPETS) {
      const fast = fastYaml(text)
      if (fast === undefined) continue
      // Compared as the Python they become (0 and -0 are both the integer 0 there).
      expect(pyLiteral(fast), text).toBe(pyLiteral(parseYamlSource('x.yaml', text, 'spec').data))
    }
    // and it does take the fast path for ordinary specs
    expect(fastYaml(SNIPPETS.at(-3)!)).toBeDefined()
    expect(fastYaml('a: &x [1]\nb: *x')).toBeUndefined()
  })
})
