import {execa, type ResultPromise} from 'execa'
import {createServer} from 'node:net'

/** A free TCP port on 127.0.0.1 (bound and released: the tiny race is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as {port: number}
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Credentials of the test S3 servers; never real ones. moto accepts any; MinIO (test/helpers/minio.ts)
 * is started with them as its root user, which needs a secret of 8 characters or more.
 */
export const MOTO_ENV = {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing-secret', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true'}
export const S3_TEST_ENV = MOTO_ENV

/** What the tests need of an S3 server on loopback, moto or MinIO. */
export interface S3TestServer {
  /** 'moto' or 'minio' */
  readonly kind: string
  endpoint: string
  port: number
  /** creates a bucket, with versioning on or off */
  createBucket(name: string, versioning?: boolean): Promise<void>
  stop(): Promise<void>
}

export interface Moto extends S3TestServer {
  endpoint: string
  port: number
  /** POST /moto-api/reset: every bucket gone */
  reset(): Promise<void>
  /** creates a bucket, with versioning on or off */
  createBucket(name: string, versioning?: boolean): Promise<void>
  stop(): Promise<void>
}

/** moto's S3 server on loopback, started by the test: `python -m moto.server -H 127.0.0.1 -p PORT`. */
export async function startMoto(python: string): Promise<Moto> {
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  const proc: ResultPromise = execa(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {reject: false, stdio: 'ignore', env: MOTO_ENV})
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/moto-api/`)
      if (res.status < 500) break
    } catch {
      // not up yet
    }
    if (proc.exitCode !== undefined && proc.exitCode !== null) throw new Error(`moto exited with ${proc.exitCode}`)
    if (Date.now() > deadline) {
      proc.kill()
      throw new Error('moto did not start within 30 s')
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const call = async (method: string, path: string, body?: string): Promise<void> => {
    const res = await fetch(`${endpoint}${path}`, {method, body, headers: {authorization: 'AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x'}})
    if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`)
  }
  return {
    kind: 'moto',
    endpoint,
    port,
    reset: () => call('POST', '/moto-api/reset'),
    async createBucket(name, versioning = false) {
      await call('PUT', `/${name}`)
      if (versioning) {
        await call('PUT', `/${name}?versioning`, '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>')
      }
    },
    async stop() {
      proc.kill('SIGTERM')
      await proc
    },
  }
}
