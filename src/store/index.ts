import path from 'node:path'

import type {EnvironmentConfig} from '../config/schema.js'
import {UsageError} from '../errors.js'
import {LocalStore} from './local.js'
import type {PutCondition, Store} from './types.js'

export type {ConditionalRead, ListedObject, PutCondition, Store, StoredObject} from './types.js'
export {PreconditionFailed, sameEtag} from './types.js'

export interface OpenStoreOptions {
  /** `s3://bucket[/prefix]` or `file://dir` */
  url: string
  /** the package root: a relative `file://` path is relative to it */
  root: string
  s3?: EnvironmentConfig['s3']
  /** --endpoint; otherwise s3.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL */
  endpoint?: string
  env?: NodeJS.ProcessEnv
}

/**
 * Opens the store an environment names. The S3 adapter (and with it the AWS SDK, ~100 ms to
 * import) is loaded only when the URL is s3://, so local commands and --help stay fast.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const env = options.env ?? process.env
  const {url} = options
  if (url.startsWith('file://')) {
    const rest = url.slice('file://'.length)
    if (rest === '') throw badUrl(url)
    return new LocalStore(url, path.resolve(options.root, rest))
  }
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url)
  if (!m) throw badUrl(url)
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '')
  if (prefix.split('/').some((s) => s === '..' || s === '.')) throw badUrl(url)
  const endpoint = options.endpoint ?? options.s3?.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? undefined
  return new DeferredStore(`s3://${m[1]}${prefix ? `/${prefix}` : ''}`, async () => {
    const {S3Store} = await import('./s3.js')
    return new S3Store({
      bucket: m[1],
      prefix,
      region: options.s3?.region,
      endpoint: endpoint || undefined,
      sse: options.s3?.sse,
      kmsKeyId: options.s3?.kms_key_id,
    })
  })
}

/**
 * Starts loading an adapter at once and answers calls when it is ready, so that importing the AWS
 * SDK (a few hundred ms) overlaps with what a command does first: reading and hashing the DAG
 * files, validating them.
 */
class DeferredStore implements Store {
  private inner?: Store
  private readonly ready: Promise<Store>

  constructor(
    readonly url: string,
    make: () => Promise<Store>,
  ) {
    this.ready = make().then((store) => (this.inner = store))
    this.ready.catch(() => {})
  }

  get requestCount(): number {
    return this.inner?.requestCount ?? 0
  }

  async get(key: string) {
    return (await this.ready).get(key)
  }
  async getIfNoneMatch(key: string, etag: string | undefined) {
    return (await this.ready).getIfNoneMatch(key, etag)
  }
  async getRange(key: string, offset: number, length: number) {
    return (await this.ready).getRange(key, offset, length)
  }
  async put(key: string, body: Buffer | string, condition?: PutCondition) {
    return (await this.ready).put(key, body, condition)
  }
  async copy(from: string, to: string) {
    return (await this.ready).copy(from, to)
  }
  async delete(key: string) {
    return (await this.ready).delete(key)
  }
  async list(prefix: string) {
    return (await this.ready).list(prefix)
  }
  async listObjects(prefix: string) {
    return (await this.ready).listObjects(prefix)
  }
  etagFor(body: Buffer) {
    return this.inner?.etagFor(body)
  }
  async listFolders(prefix: string) {
    return (await this.ready).listFolders(prefix)
  }
}

function badUrl(url: string): UsageError {
  return new UsageError(`not a store URL: ${url}`, {
    code: 'STORE_URL',
    key: 'store',
    hint: 'Use s3://bucket[/prefix] or file://dir (relative to the package root, or file:///absolute/dir).',
  })
}
