import {Config} from '@oclif/core'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'

// bin/run.js answers --version itself (src/bundle/version.ts), without loading oclif: the line must
// stay the one oclif prints, its Config's userAgent, for scripts that parse it.
describe('dagctl --version', () => {
  it("prints oclif's own version line, and only that", async () => {
    const expected = (await Config.load(REPO_ROOT)).userAgent
    expect(expected).toMatch(/^dagctl\/\d+\.\d+\.\d+\S* \S+-\S+ node-v\d+/)
    for (const args of [['--version'], ['--version', '--json'], ['--version', 'trigger']]) {
      const res = await runCli(args)
      expect(res.exitCode, res.stderr).toBe(0)
      expect(res.stdout, args.join(' ')).toBe(expected)
      expect(res.stderr).toBe('')
    }
  })
})
