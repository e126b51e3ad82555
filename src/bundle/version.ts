// `dagctl --version` (the first argument, as oclif reads it): the line oclif prints, its Config's
// userAgent, without starting oclif. bin/run.js comes here before it loads oclif's chunk, so the
// answer costs about what Node's own start does; test/e2e/version.test.ts holds it to oclif's.
import {readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import isWsl from 'is-wsl'

export function versionLine(root: string): string {
  const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {name: string; version?: string}
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
  return `${pjson.name}/${pjson.version || '0.0.0'} ${isWsl ? 'wsl' : os.platform()}-${arch} node-${process.version}`
}
