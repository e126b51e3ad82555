import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {ManifestSchema, parseManifest, plainFiles} from '../../src/release/manifest.js'
import {REPO_ROOT} from '../helpers/cli.js'

// parseManifest checks `files` with a plain loop when every entry is plainly valid
// (src/release/manifest.ts, plainFiles) and leaves anything else to zod: what it returns must be
// what zod's parse of the whole manifest returns, byte for byte once serialised (key order too),
// and where zod refuses, the same refusal. The manifests: the store-conformance fixture's
// (test/fixtures/store-conformance/, packs included), and one entry changed in each way below.
const STORE = path.join(REPO_ROOT, 'test', 'fixtures', 'store-conformance', 'store', '_dagctl', 'dev')

function fixtures(): Array<{name: string; pkg: string; id: number; raw: Record<string, any>}> {
  const out = []
  for (const pkg of readdirSync(STORE)) {
    const dir = path.join(STORE, pkg, 'releases')
    for (const file of readdirSync(dir)) {
      try {
        out.push({name: `${pkg}/${file}`, pkg, id: Number(file.slice(0, 10)), raw: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, any>})
      } catch {
        // bad_json: not JSON at all, nothing to compare
      }
    }
  }
  return out
}

const SHA = 'a'.repeat(64)
const ENTRY_CHANGES: Array<[string, (e: Record<string, any>) => unknown]> = [
  ['an unknown key', (e) => ({...e, extra: 1})],
  ['keys in another order', (e) => ({since: e.since, ...(e.pack ? {pack: e.pack} : {}), size: e.size, sha256: e.sha256})],
  ['size 1.5', (e) => ({...e, size: 1.5})],
  ['size -1', (e) => ({...e, size: -1})],
  ['size 2^53', (e) => ({...e, size: 2 ** 53})],
  ['size as a string', (e) => ({...e, size: '12'})],
  ['since 0', (e) => ({...e, since: 0})],
  ['no since', (e) => ({sha256: e.sha256, size: e.size})],
  ['an upper-case sha256', (e) => ({...e, sha256: e.sha256.toUpperCase()})],
  ['a short sha256', (e) => ({...e, sha256: 'abc'})],
  ['pack null', (e) => ({...e, pack: null})],
  ['a pack', (e) => ({...e, pack: {id: SHA, offset: 0}})],
  ['a pack with an unknown key', (e) => ({...e, pack: {id: SHA, offset: 0, x: 1}})],
  ['a pack offset -1', (e) => ({...e, pack: {id: SHA, offset: -1}})],
  ['a pack without offset', (e) => ({...e, pack: {id: SHA}})],
  ['a pack id that is no sha256', (e) => ({...e, pack: {id: 'pack', offset: 0}})],
  ['an array', () => []],
  ['null', () => null],
]

/** what parseManifest gives, and what zod alone gives, for one manifest: data as JSON, or the error */
function both(raw: unknown, pkg: string, id: number): {ours: string; zods: string} {
  let ours: string
  try {
    ours = JSON.stringify(parseManifest('k', Buffer.from(JSON.stringify(raw)), {id, package: pkg}))
  } catch (error) {
    ours = `refused: ${(error as Error).message}`
  }
  const z = ManifestSchema.safeParse(raw)
  const zods = z.success ? JSON.stringify(z.data) : `refused: refusing k: ${z.error.issues[0].path.join('.')}: ${z.error.issues[0].message}`
  return {ours, zods}
}

// parseManifest's own checks around zod's: paths first and the format (before), the package and
// the id (after); a refusal of theirs is not zod's to match
const BEFORE_ZOD = /is not inside the package|written by a newer dagctl/
const AFTER_ZOD = /is not inside the package|belongs to package|says it is release/

function expectSame(raw: unknown, pkg: string, id: number, name: string): void {
  const {ours, zods} = both(raw, pkg, id)
  if (!ours.startsWith('refused')) expect(zods, name).toBe(ours)
  else if (zods.startsWith('refused')) expect(ours === zods || BEFORE_ZOD.test(ours), `${name}: ${ours} / ${zods}`).toBe(true)
  else expect(ours, name).toMatch(AFTER_ZOD)
}

describe("a manifest's files: the plain loop gives what zod gives", () => {
  it('on every fixture manifest, and each with one entry changed', () => {
    const all = fixtures()
    expect(all.some((f) => Object.values(f.raw.files ?? {}).some((e: any) => e?.pack))).toBe(true) // packs are among them
    let fast = 0
    let changes = 0
    for (const {name, pkg, id, raw} of all) {
      expectSame(raw, pkg, id, name)
      if (plainFiles(raw)) fast++
      const [first] = Object.keys(raw.files ?? {})
      if (first === undefined || typeof raw.files[first] !== 'object') continue
      for (const [change, apply] of ENTRY_CHANGES) {
        const changed = structuredClone(raw)
        changed.files[first] = apply(raw.files[first])
        expectSame(changed, pkg, id, `${name}, ${change}`)
        changes++
      }
    }
    expect(fast).toBeGreaterThan(5) // the loop took most of them
    expect(changes).toBeGreaterThan(100)
  })
})
