import {CopyObjectCommand, DeleteObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {execa} from 'execa'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {PackageLayout} from '../../src/release/layout.js'
import {budget} from '../helpers/budget.js'
import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {startFaultProxy} from '../helpers/fault-proxy.js'
import {authorizationsOf, simulate, type Authorization, type SeenRequest} from '../helpers/iam.js'
import {MOTO_ENV, startMoto, type Moto} from '../helpers/moto.js'
import {setDags, syncOnce, treeHashes} from '../helpers/sync.js'
import {renderPolicies, type TerraformOutput} from '../helpers/terraform.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * The module's IAM documents, rendered by the real terraform binary, enforced by moto's IAM
 * (all requests signed and checked once setup is done: POST /moto-api/reset-auth 0), and used by
 * the real dagctl: CI publishes its own package with the CI policy, Airflow's role syncs with its
 * policy. moto matches actions and resources but ignores most conditions (its IAM evaluates
 * StringEquals only, and treats a missing context key as a match), so the conditional-write and
 * list-prefix conditions are proven by iam-simulate (terraform-iam.test.ts), not here.
 */

const BUCKET = 'acme-dags'
const ACCOUNT = '123456789012'
const OIDC = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`

interface Credentials {
  AccessKeyId: string
  SecretAccessKey: string
  SessionToken?: string
  Arn: string
}

let moto: Moto
let policies: Record<string, TerraformOutput>
let ci: Credentials
let airflow: Credentials
let admin: Credentials

const dag = (pkg: string, name: string, tag: string): string => `# ${tag}\nfrom airflow import DAG\ndag = DAG(dag_id="${pkg}_${name}")\n`

/** The environment of a dagctl process that holds only these credentials (as in a CI job or a pod). */
function envOf(c: Credentials | undefined, endpoint = moto.endpoint): Record<string, string> {
  const home = tempDir()
  return {
    PATH: process.env.PATH!,
    HOME: home,
    NO_COLOR: '1',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_ENDPOINT_URL_S3: endpoint,
    ...(c ? {AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey, ...(c.SessionToken ? {AWS_SESSION_TOKEN: c.SessionToken} : {})} : {}),
  }
}

function packageDir(pkg: string, files: Record<string, string>): string {
  return tempDir({
    'dagctl.yaml': `package: ${pkg}\nenvironments:\n  prod:\n    store: s3://${BUCKET}\n`,
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`dags/${k}`, v])),
  })
}

async function dagctl(args: string[], cwd: string, c: Credentials | undefined, endpoint?: string) {
  // extendEnv false: the test process's own AWS_* variables must not leak into the child
  const r = await execa('node', [path.join(REPO_ROOT, 'bin', 'run.js'), ...args], {cwd, env: envOf(c, endpoint), extendEnv: false, reject: false, timeout: budget(120_000), stdin: 'ignore'})
  return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
}

/** The release HEAD names (dagctl releases, read with the given credentials). */
async function headRelease(pkg: string, as: Credentials): Promise<number | undefined> {
  const dir = packageDir(pkg, {})
  const r = await dagctl(['releases', '--env', 'prod', '--package', pkg, '--json'], dir, as)
  if (r.exitCode !== 0) throw new Error(`releases failed (${r.exitCode}): ${r.stdout}\n${r.stderr}`)
  return (JSON.parse(r.stdout).releases as Array<{id: number; current: boolean}>).find((x) => x.current)?.id
}

