import {execa} from 'execa'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {ensureVenv} from '../../src/python/venv.js'
import {PackageLayout} from '../../src/release/layout.js'
import {budget} from '../helpers/budget.js'
import {simulate, type Decision} from '../helpers/iam.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {renderPolicies, type PolicyInputs, type TerraformOutput} from '../helpers/terraform.js'

/**
 * The module's IAM documents, rendered by the real terraform binary (modules/dag-policies), judged
 * by an IAM evaluator that implements every condition operator (@cloud-copilot/iam-simulate), and
 * linted by parliament. moto (terraform-iam-moto.test.ts) proves them with the real dagctl but
 * ignores conditions; this file proves the conditions: blobs, manifests and HEAD are written only
 * conditionally, and listings stay inside the prefixes named.
 */

const ACCOUNT = '444455556666'
const BUCKET = 'acme-airflow-dags-prod'
const KMS = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`
const BASE: PolicyInputs = {
  bucket: BUCKET,
  region: 'eu-west-1',
  environment: 'prod',
  ci_packages: ['sales'],
  oidc_provider_arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLEPRODD4633E53DE1B71EXAMPLE`,
  airflow_service_accounts: ['airflow-scheduler', 'airflow-dag-processor'],
}

/** As IAM decides it (test/helpers/iam.ts), refusing a context key the evaluator would drop silently. */
async function decide(policyJson: string, action: string, resource: string, context: Record<string, string> = {}, resourcePolicyJson?: string): Promise<Decision> {
  const r = await simulate(ACCOUNT, policyJson, action, resource, context, resourcePolicyJson)
  expect(r.ignoredContextKeys, `${action} ${resource}: ignored context keys`).toEqual([])
  return r.decision
}

