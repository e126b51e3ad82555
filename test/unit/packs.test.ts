import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {PackageLayout} from '../../src/release/layout.js'
import {parseManifest} from '../../src/release/manifest.js'
import {buildPacks, fetchContents, packCount, shouldPack, type ContentReader, type ContentRef} from '../../src/release/packs.js'
import {openStore} from '../../src/store/index.js'
import {tempDir} from '../helpers/tmp.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

function contents(n: number, size = 100): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (let i = 0; i < n; i++) {
    const body = Buffer.from(`# file ${i}\n`.padEnd(size, 'x'))
    out.set(sha(body), body)
  }
  return out
}

describe('packs', () => {
  it('pack only when more than one round of parallel uploads is due', () => {
    expect(shouldPack(1)).toBe(false)
    expect(shouldPack(32)).toBe(false)
    expect(shouldPack(33)).toBe(true)
    expect(shouldPack(1000)).toBe(true)
  })

  it('a pack is the contents in hash order: the same contents give the same bytes and name, cut at the size limit', () => {
    const c = contents(50)
    const shas = [...c.keys()]
    const one = buildPacks(shas, c)
    const again = buildPacks([...shas].reverse(), c)
    expect(one).toHaveLength(1)
    expect(again[0].id).toBe(one[0].id)
    expect(one[0].id).toBe(sha(one[0].body))
    for (const [s, offset] of one[0].offsets) expect(sha(one[0].body.subarray(offset, offset + 100))).toBe(s)
    const cut = buildPacks(shas, c, 1000)
    expect(cut).toHaveLength(5)
    expect(packCount(shas, c, 1000)).toBe(5)
    expect(packCount(shas, c)).toBe(1)
    expect(cut.every((p) => p.body.length <= 1000)).toBe(true)
    expect(cut.flatMap((p) => [...p.offsets.keys()]).sort()).toEqual([...shas].sort())
  })

  it('reads a whole pack with one request, a few far-apart contents with one ranged read each, and names missing, short and wrong bytes', async () => {
    const root = tempDir()
    const store = await openStore({url: `file://${root}/store`, root})
    const layout = new PackageLayout('dev', 'p')
    const c = contents(40, 100_000)
    const [pack] = buildPacks([...c.keys()], c)
    await store.put(layout.pack(pack.id), pack.body)
    const refs: ContentRef[] = [...pack.offsets].map(([s, offset]) => ({sha256: s, size: 100_000, pack: {id: pack.id, offset}}))
    const calls: string[] = []
    const reader: ContentReader = {
      get: async (key) => (calls.push(`get ${key}`), (await store.get(key))?.body),
      getRange: async (key, offset, length) => (calls.push(`range ${offset}+${length}`), store.getRange(key, offset, length)),
    }
    const all = await fetchContents(reader, layout, refs, 8)
    expect(all.failures.size).toBe(0)
    expect(all.bodies.size).toBe(40)
    expect(calls).toEqual([`range 0+${pack.body.length}`])

    calls.length = 0
    const few = await fetchContents(reader, layout, [refs[0], refs[15], refs[30]], 8)
    expect(few.bodies.size).toBe(3)
    expect(calls).toHaveLength(3)

    // truncated: the last contents are short; a damaged byte: a mismatch; another pack: missing
    await store.put(layout.pack(pack.id), Buffer.concat([pack.body.subarray(0, 100_000), Buffer.from('X'), pack.body.subarray(100_001, 35 * 100_000 + 10)]))
    const bad = await fetchContents(reader, layout, [...refs, {sha256: 'a'.repeat(64), size: 5, pack: {id: 'b'.repeat(64), offset: 0}}], 8)
    expect(bad.failures.get(refs[1].sha256)?.kind).toBe('mismatch')
    expect(bad.failures.get(refs[36].sha256)?.kind).toBe('short')
    expect(bad.failures.get(refs[35].sha256)?.kind).toBe('short')
    expect(bad.failures.get('a'.repeat(64))?.kind).toBe('missing')
    expect(bad.bodies.size).toBe(34)
  })

  it('a manifest names packs only in format 2; a later format is refused as written by a newer dagctl', () => {
    const base = {
      package: 'p', env: 'dev', id: 1, parent: null, createdAt: 'x', author: 'a', git: {}, dagctlVersion: '0', validation: {skipped: true}, dags: [], changes: {added: [], changed: [], removed: []}, nonce: 'n',
      files: {'a.py': {sha256: 'a'.repeat(64), size: 3, since: 1, pack: {id: 'b'.repeat(64), offset: 7}}},
    }
    const parse = (m: object) => parseManifest('m.json', Buffer.from(JSON.stringify(m)), {package: 'p'})
    expect(parse({...base, format: 2}).files['a.py'].pack).toEqual({id: 'b'.repeat(64), offset: 7})
    expect(() => parse({...base, format: 1})).toThrow(/files\.a\.py\.pack: format 1 has no packs/)
    expect(() => parse({...base, format: 3})).toThrow(/manifest format 3 was written by a newer dagctl .*upgrade dagctl/)
    expect(() => parse({...base, format: 2, files: {'a.py': {...base.files['a.py'], pack: {id: '../x', offset: 0}}}})).toThrow(/files\.a\.py\.pack\.id/)
  })
})
