import {createHash} from 'node:crypto'
import {afterAll, describe, expect, it} from 'vitest'

import {fsck} from '../../src/release/fsck.js'
import {publish, type PublishOptions} from '../../src/release/publish.js'
import type {Store} from '../../src/store/index.js'
import {publishOptions} from '../helpers/publish-options.js'
import {freshStore, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const BLOBS = '_dagctl/dev/team_a/blobs/'

function options(store: Store, root: string): PublishOptions {
  return publishOptions(store, root, {metadata: {author: 't', git: {}, dagctlVersion: '0'}})
}

describe.each(STORE_VARIANTS)('fsck --repair amid other damage ($name)', (variant) => {
  it('repairs every live file it can, lists the blobs it cannot write and why, and the result says both', async () => {
    const {store} = await freshStore(variant)
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', 'dags/a.py': 'a1', 'dags/b.py': 'b1', 'dags/c.py': 'c1'})
    await publish(options(store, root))
    writeFiles(root, {'dags/a.py': 'a2', 'dags/c.py': 'c2'})
    await publish(options(store, root))
    // An old release's blob gone, HEAD's blob of c gone, and all three live files edited by hand.
    await store.delete(`${BLOBS}${sha('a1')}`)
    await store.delete(`${BLOBS}${sha('c2')}`)
    for (const f of ['a', 'b', 'c']) await store.put(`dev/team_a/dags/${f}.py`, 'edited')
    const result = await fsck({store, env: 'dev', repair: true})
    expect(result).toMatchObject({ok: false, damaged: true})
    const report = result.packages[0]
    expect(report.repaired).toEqual({written: 2, deleted: 0, files: ['a.py', 'b.py']})
    expect(report.notRepaired!.map((n) => n.code).sort()).toEqual(['BLOB_MISSING', 'BLOB_MISSING', 'LIVE_DIFFERS'])
    for (const n of report.notRepaired!) {
      expect(n.why.length).toBeGreaterThan(10)
      expect(n.hint).toMatch(/docs\/runbook.md#fsck-found-damage/)
    }
    expect((await store.get('dev/team_a/dags/a.py'))!.body.toString()).toBe('a2')
    expect((await store.get('dev/team_a/dags/b.py'))!.body.toString()).toBe('b1')
    expect((await store.get('dev/team_a/dags/c.py'))!.body.toString()).toBe('edited')
  })
})
