import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {DiscoverSettings} from '../../src/config/schema.js'
import {discoverJobs, layoutOf} from '../../src/discover/discover.js'
import {airflowRetry} from '../../src/discover/retry.js'
import {tempDir} from '../helpers/tmp.js'

const ok = 'def run(argv):\n    return 0\n\n\n'

async function discover(files: Record<string, string>, settings: Record<string, unknown> = {}, raw: Record<string, Buffer> = {}) {
  const dir = tempDir(files, 'dagctl-discover-unit-')
  for (const [rel, bytes] of Object.entries(raw)) writeFileSync(path.join(dir, rel), bytes)
  return {dir, result: await discoverJobs({base: dir, settings: DiscoverSettings.parse(settings)})}
}

describe('discover: odd files are problems with a line and a reason, never a crash', () => {
  it('NUL bytes, bytes that are not UTF-8, absurd nesting, JOB twice, a list, a class, a non-literal or invalid constant, a path python -m cannot import', async () => {
    const {result} = await discover({
      'packages/a/jobs/annotated.py': `${ok}JOB: tuple = (run, "annotated")\n`,
      'packages/a/jobs/twice.py': `${ok}JOB = (run, "one")\nJOB = (run, "two")\n`,
      'packages/a/jobs/as_list.py': `${ok}JOB = [run, "a list"]\n`,
      'packages/a/jobs/a_class.py': 'class run:\n    pass\n\n\nJOB = (run, "a class")\n',
      'packages/a/jobs/not_literal.py': `import os\nTENANT = os.environ["T"]\n${ok}JOB = (run, "x")\n`,
      'packages/a/jobs/bad_name.py': `NAME = "no spaces allowed"\n${ok}JOB = (run, "x")\n`,
      'packages/a/jobs/my-job.py': `${ok}JOB = (run, "x")\n`,
      'packages/a/jobs/nested.py': `JOB = (run, ${'('.repeat(5000)}1${')'.repeat(5000)})\n`,
    }, {}, {
      'packages/a/jobs/nul.py': Buffer.from(`${ok}JOB = (run, "x")\n\0\n`),
      'packages/a/jobs/latin1.py': Buffer.concat([Buffer.from(`${ok}JOB = (run, "caf`), Buffer.from([0xe9]), Buffer.from('")\n')]),
    })
    expect(result.jobs.map((j) => [j.id, j.description])).toEqual([['a_annotated', 'annotated']])
    expect(result.problems.map((p) => [p.file, p.code])).toEqual([
      ['packages/a/jobs/a_class.py', 'entrypoint-not-function'],
      ['packages/a/jobs/as_list.py', 'job-not-pair'],
      ['packages/a/jobs/bad_name.py', 'meta-invalid'],
      ['packages/a/jobs/latin1.py', 'syntax-error'],
      ['packages/a/jobs/my-job.py', 'module-not-importable'],
      ['packages/a/jobs/nested.py', 'syntax-error'],
      ['packages/a/jobs/not_literal.py', 'meta-not-literal'],
      ['packages/a/jobs/nul.py', 'syntax-error'],
      ['packages/a/jobs/twice.py', 'job-twice'],
    ])
    expect(result.problems.find((p) => p.code === 'job-twice')).toMatchObject({line: 6})
    expect(result.problems.find((p) => p.code === 'meta-not-literal')).toMatchObject({line: 2})
  })

  it('another layout: the first * is the package, the job name is the path after the last fixed folder', async () => {
    const {result} = await discover(
      {'src/team_x/tasks/load/full.py': `${ok}JOB = (run, "x")\n`, 'src/team_x/other/skip.py': `${ok}JOB = (run, "x")\n`},
      {pattern: 'src/*/tasks/**/*.py'},
    )
    expect(result.jobs.map((j) => [j.id, j.package, j.module])).toEqual([['team_x_load_full', 'team_x', 'tasks.load.full']])
    expect(() => layoutOf('jobs/**/*.py')).toThrow(/no "\*" segment/)
  })
})

describe('retry policy → Airflow task arguments', () => {
  const policy = {max_retries: 3, initial_delay: '30s', backoff_multiplier: 2.5, max_delay: '10m', retryable_exit_codes: [75, 75, 3]}
  it('Airflow 3 takes the multiplier; Airflow 2.11 only a flag (its multiplier is 2)', () => {
    expect(airflowRetry(policy, 3)).toEqual({retries: 3, retry_delay: 30, retry_exponential_backoff: 2.5, max_retry_delay: 600, retryable_exit_codes: [3, 75]})
    expect(airflowRetry(policy, 2)).toMatchObject({retry_exponential_backoff: true})
    expect(airflowRetry({max_retries: 1, backoff_multiplier: 1}, 3)).toEqual({retries: 1})
    expect(airflowRetry(4, 3)).toEqual({retries: 4})
  })
})
