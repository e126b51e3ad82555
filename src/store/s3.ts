import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import {createHash} from 'node:crypto'
import {Agent} from 'node:http'
import {Agent as HttpsAgent} from 'node:https'

import {RemoteError, UsageError} from '../errors.js'
import {PreconditionFailed, type ConditionalRead, type ListedObject, type PutCondition, type Store, type StoredObject} from './types.js'

/** How dagctl finds AWS credentials: the SDK's default chain only (dagctl.yaml never holds them). */
export const CREDENTIALS_HINT =
  "dagctl uses the AWS SDK's default credential chain: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); AWS_PROFILE in ~/.aws/credentials or ~/.aws/config (SSO profiles after `aws sso login`); web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, e.g. EKS IRSA or CI OIDC); then the ECS task or EC2 instance role. environments.<env>.s3 in dagctl.yaml sets region, endpoint and encryption, never credentials. `aws sts get-caller-identity` shows what the chain finds; see docs/runbook.md#s3-credentials-are-missing-or-refused."

/** what the SDK may call without `?.` (debug, warn, trace), showing nothing; no info and no error (why: the client's options below) */
const QUIET_SDK_LOGGER = {debug() {}, warn() {}, trace() {}} as unknown as NonNullable<S3ClientConfig['logger']>

export interface S3StoreOptions {
  bucket: string
  /** key prefix inside the bucket, without leading or trailing `/` ('' for none) */
  prefix: string
  region?: string
  /** custom endpoint (MinIO, LocalStack, moto): path-style addressing */
  endpoint?: string
  sse?: 'AES256' | 'aws:kms'
  kmsKeyId?: string
  /** attempts per request, retries included (throttling, 5xx, resets, timeouts) */
  maxAttempts?: number
  /** parallel connections */
  maxSockets?: number
  /** an injected client for unit tests of one edge */
  client?: S3Client
}

/** attempts per request unless AWS_MAX_ATTEMPTS says otherwise: 5 retries ride out a short outage */
export const DEFAULT_MAX_ATTEMPTS = 6

/**
 * AWS_MAX_ATTEMPTS, as the AWS CLI and SDKs read it: the SDK itself would, but only for a client
 * given no maxAttempts, and dagctl's default is not the SDK's (3). A CI job that wants a store outage
 * to fail fast sets it to 1 or 2; throttling (503 SlowDown) otherwise backs off for up to 30 s.
 */
export function maxAttemptsFromEnv(value = process.env.AWS_MAX_ATTEMPTS): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`AWS_MAX_ATTEMPTS is not a whole number of attempts, 1 or more: ${JSON.stringify(value)}`, {
      code: 'USAGE',
      hint: `Set AWS_MAX_ATTEMPTS to the attempts per S3 request, retries included (dagctl's default: ${DEFAULT_MAX_ATTEMPTS}), or unset it.`,
    })
  }
  return Number(text)
}

/**
 * `s3://bucket[/prefix]` through @aws-sdk/client-s3: the SDK's default credential chain and its
 * standard retry mode (exponential backoff with jitter on throttling, 5xx, connection resets and
 * timeouts). Atomic create is PutObject with If-None-Match: *, compare-and-swap PutObject with
 * If-Match: <etag>; 412 means the condition failed. Real S3 answers 409 to a conditional write
 * that races another one on the same key: that is retried here (it is not a lost condition).
 * This module is imported lazily, only by commands that open an s3:// store.
 */
export class S3Store implements Store {
  requestCount = 0
  readonly url: string
  private readonly client: S3Client

  constructor(private readonly options: S3StoreOptions) {
    // The SDK warns on Node 20 about its releases after early 2027; package.json pins a range that supports Node 20.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    this.url = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (options.endpoint ? 'us-east-1' : undefined)
    const maxSockets = options.maxSockets ?? 32
    this.client =
      options.client ??
      new S3Client({
        region,
        endpoint: options.endpoint,
        forcePathStyle: Boolean(options.endpoint),
        maxAttempts: options.maxAttempts ?? maxAttemptsFromEnv() ?? DEFAULT_MAX_ATTEMPTS,
        // The middleware stack is resolved once per command class instead of on every request
        // (dagctl never changes it per call): about a third of the SDK's CPU per request.
        cacheMiddleware: true,
        retryMode: 'standard',
        // We verify content by SHA-256 ourselves; CRC trailers trip up some S3-compatible servers.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // dagctl shows nothing the SDK logs. Its default logger has an `info` that does nothing, and
        // for it the SDK copies every request and answer through its sensitive-data filter; without
        // `info` and `error` (which it only ever calls as logger?.info?.()) it skips that work.
        logger: QUIET_SDK_LOGGER,
        requestHandler: {
          connectionTimeout: 5000,
          requestTimeout: 30_000,
          httpAgent: new Agent({keepAlive: true, maxSockets}),
          httpsAgent: new HttpsAgent({keepAlive: true, maxSockets}),
        },
      })
  }

