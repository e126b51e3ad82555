import {readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {COMMAND_LOADERS, COMMANDS} from '../../src/bundle/commands.js'

const SRC = path.resolve(import.meta.dirname, '..', '..', 'src')

function commandIds(dir: string, prefix: string[] = []): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name)
    if (statSync(p).isDirectory()) return commandIds(p, [...prefix, name])
    return name.endsWith('.ts') ? [[...prefix, name.replace(/\.ts$/, '')].join(':')] : []
  })
}

// The bundled CLI finds its commands in src/bundle/commands.ts (oclif's explicit strategy), not by
// listing src/commands/: a command file missing from the index would be missing from dagctl.
describe('the command index of the bundle', () => {
  it('names every file of src/commands/, under its id, and loads that file', async () => {
    expect(Object.keys(COMMANDS).sort()).toEqual(commandIds(path.join(SRC, 'commands')).sort())
    expect(Object.keys(COMMAND_LOADERS).sort()).toEqual(Object.keys(COMMANDS).sort())
    for (const [id, load] of Object.entries(COMMAND_LOADERS)) {
      const mod = (await import(path.join(SRC, 'commands', `${id.split(':').join('/')}.ts`))) as {default: unknown}
      expect((await load()).default, id).toBe(mod.default)
      expect(typeof COMMANDS[id].run, id).toBe('function')
    }
  })

  // the bundle sorts oclif's command list by code point, not with localeCompare (OCLIF_REWRITES in scripts/bundle.mjs)
  it('orders its ids the same by code point as by localeCompare', () => {
    const ids = Object.keys(COMMANDS)
    expect([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual([...ids].sort((a, b) => a.localeCompare(b)))
  })

  it('is the target package.json gives oclif, and the manifest holds every command with its flags', async () => {
    const pjson = JSON.parse(readFileSync(path.join(SRC, '..', 'package.json'), 'utf8'))
    expect(pjson.oclif.commands).toEqual({strategy: 'explicit', target: './dist/bundle/oclif.js', identifier: 'COMMANDS'})
    const manifest = JSON.parse(readFileSync(path.join(SRC, '..', 'oclif.manifest.json'), 'utf8'))
    expect(Object.keys(manifest.commands).sort()).toEqual(Object.keys(COMMANDS).sort())
    // the stand-ins carry no flags: the manifest's come from the command classes
    for (const [id, load] of Object.entries(COMMAND_LOADERS)) {
      const real = (await load()).default as unknown as {flags?: Record<string, unknown>; baseFlags?: Record<string, unknown>}
      const own = Object.keys({...real.baseFlags, ...real.flags})
      expect(own.length, id).toBeGreaterThan(0)
      expect(Object.keys(manifest.commands[id].flags), id).toEqual(expect.arrayContaining(own))
    }
  })
})