beforeAll(async () => {
  policies = await renderPolicies({
    bucket: BUCKET,
    region: 'us-east-1',
    environment: 'prod',
    ci_packages: ['sales'],
    oidc_provider_arn: OIDC,
    airflow_service_accounts: ['airflow-scheduler', 'airflow-dag-processor'],
  })
  const python = inject('testPython')
  moto = await startMoto(python)
  await moto.createBucket(BUCKET, true)
  const spec = {
    endpoint: moto.endpoint,
    roles: [
      {
        name: 'ci-sales',
        trust_policy: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${ACCOUNT}:root`}, Action: 'sts:AssumeRole'}]}),
        managed_policies: [{name: 'dagctl-prod-ci', document: policies.ci_policy_json.value}],
        assume: 'role',
      },
      {
        name: 'dagctl-prod-airflow',
        trust_policy: policies.airflow_trust_policy_json.value,
        inline_policies: [{name: 'dagctl-read-prod', document: policies.airflow_policy_json.value}],
        assume: 'web-identity',
      },
      {
        // the platform team's publisher of another package, to have something CI-sales must not touch
        name: 'admin',
        trust_policy: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${ACCOUNT}:root`}, Action: 'sts:AssumeRole'}]}),
        inline_policies: [{name: 'all', document: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 's3:*', Resource: '*'}]})}],
        assume: 'role',
      },
    ],
  }
  const r = await execa(python, [path.join(REPO_ROOT, 'test', 'helpers', 'moto_iam.py')], {input: JSON.stringify(spec), reject: false, timeout: budget(60_000)})
  if (r.exitCode !== 0) throw new Error(`IAM setup failed: ${r.stderr}`)
  const creds = JSON.parse(r.stdout) as Record<string, Credentials>
  ci = creds['ci-sales']
  airflow = creds['dagctl-prod-airflow']
  admin = creds.admin
  // from here on every request is signed and checked against the principal's policies
  const res = await fetch(`${moto.endpoint}/moto-api/reset-auth`, {method: 'POST', body: '0'})
  if (!res.ok) throw new Error(`reset-auth: HTTP ${res.status}`)
}, 600_000)

afterAll(async () => {
  await moto?.stop()
})

