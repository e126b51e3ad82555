import {inject} from 'vitest'

import {openStore, type Store} from '../../src/store/index.js'
import {startMinio} from './minio.js'
import {MOTO_ENV, startMoto, type Moto, type S3TestServer} from './moto.js'
import {tempDir} from './tmp.js'

export interface StoreVariant {
  name: string
  kind: 'local' | 's3'
  versioning: boolean
  /** which S3 server (default moto) */
  server?: 'moto' | 'minio'
}

/** The variants every store contract test runs against: the local store and moto with and without bucket versioning. */
export const STORE_VARIANTS: readonly StoreVariant[] = [
  {name: 'local', kind: 'local', versioning: false},
  {name: 's3 (versioning on)', kind: 's3', versioning: true},
  {name: 's3 (versioning off)', kind: 's3', versioning: false},
]

/**
 * A second, independent S3 implementation (MinIO, Go, concurrent where moto is single-threaded
 * Python): for the tests where that can make a difference (the store contract, races, kills).
 */
export const MINIO_VARIANT: StoreVariant = {name: 'minio (versioning on)', kind: 's3', versioning: true, server: 'minio'}

let moto: Moto | undefined
let minio: Promise<S3TestServer> | undefined
let bucketSeq = 0

/** One moto per test file, shared by its S3 variants; stopped by `stopSharedMoto`. */
export async function sharedMoto(): Promise<Moto> {
  Object.assign(process.env, MOTO_ENV)
  moto ??= await startMoto(inject('testPython'))
  return moto
}

/** One MinIO per test file (same credentials as moto); stopped by `stopSharedMoto` too. */
export async function sharedMinio(): Promise<S3TestServer> {
  Object.assign(process.env, MOTO_ENV)
  minio ??= startMinio(inject('minioBinary'))
  return minio
}

export async function sharedS3(variant: StoreVariant): Promise<S3TestServer> {
  return variant.server === 'minio' ? sharedMinio() : sharedMoto()
}

/** Stops the servers this test file started (moto, and MinIO when a test used it). */
export async function stopSharedMoto(): Promise<void> {
  const m = minio
  minio = undefined
  await Promise.all([moto?.stop(), m?.then((s) => s.stop())])
  moto = undefined
}

/** A fresh, empty store of the variant: a new folder, or a new bucket on the shared moto (or MinIO). */
export async function freshStore(variant: StoreVariant, prefix = 'airflow'): Promise<{store: Store; url: string; endpoint?: string; root: string}> {
  const root = tempDir()
  if (variant.kind === 'local') {
    const url = `file://${root}/store`
    return {store: await openStore({url, root}), url, root}
  }
  const m = await sharedS3(variant)
  const bucket = `dagctl-test-${process.pid}-${++bucketSeq}`
  await m.createBucket(bucket, variant.versioning)
  const url = `s3://${bucket}/${prefix}`
  return {store: await openStore({url, root, endpoint: m.endpoint}), url, endpoint: m.endpoint, root}
}
