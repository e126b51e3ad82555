import {inject} from 'vitest'

import {openStore, type Store} from '../../src/store/index.js'
import {MOTO_ENV, startMoto, type Moto} from './moto.js'
import {tempDir} from './tmp.js'

/** The variants every store contract test runs against: the local store and moto with and without bucket versioning. */
export const STORE_VARIANTS = [
  {name: 'local', kind: 'local' as const, versioning: false},
  {name: 's3 (versioning on)', kind: 's3' as const, versioning: true},
  {name: 's3 (versioning off)', kind: 's3' as const, versioning: false},
]
export type StoreVariant = (typeof STORE_VARIANTS)[number]

let moto: Moto | undefined
let bucketSeq = 0

/** One moto per test file, shared by its S3 variants; stopped by `stopSharedMoto`. */
export async function sharedMoto(): Promise<Moto> {
  Object.assign(process.env, MOTO_ENV)
  moto ??= await startMoto(inject('testPython'))
  return moto
}

export async function stopSharedMoto(): Promise<void> {
  await moto?.stop()
  moto = undefined
}

/** A fresh, empty store of the variant: a new folder, or a new bucket on the shared moto. */
export async function freshStore(variant: StoreVariant, prefix = 'airflow'): Promise<{store: Store; url: string; endpoint?: string; root: string}> {
  const root = tempDir()
  if (variant.kind === 'local') {
    const url = `file://${root}/store`
    return {store: await openStore({url, root}), url, root}
  }
  const m = await sharedMoto()
  const bucket = `dagctl-test-${process.pid}-${++bucketSeq}`
  await m.createBucket(bucket, variant.versioning)
  const url = `s3://${bucket}/${prefix}`
  return {store: await openStore({url, root, endpoint: m.endpoint}), url, endpoint: m.endpoint, root}
}
