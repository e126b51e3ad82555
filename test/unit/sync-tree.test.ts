import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {nextDelay} from '../../src/sync/loop.js'
import {SyncTree} from '../../src/sync/tree.js'
import {tempDir} from '../helpers/tmp.js'

describe('SyncTree', () => {
  it('keeps a replaced version for the grace period, then removes it; never the visible one', async () => {
    const dir = tempDir()
    const tree = new SyncTree(dir)
    await tree.prepare()
    const v1 = await tree.build('team_a', 1, new Map([['a.py', Buffer.from('1')]]))
    await tree.switchTo('team_a', v1)
    const v2 = await tree.build('team_a', 2, new Map([['a.py', Buffer.from('2')]]))
    await tree.switchTo('team_a', v2, v1)
    const versions = path.join(dir, '.dagctl-sync', 'versions', 'team_a')
    expect(await tree.collect('team_a', 60_000)).toBe(0)
    expect(readdirSync(versions).sort()).toEqual([v1, v2].sort())
    // a minute later (the grace period is counted from the swap)
    expect(await tree.collect('team_a', 60_000, Date.now() + 61_000)).toBe(1)
    expect(readdirSync(versions)).toEqual([v2])
    expect(await tree.collect('team_a', 0, Date.now() + 3_600_000)).toBe(0)
    expect(await tree.current('team_a')).toEqual({kind: 'ours', release: 2, version: v2})
    await tree.remove('team_a')
    expect(existsSync(path.join(dir, 'team_a'))).toBe(false)
    expect(readdirSync(versions)).toEqual([v2])
    await tree.unlock()
  })

  it('trims cached blobs unused for the maximum age, keeps those used since', async () => {
    const dir = tempDir()
    const tree = new SyncTree(dir)
    await tree.prepare()
    const {createHash} = await import('node:crypto')
    const sha = (b: string): string => createHash('sha256').update(b).digest('hex')
    await tree.cacheBlob(sha('old'), Buffer.from('old'))
    await tree.cacheBlob(sha('used'), Buffer.from('used'))
    const {utimesSync} = await import('node:fs')
    const weekAgo = new Date(Date.now() - 8 * 86_400_000)
    for (const b of ['old', 'used']) utimesSync(path.join(dir, '.dagctl-sync', 'blobs', sha(b)), weekAgo, weekAgo)
    expect((await tree.cachedBlob(sha('used')))?.toString()).toBe('used')
    expect(await tree.trimCache(7 * 86_400_000)).toBe(1)
    expect(await tree.cachedBlob(sha('old'))).toBeUndefined()
    expect((await tree.cachedBlob(sha('used')))?.toString()).toBe('used')
    await tree.unlock()
  })

  it('writes trees world-readable whatever the umask (Airflow reads them as another user)', async () => {
    const dir = tempDir()
    const tree = new SyncTree(dir)
    const old = process.umask(0o077)
    try {
      await tree.prepare()
      const v = await tree.build('team_u', 1, new Map([['sub/a.py', Buffer.from('a')]]))
      const {statSync} = await import('node:fs')
      const base = path.join(dir, '.dagctl-sync', 'versions', 'team_u', v)
      expect(statSync(path.join(base, 'sub', 'a.py')).mode & 0o777).toBe(0o644)
      expect(statSync(path.join(base, 'sub')).mode & 0o777).toBe(0o755)
      expect(statSync(base).mode & 0o777).toBe(0o755)
      for (const d of ['.dagctl-sync', '.dagctl-sync/versions', '.dagctl-sync/versions/team_u']) expect(statSync(path.join(dir, d)).mode & 0o777, d).toBe(0o755)
      expect(statSync(path.join(dir, '.airflowignore')).mode & 0o777).toBe(0o644)
    } finally {
      process.umask(old)
      await tree.unlock()
    }
  })

  it('a second sync on the same DIR is refused while the first lives', async () => {
    const dir = tempDir()
    await new SyncTree(dir).prepare()
    // same process: allowed (its own lock); a live other pid: refused
    const {writeFileSync} = await import('node:fs')
    writeFileSync(path.join(dir, '.dagctl-sync', 'lock'), `${process.ppid}\n`)
    await expect(new SyncTree(dir).prepare()).rejects.toThrow(/another dagctl sync/)
  })
})

describe('nextDelay', () => {
  it('is the interval while the store answers, then grows with jitter up to the cap', () => {
    expect(nextDelay(30_000, 0, 300_000)).toBe(30_000)
    expect(nextDelay(30_000, 1, 300_000, () => 1)).toBe(60_000)
    expect(nextDelay(30_000, 1, 300_000, () => 0)).toBe(30_000)
    expect(nextDelay(30_000, 3, 300_000, () => 1)).toBe(240_000)
    expect(nextDelay(30_000, 10, 300_000, () => 1)).toBe(300_000)
    expect(nextDelay(30_000, 10, 300_000, () => 0)).toBe(150_000)
  })
})
