import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'
import {repositoryFiles} from '../helpers/repo-files.js'

// The repository must run on a clone of itself alone: no file may reach for the folder of shared
// notes and fixtures that sits beside it on the developers' machines. The patterns are written so
// that this file does not match them itself.
const OUTSIDE = [
  /\.\.[\\/]+shared\b/, // the relative path, either separator
  /['"`]\.\.['"`]\s*,\s*['"`]shared['"`]/, // the same, given to path.join or path.resolve in pieces
  /\/work\/shared\b/, // the absolute path on these machines
]

/** Sample text with the dots and the root folder spelled out, so that this file holds no match. */
const unmask = (text: string) => text.replaceAll('DOTDOT', '..').replaceAll('/WORK/', '/work/')

function offenders(root: string): string[] {
  const found: string[] = []
  for (const rel of repositoryFiles(root)) {
    const bytes = readFileSync(path.join(root, rel))
    if (bytes.includes(0)) continue // binary
    const lines = bytes.toString('utf8').split('\n')
    lines.forEach((line, i) => {
      if (OUTSIDE.some((re) => re.test(line))) found.push(`${rel}:${i + 1}: ${line.trim()}`)
    })
  }
  return found
}

describe('the repository stands alone', () => {
  it('no file refers to the shared folder beside the repository', () => {
    expect(offenders(REPO_ROOT)).toEqual([])
  })

  it('the check finds such a reference (in a test, a doc or a script)', async () => {
    const {tempDir} = await import('../helpers/tmp.js')
    const dir = tempDir({
      'test/a.test.ts': unmask("const F = path.resolve(ROOT, 'DOTDOT', 'shared', 'fixtures')\n"),
      'docs/b.md': unmask('see DOTDOT/shared/DESIGN.md\n'),
      '.ci/run': unmask('cat /WORK/shared/NOTES.md\n'),
      'src/ok.ts': "const shared = sharedMoto() // 'shared' alone is fine\n",
      'node_modules/x/index.js': unmask("require('DOTDOT/shared')\n"),
    })
    expect(offenders(dir).map((f) => f.split(':')[0])).toEqual(['.ci/run', 'docs/b.md', 'test/a.test.ts'])
  })
})
