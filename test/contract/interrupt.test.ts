import {afterAll, describe, expect, it} from 'vitest'

import {InterruptedError} from '../../src/errors.js'
import {fsck} from '../../src/release/fsck.js'
import {publish, type PublishOptions} from '../../src/release/publish.js'
import {rollback} from '../../src/release/rollback.js'
import type {Store} from '../../src/store/index.js'
import type {StepRunner} from '../../src/util/steps.js'
import {publishOptions} from '../helpers/publish-options.js'
import {freshStore, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

const META = {author: 'tester', git: {}, dagctlVersion: '0.0.0-test'}

function corpus(n: number, tag: string): Record<string, string> {
  return Object.fromEntries(Array.from({length: n}, (_, i) => [`dags/team_a_${String(i).padStart(4, '0')}.py`, `${tag} ${i}`]))
}

function options(store: Store, root: string): PublishOptions {
  return publishOptions(store, root, {metadata: META})
}

/** A StepRunner that delivers "SIGINT" as the step whose title starts with `at` begins: a signal at an exact point, no timing. */
function signalAt(controller: AbortController, at: string, sig = 'SIGINT'): StepRunner {
  return (title, run) => {
    if (title.startsWith(at)) controller.abort(sig)
    return run(() => {})
  }
}

async function liveTags(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const k of await store.list('dev/team_a/dags/')) {
    const tag = (await store.get(k))!.body.toString().split(' ')[0]
    out[tag] = (out[tag] ?? 0) + 1
  }
  return out
}

describe.each(STORE_VARIANTS.slice(0, 2))('signals at exact points of a publish ($name)', (variant) => {
  it('during the HEAD swap of a small publish: the short rest is finished, the result says interrupted', async () => {
    const {store} = await freshStore(variant)
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', ...corpus(10, 'v1')})
    await publish(options(store, root))
    writeFiles(root, corpus(10, 'v2'))
    const controller = new AbortController()
    const result = await publish({...options(store, root), signal: controller.signal}, {steps: signalAt(controller, 'Make release')})
    expect(result).toMatchObject({release: 2, interrupted: 'SIGINT', live: {written: 10}})
    expect(await liveTags(store)).toEqual({v2: 10})
    expect((await fsck({store, env: 'dev'})).ok).toBe(true)
  })

  it('at the live tree of a large publish: stops after the files in flight, says how many lag, fsck --repair completes it', async () => {
    const {store} = await freshStore(variant)
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', ...corpus(300, 'v1')})
    await publish(options(store, root))
    writeFiles(root, corpus(300, 'v2'))
    const controller = new AbortController()
    const err = await publish({...options(store, root), signal: controller.signal}, {steps: signalAt(controller, 'Bring the live tree', 'SIGTERM')}).catch((error: unknown) => error)
    expect(err).toBeInstanceOf(InterruptedError)
    const e = err as InterruptedError
    expect(e.exitCode).toBe(143)
    expect(e.details).toMatchObject({state: 'live-tree-lags', head: 2, total: 300})
    const lagging = e.details!.lagging as number
    expect(lagging).toBeGreaterThan(0)
    // Signalled before any file was started: none is written, all 300 lag (and that is what it says).
    expect(lagging).toBe(300)
    expect(await liveTags(store)).toEqual({v1: 300})
    const report = await fsck({store, env: 'dev'})
    expect(report).toMatchObject({damaged: false, lagging: true})
    expect(report.packages[0].lag).toMatchObject({release: 2, files: lagging})
    expect((await fsck({store, env: 'dev', repair: true})).ok).toBe(true)
    expect(await liveTags(store)).toEqual({v2: 300})
  })

  it('before HEAD moves (at the upload, at the manifest): nothing becomes current', async () => {
    const {store} = await freshStore(variant)
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', ...corpus(5, 'v1')})
    await publish(options(store, root))
    for (const [at, i] of [['Upload', 2], ['Write the release', 3]] as const) {
      writeFiles(root, corpus(5, `v${i}`))
      const controller = new AbortController()
      const err = await publish({...options(store, root), signal: controller.signal}, {steps: signalAt(controller, at)}).catch((error: unknown) => error)
      expect(err, at).toBeInstanceOf(InterruptedError)
      expect((err as InterruptedError).message).toMatch(/nothing of this publish became current; HEAD is still release 1/)
      expect((err as InterruptedError).exitCode).toBe(130)
      expect(await liveTags(store)).toEqual({v1: 5})
      const report = await fsck({store, env: 'dev'})
      expect(report.ok, JSON.stringify(report.findings)).toBe(true)
    }
  })

  it('rollback: a signal before the release is written changes nothing', async () => {
    const {store} = await freshStore(variant)
    const root = tempDir({'dagctl.yaml': 'package: team_a\n', ...corpus(5, 'v1')})
    await publish(options(store, root))
    writeFiles(root, corpus(5, 'v2'))
    await publish(options(store, root))
    const controller = new AbortController()
    const err = await rollback({store, env: 'dev', pkg: 'team_a', to: 1, metadata: META, signal: controller.signal}, {beforeWrite: async () => (controller.abort('SIGINT'), true)}).catch((error: unknown) => error)
    expect((err as InterruptedError).message).toMatch(/nothing changed; HEAD is still release 2/)
    expect(await liveTags(store)).toEqual({v2: 5})
  })
})