  private key(key: string): string {
    return this.options.prefix ? `${this.options.prefix}/${key}` : key
  }

  private async send<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.requestCount++
      try {
        return await fn()
      } catch (error) {
        const status = (error as S3ServiceException).$metadata?.httpStatusCode
        // 409 ConditionalRequestConflict: a concurrent conditional write on the key; try again.
        if (status === 409 && attempt < 5) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt * Math.random()))
          continue
        }
        throw error
      }
    }
  }

  private remote(what: string, error: unknown): RemoteError {
    const e = error as S3ServiceException & {code?: string}
    const status = e.$metadata?.httpStatusCode
    const name = e.name && e.name !== 'Error' ? e.name : e.code
    if (name === 'CredentialsProviderError') {
      // The SDK found no credentials at all: no request was sent, so reachability is not the question.
      return new RemoteError(`no AWS credentials found for ${this.url} (S3 ${what}): ${e.message}`, {
        code: 'S3_CREDENTIALS',
        cause: error,
        hint: CREDENTIALS_HINT,
      })
    }
    return new RemoteError(`S3 ${what} failed${status ? ` (HTTP ${status})` : ''}: ${name ? `${name}: ` : ''}${e.message}`, {
      code: 'S3_FAILED',
      cause: error,
      hint:
        status === 403
          ? 'The credentials were found but refused: check which identity the chain picks (`aws sts get-caller-identity`; AWS_PROFILE, AWS_ACCESS_KEY_ID, the role) and the bucket policy; see docs/runbook.md#s3-credentials-are-missing-or-refused.'
          : status === 301 || e.name === 'PermanentRedirect'
            ? 'Set environments.<env>.s3.region to the bucket\'s region.'
            : `Check that ${this.url} is reachable (environments.<env>.s3.endpoint, AWS_ENDPOINT_URL_S3) and re-run; dagctl already retried.`,
    })
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      return await this.send(async () => {
        const out = await this.client.send(new GetObjectCommand({Bucket: this.options.bucket, Key: this.key(key)}))
        const body = Buffer.from(await out.Body!.transformToByteArray())
        return {body, etag: out.ETag ?? ''}
      })
    } catch (error) {
      const e = error as S3ServiceException
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined
      throw this.remote(`GET ${key}`, error)
    }
  }

  async getIfNoneMatch(key: string, etag: string | undefined): Promise<ConditionalRead> {
    if (etag === undefined) return this.get(key)
    try {
      return await this.send(async () => {
        const out = await this.client.send(new GetObjectCommand({Bucket: this.options.bucket, Key: this.key(key), IfNoneMatch: etag}))
        const body = Buffer.from(await out.Body!.transformToByteArray())
        return {body, etag: out.ETag ?? ''}
      })
    } catch (error) {
      const e = error as S3ServiceException
      const status = e.$metadata?.httpStatusCode
      if (status === 304 || e.name === 'NotModified') return {notModified: true, etag}
      if (e.name === 'NoSuchKey' || status === 404) return undefined
      throw this.remote(`GET ${key}`, error)
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    if (length <= 0) return Buffer.alloc(0)
    try {
      return await this.send(async () => {
        const out = await this.client.send(new GetObjectCommand({Bucket: this.options.bucket, Key: this.key(key), Range: `bytes=${offset}-${offset + length - 1}`}))
        const body = Buffer.from(await out.Body!.transformToByteArray())
        // A server that ignores Range answers 200 with the whole object: cut out the range.
        return out.ContentRange || out.$metadata.httpStatusCode === 206 ? body : body.subarray(offset, offset + length)
      })
    } catch (error) {
      const e = error as S3ServiceException
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined
      // 416: the object ends before the range starts (a truncated pack): no bytes of it.
      if (e.name === 'InvalidRange' || e.$metadata?.httpStatusCode === 416) return Buffer.alloc(0)
      throw this.remote(`GET ${key} (range)`, error)
    }
  }

  async put(key: string, body: Buffer | string, condition?: PutCondition): Promise<{etag: string}> {
    const input: PutObjectCommandInput = {
      Bucket: this.options.bucket,
      Key: this.key(key),
      Body: body,
      ContentType: contentType(key),
    }
    if (this.options.sse) input.ServerSideEncryption = this.options.sse
    if (this.options.sse === 'aws:kms' && this.options.kmsKeyId) input.SSEKMSKeyId = this.options.kmsKeyId
    if (condition && 'ifNoneMatch' in condition) input.IfNoneMatch = '*'
    if (condition && 'ifMatch' in condition) input.IfMatch = condition.ifMatch
    try {
      const out = await this.send(() => this.client.send(new PutObjectCommand(input)))
      return {etag: out.ETag ?? ''}
    } catch (error) {
      const status = (error as S3ServiceException).$metadata?.httpStatusCode
      // 404 on If-Match: the key is gone, which for a compare-and-swap is the same lost condition.
      if (condition && (status === 412 || (status === 404 && 'ifMatch' in condition))) throw new PreconditionFailed(key)
      throw this.remote(`PUT ${key}`, error)
    }
  }

  async copy(from: string, to: string): Promise<boolean> {
    const source = `${this.options.bucket}/${this.key(from).split('/').map(encodeURIComponent).join('/')}`
    try {
      await this.send(() =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.options.bucket,
            Key: this.key(to),
            CopySource: source,
            MetadataDirective: 'REPLACE',
            ContentType: contentType(to),
            ...(this.options.sse ? {ServerSideEncryption: this.options.sse} : {}),
            ...(this.options.sse === 'aws:kms' && this.options.kmsKeyId ? {SSEKMSKeyId: this.options.kmsKeyId} : {}),
          }),
        ),
      )
      return true
    } catch (error) {
      const e = error as S3ServiceException
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false
      throw this.remote(`COPY ${from} → ${to}`, error)
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.send(() => this.client.send(new DeleteObjectCommand({Bucket: this.options.bucket, Key: this.key(key)})))
    } catch (error) {
      if ((error as S3ServiceException).$metadata?.httpStatusCode === 404) return
      throw this.remote(`DELETE ${key}`, error)
    }
  }

  private async listRaw(prefix: string, delimiter?: string): Promise<{keys: ListedObject[]; folders: string[]}> {
    const full = this.key(prefix)
    const strip = this.options.prefix ? this.options.prefix.length + 1 : 0
    const keys: ListedObject[] = []
    const folders: string[] = []
    let token: string | undefined
    try {
      do {
        const out = await this.send(() =>
          this.client.send(new ListObjectsV2Command({Bucket: this.options.bucket, Prefix: full, Delimiter: delimiter, ContinuationToken: token})),
        )
        for (const o of out.Contents ?? []) if (o.Key) keys.push({key: o.Key.slice(strip), size: o.Size ?? -1, etag: o.ETag ?? ''})
        for (const p of out.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix.slice(full.length).replace(/\/$/, ''))
        token = out.IsTruncated ? out.NextContinuationToken : undefined
      } while (token)
    } catch (error) {
      throw this.remote(`LIST ${prefix}`, error)
    }
    return {keys: keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), folders: folders.sort()}
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key)
  }

  async listObjects(prefix: string): Promise<ListedObject[]> {
    return (await this.listRaw(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`)).keys
  }

  /** A single-part PutObject's ETag is the content MD5, except under SSE-KMS (and SSE-C). */
  etagFor(body: Buffer): string | undefined {
    if (this.options.sse === 'aws:kms') return undefined
    return `"${createHash('md5').update(body).digest('hex')}"`
  }

  async listFolders(prefix: string): Promise<string[]> {
    return (await this.listRaw(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`, '/')).folders
  }
}

function contentType(key: string): string {
  return key.endsWith('.json') ? 'application/json' : key.endsWith('.py') ? 'text/x-python' : 'application/octet-stream'
}
