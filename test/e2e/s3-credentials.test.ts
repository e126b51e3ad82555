import {execa} from 'execa'
import {existsSync, writeFileSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {BIN} from '../helpers/cli.js'
import {sharedMoto, stopSharedMoto} from '../helpers/stores.js'
import {tempDir} from '../helpers/tmp.js'

afterAll(stopSharedMoto)

describe('S3 without credentials', () => {
  it('CredentialsProviderError gets a hint about credentials and how dagctl finds them, not about reachability', async () => {
    const moto = await sharedMoto()
    await moto.createBucket('dagctl-nocreds')
    const home = tempDir()
    // Only what a fresh machine has: no AWS_* credentials, no ~/.aws, no instance metadata.
    const env = {
      PATH: process.env.PATH!,
      HOME: home,
      NO_COLOR: '1',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: path.join(home, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    }
    for (const json of [false, true]) {
      const res = await execa('node', [BIN, 'list', '--store', 's3://dagctl-nocreds/airflow', ...(json ? ['--json'] : [])], {cwd: home, env, extendEnv: false, reject: false, timeout: 120_000})
      expect(res.exitCode, res.stdout + res.stderr).toBe(4)
      const text = json ? JSON.parse(res.stdout).error.hint : res.stderr
      if (json) expect(JSON.parse(res.stdout).error.code).toBe('S3_CREDENTIALS')
      else expect(res.stderr).toMatch(/no AWS credentials found for s3:\/\/dagctl-nocreds\/airflow/)
      expect(text).toMatch(/AWS_ACCESS_KEY_ID/)
      expect(text).toMatch(/AWS_PROFILE/)
      expect(text).toMatch(/default credential chain/)
      expect(text).toMatch(/environments.<env>.s3 in dagctl.yaml sets region, endpoint and encryption, never credentials/)
      expect(text).toMatch(/docs\/runbook.md#s3-credentials-are-missing-or-refused/)
      expect(text).not.toMatch(/reachable/)
    }
  })
})

describe('S3 with the credentials in the environment (a CI job)', () => {
  it('asks no instance metadata service and no credentials process: the first request goes to the store', async () => {
    const moto = await sharedMoto()
    await moto.createBucket('dagctl-envcreds')
    const home = tempDir()
    // an instance metadata service that only counts (the SDK's IMDS and ECS endpoints point here), and
    // a profile whose credential_process would leave a mark: neither may be used
    const sockets: Socket[] = []
    const imds = createServer((socket) => {
      sockets.push(socket)
      socket.destroy()
    })
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve))
    const port = (imds.address() as {port: number}).port
    const mark = path.join(home, 'credential-process-ran')
    writeFileSync(path.join(home, 'config'), `[default]\ncredential_process = sh -c 'touch ${mark}; exit 1'\n`)
    const env = {
      PATH: process.env.PATH!,
      HOME: home,
      NO_COLOR: '1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing-secret',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}`,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/creds`,
      AWS_CONFIG_FILE: path.join(home, 'config'),
    }
    try {
      const res = await execa('node', [BIN, 'list', '--store', 's3://dagctl-envcreds/airflow', '--json'], {cwd: home, env, extendEnv: false, reject: false, timeout: 120_000})
      expect(res.exitCode, res.stdout + res.stderr).toBe(0)
      expect(sockets, 'connections to the metadata endpoint').toHaveLength(0)
      expect(existsSync(mark), 'the profile\'s credential_process ran').toBe(false)
    } finally {
      await new Promise((resolve) => imds.close(resolve))
    }
  })
})
