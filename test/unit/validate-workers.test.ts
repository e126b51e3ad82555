/**
 * How many worker processes the ast engine forks (python/dagctl_validate/ast_engine.py): one, on a
 * machine already busy with other work, but only when the tasks runnable right now agree with the
 * one-minute load average, which lags a minute behind a machine that has just gone quiet.
 */
import {execa} from 'execa'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'

async function engine(code: string): Promise<unknown> {
  const script = `import json, sys; sys.path.insert(0, sys.argv[1]); from dagctl_validate import ast_engine as e; print(json.dumps(${code}))`
  const {stdout} = await execa('python3', ['-c', script, path.join(REPO_ROOT, 'python')])
  return JSON.parse(stdout)
}

describe('the ast engine on a busy machine', () => {
  it('is busy when the load average and the tasks runnable now (beside its own) both reach the cores', async () => {
    // [cores, 1-minute load average, runnable now (this process included) or None]
    const cases: Array<[number, number, number | null, boolean]> = [
      [2, 0.5, 1, false], // quiet
      [2, 0.5, 9, false], // a burst that has not lasted: the average decides first
      [2, 4.0, 3, true], // busy, and still busy: two others ready to run
      [2, 4.0, 1, false], // the average still says busy, but the other job has ended: only this process runs
      [2, 4.0, 2, false], // one other task for two cores: a core is free
      [2, 4.0, null, true], // no /proc (macOS): the average alone, as before
      [4, 3.9, 8, false],
    ]
    const got = await engine(`[e.is_busy(c, l, r) for c, l, r in ${JSON.stringify(cases.map(([c, l, r]) => [c, l, r])).replaceAll('null', 'None')}]`)
    expect(got).toEqual(cases.map((c) => c[3]))
  })

  it('reads the tasks runnable now from /proc/loadavg, itself among them', async () => {
    const runnable = await engine('e.runnable_now()')
    expect(Number.isInteger(runnable)).toBe(true)
    expect(runnable as number).toBeGreaterThanOrEqual(1)
  })
})
