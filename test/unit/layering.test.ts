import {readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

const SRC = path.resolve(import.meta.dirname, '..', '..', 'src')

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []
  })
}

describe('layering', () => {
  it('src/<area>/ never imports oclif: flags and commands live in the command layer', () => {
    // The command layer: commands, the base command, the shared flag definitions, oclif hooks, the bundle's entries.
    const commandLayer = (rel: string) => rel.startsWith('commands/') || rel.startsWith('hooks/') || rel.startsWith('bundle/') || rel === 'base-command.ts' || rel === 'flags.ts'
    const offenders = files(SRC)
      .map((f) => path.relative(SRC, f).split(path.sep).join('/'))
      .filter((rel) => !commandLayer(rel) && /from '@oclif\//.test(readFileSync(path.join(SRC, rel), 'utf8')))
    expect(offenders).toEqual([])
  })
})
