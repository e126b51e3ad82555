import {execa} from 'execa'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

/** Shell completion (@oclif/plugin-autocomplete, wired in package.json): the bash function it builds completes dagctl's commands, topics and flags. */
describe('dagctl autocomplete', () => {
  it('is a plugin of package.json, and its bash completion completes commands, topic commands and flags', async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'))
    expect(pkg.oclif.plugins).toContain('@oclif/plugin-autocomplete')
    const home = tempDir()
    const env = {HOME: home, XDG_CACHE_HOME: path.join(home, '.cache')}
    const built = await runCli(['autocomplete', '--refresh-cache'], {env})
    expect(built.exitCode, built.stderr).toBe(0)
    const fn = path.join(home, '.cache', 'dagctl', 'autocomplete', 'functions', 'bash', 'dagctl.bash')
    const complete = async (line: string) => {
      const words = line.split(' ')
      const script = `source ${JSON.stringify(fn)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE=${JSON.stringify(line)}; _dagctl_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`
      return (await execa('bash', ['-c', script])).stdout.split('\n').filter(Boolean)
    }
    expect(await complete('dagctl pub')).toEqual(['publish'])
    expect(await complete('dagctl publish --allow-m')).toEqual(['--allow-mass-removal'])
    expect(await complete('dagctl python s')).toEqual(['setup'])
    expect(await complete('dagctl init --c')).toEqual(expect.arrayContaining(['--ci', '--config']))
  })
})
