import {CreateBucketCommand, PutBucketVersioningCommand, S3Client} from '@aws-sdk/client-s3'
import {execa, type ResultPromise} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {freePort, S3_TEST_ENV, type S3TestServer} from './moto.js'

/**
 * MinIO (a real S3 server in Go, built into the cache by test/setup/minio-build.ts) on loopback,
 * with a fresh data folder: `minio server DIR --address 127.0.0.1:PORT`; up when
 * `/minio/health/live` answers 200. Its root user is S3_TEST_ENV's key pair, so the same
 * environment reaches moto and MinIO.
 */
export async function startMinio(binary: string): Promise<S3TestServer> {
  const [port, consolePort] = [await freePort(), await freePort()]
  const endpoint = `http://127.0.0.1:${port}`
  const data = mkdtempSync(path.join(os.tmpdir(), 'dagctl-minio-'))
  const proc: ResultPromise = execa(binary, ['server', data, '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`], {
    reject: false,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      MINIO_ROOT_USER: S3_TEST_ENV.AWS_ACCESS_KEY_ID,
      MINIO_ROOT_PASSWORD: S3_TEST_ENV.AWS_SECRET_ACCESS_KEY,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      HOME: data,
    },
    extendEnv: false,
  })
  let stderr = ''
  proc.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)))
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      if ((await fetch(`${endpoint}/minio/health/live`)).status === 200) break
    } catch {
      // not up yet
    }
    if (proc.exitCode !== undefined && proc.exitCode !== null) throw new Error(`minio exited with ${proc.exitCode}: ${stderr}`)
    if (Date.now() > deadline) {
      proc.kill()
      throw new Error(`minio did not start within 60 s: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: S3_TEST_ENV.AWS_REGION,
    credentials: {accessKeyId: S3_TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_TEST_ENV.AWS_SECRET_ACCESS_KEY},
  })
  return {
    kind: 'minio',
    endpoint,
    port,
    async createBucket(name, versioning = false) {
      await client.send(new CreateBucketCommand({Bucket: name}))
      if (versioning) await client.send(new PutBucketVersioningCommand({Bucket: name, VersioningConfiguration: {Status: 'Enabled'}}))
    },
    async stop() {
      client.destroy()
      proc.kill('SIGTERM')
      await proc
      rmSync(data, {recursive: true, force: true})
    },
  }
}