describe('the terraform module\'s IAM documents on moto with IAM enforced', () => {
  it('moto refuses a request whose credentials IAM does not know (auth is really on)', async () => {
    const dir = packageDir('sales', {'sales_daily.py': dag('sales', 'daily', 'v1')})
    const r = await dagctl(['publish', '--env', 'prod', '--no-validate', '--json'], dir, {AccessKeyId: MOTO_ENV.AWS_ACCESS_KEY_ID, SecretAccessKey: MOTO_ENV.AWS_SECRET_ACCESS_KEY, Arn: ''})
    expect(r.exitCode, r.stdout + r.stderr).toBe(4)
    expect(r.stdout).toMatch(/HTTP 403/)
  })

  it('CI with the CI policy publishes its own package (conditional writes, live tree, removal, rollback, fsck)', async () => {
    const dir = packageDir('sales', {'sales_daily.py': dag('sales', 'daily', 'v1'), 'sales_weekly.py': dag('sales', 'weekly', 'v1')})
    let r = await dagctl(['publish', '--env', 'prod', '--no-validate', '--json'], dir, ci)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).release).toBe(1)
    // a change and a removal: HEAD and live.json by If-Match, a live file deleted
    setDags(dir, {'sales_daily.py': dag('sales', 'daily', 'v2')})
    r = await dagctl(['publish', '--env', 'prod', '--no-validate', '--allow-mass-removal', '--json'], dir, ci)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).release).toBe(2)
    // rollback: the live tree is copied from the blobs (CopyObject)
    r = await dagctl(['rollback', '--env', 'prod', '--to', '1', '--yes', '--json'], dir, ci)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
    r = await dagctl(['fsck', '--env', 'prod', '--package', 'sales', '--json'], dir, ci)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
  })

  it('CI with the CI policy cannot publish another package: refused (403, exit 4) and that package is unchanged', async () => {
    const other = packageDir('marketing', {'marketing_daily.py': dag('marketing', 'daily', 'v1')})
    let r = await dagctl(['publish', '--env', 'prod', '--no-validate', '--json'], other, admin)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
    setDags(other, {'marketing_daily.py': dag('marketing', 'daily', 'by-ci-sales')})
    r = await dagctl(['publish', '--env', 'prod', '--no-validate', '--json'], other, ci)
    expect(r.exitCode, r.stdout + r.stderr).toBe(4)
    expect(JSON.parse(r.stdout).error.message).toMatch(/HTTP 403/)
    expect(await headRelease('marketing', admin)).toBe(1)
  })

  it('Airflow\'s role syncs every package of the environment (dagctl sync --once) and can write nothing', async () => {
    // the sales package of the earlier test is replaced whole (every file): a mass removal
    const sales = packageDir('sales', {'sales_hourly.py': dag('sales', 'hourly', 'v1')})
    expect((await dagctl(['publish', '--env', 'prod', '--no-validate', '--allow-mass-removal', '--json'], sales, ci)).exitCode).toBe(0)
    setDags(sales, {'sales_hourly.py': dag('sales', 'hourly', 'v2')})
    expect((await dagctl(['publish', '--env', 'prod', '--no-validate', '--json'], sales, ci)).exitCode).toBe(0)
    const marketing = packageDir('marketing', {'marketing_daily.py': dag('marketing', 'daily', 'v2')})
    expect((await dagctl(['publish', '--env', 'prod', '--no-validate', '--json'], marketing, admin)).exitCode).toBe(0)

    const to = tempDir()
    const r = await dagctl(['sync', '--once', '--json', '--env', 'prod', '--to', to], sales, airflow)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result.last.packages.map((p: {package: string; status: string}) => [p.package, p.status])).toEqual([
      ['marketing', 'updated'],
      ['sales', 'updated'],
    ])
    expect(readFileSync(path.join(to, 'sales', 'sales_hourly.py'), 'utf8')).toBe(dag('sales', 'hourly', 'v2'))
    expect(Object.keys(treeHashes(path.join(to, 'sales')))).toEqual(['sales_hourly.py'])
    expect(readFileSync(path.join(to, 'marketing', 'marketing_daily.py'), 'utf8')).toBe(dag('marketing', 'daily', 'v2'))

    // the Airflow 3 bundle's reader (python/dagctl_airflow, boto3) reads the same with the same role
    const bundle = await execa(inject('testPython'), ['-m', 'dagctl_airflow.check', `s3://${BUCKET}`, '--env', 'prod', '--s3-endpoint', moto.endpoint], {
      env: {...envOf(airflow), PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow')},
      extendEnv: false,
      reject: false,
      timeout: budget(120_000),
    })
    expect(bundle.exitCode, bundle.stdout + bundle.stderr).toBe(0)
    const report = JSON.parse(bundle.stdout)
    expect(Object.keys(report.packages)).toEqual(['marketing', 'sales'])
    for (const p of Object.values(report.packages) as Array<{ok: boolean}>) expect(p.ok).toBe(true)

    // the same credentials cannot publish, not even the package they read, and nothing moved
    const before = await headRelease('sales', admin)
    setDags(sales, {'sales_hourly.py': dag('sales', 'hourly', 'by-airflow')})
    const w = await dagctl(['publish', '--env', 'prod', '--no-validate', '--json'], sales, airflow)
    expect(w.exitCode, w.stdout + w.stderr).toBe(4)
    expect(JSON.parse(w.stdout).error.message).toMatch(/HTTP 403/)
    const rb = await dagctl(['rollback', '--env', 'prod', '--steps', '1', '--yes', '--json'], sales, airflow)
    expect(rb.exitCode, rb.stdout + rb.stderr).toBe(4)
    expect(await headRelease('sales', admin)).toBe(before)
    // and no single write of any kind lands, on any key dagctl uses
    const s3 = new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: {accessKeyId: airflow.AccessKeyId, secretAccessKey: airflow.SecretAccessKey, sessionToken: airflow.SessionToken}})
    const layout = new PackageLayout('prod', 'sales')
    const denied = async (what: string, send: () => Promise<unknown>): Promise<void> => {
      const status = await send().then(
        () => 200,
        (error: {$metadata?: {httpStatusCode?: number}}) => error.$metadata?.httpStatusCode,
      )
      expect(status, what).toBe(403)
    }
    for (const key of [layout.head, layout.liveState, layout.release(99), layout.blob('0'.repeat(64)), layout.live('sales_hourly.py'), layout.live('new.py')]) {
      await denied(`PUT ${key}`, () => s3.send(new PutObjectCommand({Bucket: BUCKET, Key: key, Body: 'x'})))
      await denied(`PUT ${key} If-None-Match`, () => s3.send(new PutObjectCommand({Bucket: BUCKET, Key: key, Body: 'x', IfNoneMatch: '*'})))
      await denied(`DELETE ${key}`, () => s3.send(new DeleteObjectCommand({Bucket: BUCKET, Key: key})))
    }
    await denied('COPY blob to live', () => s3.send(new CopyObjectCommand({Bucket: BUCKET, Key: layout.live('sales_hourly.py'), CopySource: `${BUCKET}/${layout.head}`})))
    s3.destroy()
  })

  it('every request a real publish, rollback, fsck, sync and bundle read send, with its real conditional headers, is one the policies allow, conditions included', async () => {
    // moto ignores conditions: here the very requests dagctl sends (recorded by a proxy in front of
    // moto) are judged by iam-simulate, with s3:if-none-match / s3:if-match taken from their headers
    const seen: SeenRequest[] = []
    const proxy = await startFaultProxy({
      target: moto.endpoint,
      choose: (req) => {
        seen.push({method: req.method ?? '?', url: req.url ?? '', headers: {...req.headers}})
        return 'pass'
      },
    })
    try {
      const dir = packageDir('sales', {'sales_a.py': dag('sales', 'a', 'v1'), 'sales_b.py': dag('sales', 'b', 'v1')})
      const run = async (args: string[]): Promise<void> => {
        const r = await dagctl([...args, '--env', 'prod', '--json'], dir, ci, proxy.endpoint)
        expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0)
      }
      await run(['publish', '--no-validate', '--allow-mass-removal'])
      setDags(dir, {'sales_a.py': dag('sales', 'a', 'v2')})
      await run(['publish', '--no-validate'])
      await run(['rollback', '--steps', '1', '--yes'])
      await run(['fsck', '--package', 'sales'])
      // a live file lost (deleted behind dagctl's back): fsck --repair rewrites it from its blob
      const admin3 = new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: {accessKeyId: admin.AccessKeyId, secretAccessKey: admin.SecretAccessKey, sessionToken: admin.SessionToken}})
      await admin3.send(new DeleteObjectCommand({Bucket: BUCKET, Key: new PackageLayout('prod', 'sales').live('sales_b.py')}))
      admin3.destroy()
      const repair = await dagctl(['fsck', '--package', 'sales', '--repair', '--env', 'prod', '--json'], dir, ci, proxy.endpoint)
      expect(JSON.stringify(JSON.parse(repair.stdout)), repair.stderr).toMatch(/sales_b\.py/)
      await run(['fsck', '--package', 'sales'])
      // 40 new files: one pack (create-only PUT under blobs/), and a live file lost again: --repair
      // reads its content from the pack (a ranged GET) and writes it
      const packed = Object.fromEntries(Array.from({length: 40}, (_, i) => [`sales_p${i}.py`, dag('sales', `p${i}`, 'v1')]))
      setDags(dir, {'sales_a.py': dag('sales', 'a', 'v1'), 'sales_b.py': dag('sales', 'b', 'v1'), ...packed})
      await run(['publish', '--no-validate'])
      const admin4 = new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: {accessKeyId: admin.AccessKeyId, secretAccessKey: admin.SecretAccessKey, sessionToken: admin.SessionToken}})
      await admin4.send(new DeleteObjectCommand({Bucket: BUCKET, Key: new PackageLayout('prod', 'sales').live('sales_p0.py')}))
      admin4.destroy()
      const repairPacked = await dagctl(['fsck', '--package', 'sales', '--repair', '--env', 'prod', '--json'], dir, ci, proxy.endpoint)
      expect(JSON.stringify(JSON.parse(repairPacked.stdout)), repairPacked.stderr).toMatch(/sales_p0\.py/)
      await run(['fsck', '--package', 'sales'])
      const ciRequests = seen.splice(0)

      const to = tempDir()
      const r = await dagctl(['sync', '--once', '--json', '--env', 'prod', '--to', to], dir, airflow, proxy.endpoint)
      expect(r.exitCode, r.stdout + r.stderr).toBe(0)
      const bundle = await execa(inject('testPython'), ['-m', 'dagctl_airflow.check', `s3://${BUCKET}`, '--env', 'prod', '--s3-endpoint', proxy.endpoint], {
        env: {...envOf(airflow, proxy.endpoint), PYTHONPATH: path.join(REPO_ROOT, 'python', 'dagctl_airflow')},
        extendEnv: false,
        reject: false,
        timeout: budget(120_000),
      })
      expect(bundle.exitCode, bundle.stderr).toBe(0)
      const airflowRequests = seen.splice(0)

      const judge = async (policy: string, requests: SeenRequest[]): Promise<Authorization[]> => {
        const all = requests.flatMap(authorizationsOf)
        for (const a of all) {
          const d = await simulate(ACCOUNT, policy, a.action, a.resource, a.context)
          expect(d.ignoredContextKeys, `${a.action} ${a.resource}`).toEqual([])
          expect(d.decision, `${a.action} ${a.resource} ${JSON.stringify(a.context)}`).toBe('Allowed')
        }
        return all
      }
      const ciAuth = await judge(policies.ci_policy_json.value as string, ciRequests)
      await judge(policies.airflow_policy_json.value as string, airflowRequests)

      // the traffic had what the policy's conditions are about
      const layout = new PackageLayout('prod', 'sales')
      const puts = ciAuth.filter((a) => a.action === 's3:PutObject')
      const key = (a: Authorization): string => a.resource.slice(`arn:aws:s3:::${BUCKET}/`.length)
      expect(puts.some((a) => key(a).startsWith(layout.blobsPrefix) && 's3:if-none-match' in a.context)).toBe(true)
      expect(puts.some((a) => key(a).startsWith(`${layout.blobsPrefix}pack-`) && 's3:if-none-match' in a.context)).toBe(true)
      expect(ciRequests.some((q) => q.method === 'GET' && q.url.includes('/blobs/pack-') && q.headers.range !== undefined)).toBe(true)
      expect(puts.some((a) => key(a).startsWith(layout.releasesPrefix) && 's3:if-none-match' in a.context)).toBe(true)
      expect(puts.some((a) => key(a) === layout.head && 's3:if-match' in a.context)).toBe(true)
      expect(puts.some((a) => key(a) === layout.liveState && 's3:if-match' in a.context)).toBe(true)
      for (const a of puts.filter((p) => key(p).startsWith('_dagctl/'))) expect(Object.keys(a.context), key(a)).not.toEqual([])
      expect(ciAuth.some((a) => a.action === 's3:DeleteObject' && key(a).startsWith(layout.livePrefix))).toBe(true)
      expect(ciRequests.some((q) => q.headers['x-amz-copy-source'] !== undefined)).toBe(true)
      const afAuth = airflowRequests.flatMap(authorizationsOf)
      expect(afAuth.some((a) => a.action === 's3:ListBucket' && a.context['s3:prefix'] === '_dagctl/prod/')).toBe(true)
      for (const suffix of ['/HEAD.json', '/releases/', '/blobs/', '/blobs/pack-']) expect(afAuth.some((a) => a.action === 's3:GetObject' && a.resource.includes(suffix)), suffix).toBe(true)
      // both readers fetched the pack by range
      expect(airflowRequests.filter((q) => q.method === 'GET' && q.url.includes('/blobs/pack-') && q.headers.range !== undefined).length).toBeGreaterThanOrEqual(2)
    } finally {
      await proxy.stop()
    }
  })

  it('the documents moto enforced are the strings terraform rendered for env=prod, packages=[sales]', () => {
    const ciDoc = JSON.parse(policies.ci_policy_json.value as string)
    const resources = ciDoc.Statement.flatMap((s: {Resource: string | string[]}) => [s.Resource].flat())
    for (const r of resources) expect(r).toMatch(/^arn:aws:s3:::acme-dags(\/(_dagctl\/prod\/sales\/.*|prod\/sales\/dags\/\*))?$/)
    const layout = new PackageLayout('prod', 'sales')
    expect(resources).toContain(`arn:aws:s3:::${BUCKET}/${layout.meta}/*`)
  })
})
