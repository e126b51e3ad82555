import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {openStore} from '../../src/store/index.js'
import {Syncer} from '../../src/sync/syncer.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {treeHashes} from '../helpers/sync.js'
import {tempDir} from '../helpers/tmp.js'

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'store-conformance')

type Expected = {env: string; packages: Record<string, {ok: true; release: number; files: Record<string, string>} | {ok: false; release: number; reason: string; file: string | null}>}

describe('store-conformance fixture: dagctl sync reads it as expected.json says', () => {
  const expected = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected

  it.each([['the packages listed from the store'], ['the packages named']])('%s', async (how) => {
    const url = `file://${path.join(FIXTURE, 'store')}`
    const store = await openStore({url, root: FIXTURE})
    const dir = tempDir()
    const syncer = new Syncer({store, env: expected.env, dir, graceMs: 0, packages: how.includes('named') ? Object.keys(expected.packages) : undefined})
    const result = await syncer.cycle()
    await syncer.close()
    expect(result.packages.map((p) => p.package).sort()).toEqual(Object.keys(expected.packages).sort())
    for (const [pkg, want] of Object.entries(expected.packages)) {
      const got = result.packages.find((p) => p.package === pkg)!
      if (want.ok) {
        expect(got, pkg).toMatchObject({status: 'updated', release: want.release})
        expect(treeHashes(path.join(dir, pkg)), pkg).toEqual(want.files)
      } else {
        expect({package: pkg, release: got.head, reason: got.reason, file: got.file ?? null}).toEqual({package: pkg, release: want.release, reason: want.reason, file: want.file})
        expect(got.status).toBe('failed')
      }
    }
    expect(result.ok).toBe(false)
    expect(result.storeFailed).toBe(false)
  })
})