/** The default key policy of a KMS key (what aws_kms_key without a policy gets): IAM policies of the account decide. */
const DEFAULT_KEY_POLICY = JSON.stringify({Version: '2012-10-17', Statement: [{Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${ACCOUNT}:root`}, Action: 'kms:*', Resource: '*'}]})

const obj = (key: string): string => `arn:aws:s3:::${BUCKET}/${key}`
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`
const NEW = {'s3:if-none-match': '*'}
const CAS = {'s3:if-match': '"9b2cf535f27731c974343645a3985328"'}
const sales = new PackageLayout('prod', 'sales')
const marketing = new PackageLayout('prod', 'marketing')
const salesDev = new PackageLayout('dev', 'sales')
const BLOB = 'a'.repeat(64)

let plain: Record<string, TerraformOutput>
let kms: Record<string, TerraformOutput>
let prefixed: Record<string, TerraformOutput>
let noLiveTree: Record<string, TerraformOutput>
const doc = (o: Record<string, TerraformOutput>, name: string): string => o[name].value as string

beforeAll(async () => {
  ;[plain, kms, prefixed, noLiveTree] = await Promise.all([
    renderPolicies(BASE),
    renderPolicies({...BASE, kms_key_arn: KMS}),
    renderPolicies({...BASE, store_prefix: 'airflow/dags'}),
    renderPolicies({...BASE, airflow_read_live_tree: false}),
  ])
}, 600_000)

describe('the CI policy (env=prod, packages=[sales]), evaluated', () => {
  const ci = (): string => doc(plain, 'ci_policy_json')

  it('allows every request a publish, rollback and fsck --repair of sales make, with the conditions dagctl sends', async () => {
    const allowed: Array<[string, string, Record<string, string>?]> = [
      ['s3:PutObject', obj(sales.blob(BLOB)), NEW],
      ['s3:PutObject', obj(sales.release(1)), NEW],
      ['s3:PutObject', obj(sales.head), NEW], // the first release
      ['s3:PutObject', obj(sales.head), CAS],
      ['s3:PutObject', obj(sales.liveState), NEW],
      ['s3:PutObject', obj(sales.liveState), CAS],
      ['s3:PutObject', obj(sales.live('sales_daily.py'))], // live tree: plain writes and copies
      ['s3:PutObject', obj(sales.live('sub/dir/sales_x.py'))],
      ['s3:DeleteObject', obj(sales.live('sales_old.py'))],
      ['s3:GetObject', obj(sales.head)],
      ['s3:GetObject', obj(sales.liveState)],
      ['s3:GetObject', obj(sales.release(7))],
      ['s3:GetObject', obj(sales.blob(BLOB))], // also the source of a CopyObject
      ['s3:GetObject', obj(sales.live('sales_daily.py'))], // fsck reads each live file
      ['s3:ListBucket', BUCKET_ARN, {'s3:prefix': sales.releasesPrefix}],
      ['s3:ListBucket', BUCKET_ARN, {'s3:prefix': sales.blobsPrefix}],
      ['s3:ListBucket', BUCKET_ARN, {'s3:prefix': sales.livePrefix}],
    ]
    for (const [action, resource, context] of allowed) expect(await decide(ci(), action, resource, context), `${action} ${resource} ${JSON.stringify(context ?? {})}`).toBe('Allowed')
  })

  it('denies writes to another package, another environment, outside dags/, and look-alike package names', async () => {
    const salesx = new PackageLayout('prod', 'salesx')
    for (const key of [
      marketing.blob(BLOB),
      marketing.head,
      marketing.live('marketing_daily.py'),
      salesDev.blob(BLOB),
      salesDev.head,
      salesDev.live('sales_daily.py'),
      salesx.blob(BLOB),
      salesx.live('sales_daily.py'),
      'prod/sales/other.py',
      'prod/sales.py',
      '_dagctl/prod/sales',
      'sales/dags/x.py',
    ]) {
      for (const context of [{}, NEW, CAS]) expect(await decide(ci(), 's3:PutObject', obj(key), context), `PUT ${key} ${JSON.stringify(context)}`).not.toBe('Allowed')
      expect(await decide(ci(), 's3:DeleteObject', obj(key)), `DELETE ${key}`).not.toBe('Allowed')
      expect(await decide(ci(), 's3:GetObject', obj(key)), `GET ${key}`).not.toBe('Allowed')
    }
  })

  it('denies an unconditional write of a blob, a manifest, HEAD or live.json (history is only ever added to), and deletes of them', async () => {
    for (const key of [sales.blob(BLOB), sales.release(1), sales.head, sales.liveState]) {
      expect(await decide(ci(), 's3:PutObject', obj(key)), `PUT ${key}`).toBe('ImplicitlyDenied')
      expect(await decide(ci(), 's3:DeleteObject', obj(key)), `DELETE ${key}`).toBe('ImplicitlyDenied')
      expect(await decide(ci(), 's3:DeleteObjectVersion', obj(key)), `DELETE version ${key}`).toBe('ImplicitlyDenied')
    }
    // If-Match replaces only the two pointers: never a blob or a manifest
    expect(await decide(ci(), 's3:PutObject', obj(sales.blob(BLOB)), CAS)).toBe('ImplicitlyDenied')
    expect(await decide(ci(), 's3:PutObject', obj(sales.release(1)), CAS)).toBe('ImplicitlyDenied')
  })

  it('lists only its own prefixes: not the environment, not the bucket, not another package', async () => {
    for (const prefix of ['', '_dagctl/', '_dagctl/prod/', 'prod/', marketing.meta + '/', marketing.livePrefix, salesDev.meta + '/', '_dagctl/prod/salesx/', 'prod/salesx/']) {
      expect(await decide(ci(), 's3:ListBucket', BUCKET_ARN, prefix ? {'s3:prefix': prefix} : {}), `list ${JSON.stringify(prefix)}`).toBe('ImplicitlyDenied')
    }
  })

  it('grants no bucket administration and no version-level access', async () => {
    for (const action of ['s3:PutBucketPolicy', 's3:DeleteBucket', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration', 's3:ListBucketVersions']) {
      expect(await decide(ci(), action, BUCKET_ARN), action).toBe('ImplicitlyDenied')
    }
    for (const action of ['s3:GetObjectVersion', 's3:PutObjectAcl', 's3:DeleteObjectVersion']) expect(await decide(ci(), action, obj(sales.live('a.py'))), action).toBe('ImplicitlyDenied')
  })

  it('with SSE-KMS: the key only through S3 in the bucket\'s region', async () => {
    const k = doc(kms, 'ci_policy_json')
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      expect(await decide(k, action, KMS, {'kms:ViaService': 's3.eu-west-1.amazonaws.com'}, DEFAULT_KEY_POLICY), action).toBe('Allowed')
      expect(await decide(k, action, KMS, {}, DEFAULT_KEY_POLICY), `${action} directly`).toBe('ImplicitlyDenied')
      expect(await decide(k, action, KMS, {'kms:ViaService': 's3.us-east-1.amazonaws.com'}, DEFAULT_KEY_POLICY), `${action} elsewhere`).toBe('ImplicitlyDenied')
    }
    expect(await decide(k, 'kms:Encrypt', KMS, {'kms:ViaService': 's3.eu-west-1.amazonaws.com'}, DEFAULT_KEY_POLICY)).toBe('ImplicitlyDenied')
    expect(await decide(ci(), 'kms:Decrypt', KMS, {'kms:ViaService': 's3.eu-west-1.amazonaws.com'}, DEFAULT_KEY_POLICY), 'SSE-S3: no KMS at all').toBe('ImplicitlyDenied')
  })

  it('with a store prefix: the same rules under it, nothing at the bucket\'s root', async () => {
    const p = doc(prefixed, 'ci_policy_json')
    expect(await decide(p, 's3:PutObject', obj(`airflow/dags/${sales.blob(BLOB)}`), NEW)).toBe('Allowed')
    expect(await decide(p, 's3:PutObject', obj(`airflow/dags/${sales.live('a.py')}`))).toBe('Allowed')
    expect(await decide(p, 's3:ListBucket', BUCKET_ARN, {'s3:prefix': `airflow/dags/${sales.releasesPrefix}`})).toBe('Allowed')
    expect(await decide(p, 's3:PutObject', obj(sales.blob(BLOB)), NEW)).toBe('ImplicitlyDenied')
    expect(await decide(p, 's3:PutObject', obj(sales.live('a.py')))).toBe('ImplicitlyDenied')
    expect(await decide(p, 's3:ListBucket', BUCKET_ARN, {'s3:prefix': sales.releasesPrefix})).toBe('ImplicitlyDenied')
  })
})

describe('Airflow\'s role policy (env=prod), evaluated', () => {
  const af = (): string => doc(plain, 'airflow_policy_json')

  it('reads what dagctl sync and the DagctlBundle read, for every package of the environment, and the live tree', async () => {
    for (const layout of [sales, marketing]) {
      for (const key of [layout.head, layout.release(3), layout.blob(BLOB), layout.live('x.py')]) expect(await decide(af(), 's3:GetObject', obj(key)), key).toBe('Allowed')
    }
    for (const prefix of ['_dagctl/prod/', 'prod/', sales.livePrefix]) expect(await decide(af(), 's3:ListBucket', BUCKET_ARN, {'s3:prefix': prefix}), prefix).toBe('Allowed')
  })

  it('writes nothing at all, under any condition', async () => {
    for (const key of [sales.head, sales.liveState, sales.release(1), sales.blob(BLOB), sales.live('x.py'), 'anything']) {
      for (const context of [{}, NEW, CAS]) expect(await decide(af(), 's3:PutObject', obj(key), context), `PUT ${key}`).toBe('ImplicitlyDenied')
      for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl', 's3:PutObjectTagging', 's3:RestoreObject']) {
        expect(await decide(af(), action, obj(key)), `${action} ${key}`).toBe('ImplicitlyDenied')
      }
    }
    for (const action of ['s3:PutBucketPolicy', 's3:DeleteBucket', 's3:PutLifecycleConfiguration']) expect(await decide(af(), action, BUCKET_ARN), action).toBe('ImplicitlyDenied')
  })

  it('reads nothing of another environment, nor live.json, nor the bucket listing', async () => {
    for (const key of [salesDev.head, salesDev.blob(BLOB), salesDev.live('x.py'), sales.liveState, 'other/key']) expect(await decide(af(), 's3:GetObject', obj(key)), key).toBe('ImplicitlyDenied')
    for (const prefix of ['', '_dagctl/', '_dagctl/dev/', 'dev/', 'pro']) {
      expect(await decide(af(), 's3:ListBucket', BUCKET_ARN, prefix ? {'s3:prefix': prefix} : {}), JSON.stringify(prefix)).toBe('ImplicitlyDenied')
    }
  })

  it('without airflow_read_live_tree: only _dagctl/<env>/', async () => {
    const p = doc(noLiveTree, 'airflow_policy_json')
    expect(await decide(p, 's3:GetObject', obj(sales.head))).toBe('Allowed')
    expect(await decide(p, 's3:GetObject', obj(sales.live('x.py')))).toBe('ImplicitlyDenied')
    expect(await decide(p, 's3:ListBucket', BUCKET_ARN, {'s3:prefix': 'prod/'})).toBe('ImplicitlyDenied')
  })

  it('with SSE-KMS: Decrypt through S3 only, never GenerateDataKey', async () => {
    const k = doc(kms, 'airflow_policy_json')
    expect(await decide(k, 'kms:Decrypt', KMS, {'kms:ViaService': 's3.eu-west-1.amazonaws.com'}, DEFAULT_KEY_POLICY)).toBe('Allowed')
    expect(await decide(k, 'kms:Decrypt', KMS, {}, DEFAULT_KEY_POLICY)).toBe('ImplicitlyDenied')
    expect(await decide(k, 'kms:GenerateDataKey', KMS, {'kms:ViaService': 's3.eu-west-1.amazonaws.com'}, DEFAULT_KEY_POLICY)).toBe('ImplicitlyDenied')
  })
})

describe('the bucket policy and the trust policy', () => {
  it('the bucket policy denies every request without TLS, whatever the identity policy allows', async () => {
    const admin = JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 's3:*', Resource: '*'}]})
    const bp = doc(plain, 'bucket_policy_json')
    expect(await decide(admin, 's3:GetObject', obj(sales.head), {}, bp)).toBe('Allowed')
    expect(await decide(admin, 's3:GetObject', obj(sales.head), {'aws:SecureTransport': 'false'}, bp)).toBe('ExplicitlyDenied')
    expect(await decide(admin, 's3:ListBucket', BUCKET_ARN, {'aws:SecureTransport': 'false'}, bp)).toBe('ExplicitlyDenied')
  })

  it('the trust policy names the OIDC provider and exactly the service accounts given, with the STS audience', () => {
    // iam-simulate drops the provider's own condition keys (<issuer>:sub, :aud) as unknown, so this
    // document is checked by its content; that the pods get the role is proven only on EKS.
    const issuer = 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLEPRODD4633E53DE1B71EXAMPLE'
    expect(JSON.parse(doc(plain, 'airflow_trust_policy_json'))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AirflowServiceAccounts',
          Effect: 'Allow',
          Principal: {Federated: BASE.oidc_provider_arn},
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${issuer}:aud`]: 'sts.amazonaws.com',
              [`${issuer}:sub`]: ['system:serviceaccount:airflow:airflow-scheduler', 'system:serviceaccount:airflow:airflow-dag-processor'],
            },
          },
        },
      ],
    })
  })
})

describe('parliament (IAM policy linter)', () => {
  let parliament: string
  beforeAll(() => {
    parliament = path.join(ensureVenv(path.join(REPO_ROOT, 'test', 'requirements-terraform.txt'), 'terraform', {stdio: ['ignore', 2, 2]}).dir, 'bin', 'parliament')
  }, 600_000)

  const lint = async (policy: string): Promise<{exitCode: number; findings: string[]}> => {
    // --string, not --file: parliament refuses --file when stdin is not a terminal
    const r = await execa(parliament, ['--string', policy, '--json', '--minimum_severity', 'INFO', '--include-community-auditors'], {reject: false, stdin: 'ignore', timeout: budget(120_000)})
    if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`parliament failed (${r.exitCode}): ${r.stderr}`)
    return {exitCode: r.exitCode ?? -1, findings: r.stdout.split('\n').filter(Boolean)}
  }

  it('finds nothing in the CI, Airflow and bucket policies (SSE-S3, SSE-KMS, with a store prefix)', async () => {
    for (const [label, outputs] of Object.entries({plain, kms, prefixed, noLiveTree})) {
      for (const name of ['ci_policy_json', 'airflow_policy_json', 'bucket_policy_json']) {
        const r = await lint(doc(outputs, name))
        expect(r.findings, `${label} ${name}`).toEqual([])
        expect(r.exitCode).toBe(0)
      }
    }
  })

  it('does find a real mistake (the linter is not silent)', async () => {
    const bad = JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 's3:PutObject', Resource: BUCKET_ARN}]})
    const r = await lint(bad)
    expect(r.exitCode).toBe(1)
    expect(r.findings.join('\n')).toMatch(/RESOURCE_MISMATCH/)
  })
})
