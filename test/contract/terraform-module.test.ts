import {cpSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'
import {BUCKET_MODULE, parseModule, POLICIES_MODULE, renderPolicies, terraform, TERRAFORM_DIR, type TerraformOutput} from '../helpers/terraform.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * terraform/ as far as it can be checked on a machine without the AWS provider: terraform's own
 * fmt and (for the provider-free policies module) init/validate/apply, the HCL parsed by
 * @cdktf/hcl2json (HashiCorp's parser) for the structure the bucket must have, and the recorded
 * outputs and plan (test/fixtures/terraform/) against the module.
 */

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'terraform')
const EXAMPLES = ['dev', 'prod'].map((e) => path.join(TERRAFORM_DIR, 'examples', e))
const CONFIGS = [TERRAFORM_DIR, BUCKET_MODULE, POLICIES_MODULE, ...EXAMPLES]
const readJson = (file: string): any => JSON.parse(readFileSync(file, 'utf8'))

/** hcl2json wraps every block in a list: `resource.aws_s3_bucket.dags[0]`. */
const one = (blocks: unknown[] | undefined, what: string): any => {
  expect(blocks, what).toHaveLength(1)
  return blocks![0]
}

let bucket: Record<string, any>
let root: Record<string, any>

beforeAll(async () => {
  ;[bucket, root] = await Promise.all([parseModule(BUCKET_MODULE), parseModule(TERRAFORM_DIR)])
})

describe('terraform fmt and validate', () => {
  it('terraform fmt -check -recursive terraform/ passes (and fails on a misformatted file)', async () => {
    const r = await terraform(['fmt', '-check', '-recursive', '-no-color', 'terraform/'], REPO_ROOT)
    expect(r.exitCode, r.stdout + r.stderr).toBe(0)
    const copy = tempDir()
    cpSync(POLICIES_MODULE, copy, {recursive: true})
    writeFileSync(path.join(copy, 'outputs.tf'), readFileSync(path.join(copy, 'outputs.tf'), 'utf8').replace('  value       = local.ci_policy_json', '  value = local.ci_policy_json'))
    const bad = await terraform(['fmt', '-check', '-recursive', '-no-color', copy], REPO_ROOT)
    expect(bad.exitCode).toBe(3)
    expect(bad.stdout).toMatch(/outputs\.tf/)
  })

  it('the policies module (no provider) passes terraform init -backend=false and terraform validate', async () => {
    const data = tempDir()
    const env = {TF_DATA_DIR: data}
    const init = await terraform(['init', '-backend=false', '-input=false', '-no-color'], POLICIES_MODULE, env)
    expect(init.exitCode, init.stdout + init.stderr).toBe(0)
    const v = await terraform(['validate', '-json', '-no-color'], POLICIES_MODULE, env)
    expect(v.exitCode, v.stdout + v.stderr).toBe(0)
    expect(JSON.parse(v.stdout)).toMatchObject({valid: true, error_count: 0, warning_count: 0})
  })

  it('the variables\' validation rules, evaluated by terraform, refuse bad inputs with their message', async () => {
    const base = {
      bucket: 'acme-dags',
      region: 'eu-west-1',
      environment: 'prod',
      ci_packages: ['sales'],
      oidc_provider_arn: 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X',
      airflow_service_accounts: ['airflow-scheduler'],
    }
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{environment: 'Prod'}, /environment must be a dagctl environment name/],
      [{ci_packages: ['sales', 'Sales-Team']}, /ci_packages must name at least one package/],
      [{ci_packages: []}, /ci_packages must name at least one package/],
      [{ci_packages: ['*']}, /ci_packages must name at least one package/],
      [{bucket: 'Acme_Dags'}, /bucket must be an S3 bucket name/],
      [{kms_key_arn: 'alias/dags'}, /kms_key_arn must be null or a KMS key ARN/],
      [{store_prefix: '/airflow/'}, /store_prefix must be/],
      [{store_prefix: 'a/*'}, /store_prefix must be/],
      [{airflow_service_accounts: ['*']}, /airflow_service_accounts must name/],
    ]
    for (const [change, message] of cases) {
      const error = await renderPolicies({...base, ...change} as never).then(
        () => undefined,
        (e: Error) => e.message,
      )
      expect(error, JSON.stringify(change)).toMatch(message)
    }
  })

  it('the dag-bucket module\'s own variables (encryption, lifecycle days, names), evaluated by terraform from a copy of its variables.tf', async () => {
    // variables.tf refers to nothing but its variables, so a provider-free copy runs its validations for real
    const required = {
      bucket: 'acme-dags',
      region: 'eu-west-1',
      environment: 'prod',
      ci_packages: ['sales'],
      oidc_provider_arn: 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X',
    }
    const mod = tempDir({'variables.tf': readFileSync(path.join(BUCKET_MODULE, 'variables.tf'), 'utf8')})
    const check = async (change: Record<string, unknown>): Promise<{exitCode: number; text: string}> => {
      const dir = tempDir({'main.tf.json': JSON.stringify({module: {m: {source: mod, ...required, ...change}}})})
      const init = await terraform(['init', '-input=false', '-no-color'], dir)
      expect(init.exitCode, init.stderr).toBe(0)
      const r = await terraform(['plan', '-input=false', '-no-color'], dir)
      return {exitCode: r.exitCode, text: r.stdout + r.stderr}
    }
    expect((await check({})).exitCode).toBe(0)
    expect((await check({encryption: 'SSE-KMS', kms_key_arn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', noncurrent_version_expiration_days: 90})).exitCode).toBe(0)
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{encryption: 'aws:kms'}, /encryption must be "SSE-S3" or "SSE-KMS"/],
      [{noncurrent_version_expiration_days: 0}, /noncurrent_version_expiration_days must be a whole number/],
      [{noncurrent_version_expiration_days: 1.5}, /noncurrent_version_expiration_days must be a whole number/],
      [{ci_role_names: ['arn:aws:iam::123456789012:role/ci']}, /ci_role_names must be IAM role names/],
      [{name_prefix: 'a b'}, /name_prefix must be/],
      [{kubernetes_namespace: 'Airflow'}, /kubernetes_namespace must be a Kubernetes namespace name/],
      [{bucket: 'acme..dags'}, /bucket must be an S3 bucket name/],
      [{region: 'Ireland'}, /region must be an AWS region name/],
    ]
    for (const [change, message] of cases) {
      const r = await check(change)
      expect(r.exitCode, JSON.stringify(change)).toBe(1)
      expect(r.text.replace(/\s+/g, ' '), JSON.stringify(change)).toMatch(message)
    }
  })
})

describe('the HCL, parsed', () => {
  it('every variable of every configuration has a type and a description, every output a description', async () => {
    for (const dir of CONFIGS) {
      const m = await parseModule(dir)
      for (const [name, blocks] of Object.entries((m.variable ?? {}) as Record<string, any[]>)) {
        const v = one(blocks, `${dir} variable ${name}`)
        expect(typeof v.description === 'string' && v.description.length > 20, `${dir}: variable ${name} has a description`).toBe(true)
        expect(v.type, `${dir}: variable ${name} has a type`).toBeDefined()
      }
      for (const [name, blocks] of Object.entries((m.output ?? {}) as Record<string, any[]>)) {
        expect(one(blocks, `${dir} output ${name}`).description, `${dir}: output ${name} has a description`).toMatch(/\w{3,}/)
      }
    }
  })

  it('every variable whose value a user types is validated', async () => {
    const free = new Set(['force_destroy', 'airflow_read_live_tree', 'tags']) // bools and a map: their type is the rule
    for (const dir of [BUCKET_MODULE, POLICIES_MODULE]) {
      for (const [name, blocks] of Object.entries((await parseModule(dir)).variable as Record<string, any[]>)) {
        if (free.has(name)) continue
        expect(blocks[0].validation, `${dir}: variable ${name} has a validation block`).toBeDefined()
      }
    }
  })

  it('the bucket: versioning on, encryption SSE-S3 or KMS by variable, public access blocked, owner-enforced, lifecycle of noncurrent versions, TLS-only policy', () => {
    const r = bucket.resource
    const b = one(r.aws_s3_bucket.dags, 'aws_s3_bucket')
    expect(b.bucket).toBe('${var.bucket}')
    expect(b.force_destroy).toBe('${var.force_destroy}')
    expect(one(r.aws_s3_bucket_versioning.dags, 'versioning').versioning_configuration).toEqual([{status: 'Enabled'}])
    const sse = one(r.aws_s3_bucket_server_side_encryption_configuration.dags, 'sse').rule[0]
    expect(sse.apply_server_side_encryption_by_default[0].sse_algorithm).toBe('${local.use_kms ? "aws:kms" : "AES256"}')
    expect(sse.apply_server_side_encryption_by_default[0].kms_master_key_id).toBe('${local.kms_key_arn}')
    expect(bucket.locals[0].use_kms).toBe('${var.encryption == "SSE-KMS"}')
    expect(one(r.aws_s3_bucket_public_access_block.dags, 'pab')).toMatchObject({block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true})
    expect(one(r.aws_s3_bucket_ownership_controls.dags, 'ownership').rule).toEqual([{object_ownership: 'BucketOwnerEnforced'}])
    const rule = one(r.aws_s3_bucket_lifecycle_configuration.dags, 'lifecycle').rule[0]
    expect(rule.status).toBe('Enabled')
    expect(rule.filter).toEqual([{}])
    expect(rule.noncurrent_version_expiration).toEqual([{noncurrent_days: '${var.noncurrent_version_expiration_days}'}])
    const kms = one(r.aws_kms_key.dags, 'kms key')
    expect(kms.enable_key_rotation).toBe(true)
    expect(one(r.aws_s3_bucket_policy.dags, 'bucket policy').policy).toBe('${module.policies.bucket_policy_json}')
  })

  it('every IAM document the AWS provider gets is a string of the dag-policies module (the one the tests render and evaluate)', () => {
    const r = bucket.resource
    expect(one(r.aws_iam_role.airflow, 'role').assume_role_policy).toBe('${module.policies.airflow_trust_policy_json}')
    expect(one(r.aws_iam_role_policy.airflow, 'role policy').policy).toBe('${module.policies.airflow_policy_json}')
    expect(one(r.aws_iam_policy.ci, 'ci policy').policy).toBe('${module.policies.ci_policy_json}')
    // and no other policy anywhere: no inline document, no aws_iam_policy_document data source
    const text = ['main.tf', 'outputs.tf'].map((f) => readFileSync(path.join(BUCKET_MODULE, f), 'utf8')).join('\n')
    expect(text).not.toMatch(/jsonencode|aws_iam_policy_document|<<\s*EOF/)
    const policies = one(bucket.module.policies, 'module policies')
    expect(policies.source).toBe('../dag-policies')
    for (const v of Object.keys(readVariables(POLICIES_MODULE))) expect(policies, `dag-policies input ${v} passed`).toHaveProperty(v)
  })

  it('terraform/ (the root config cluster up runs) has the module\'s variables byte for byte, passes each, and re-exports every output', async () => {
    expect(readFileSync(path.join(TERRAFORM_DIR, 'variables.tf'), 'utf8')).toBe(readFileSync(path.join(BUCKET_MODULE, 'variables.tf'), 'utf8'))
    const call = one(root.module.dag_bucket, 'module dag_bucket')
    for (const v of Object.keys(root.variable)) expect(call[v], `root passes ${v}`).toBe(`\${var.${v}}`)
    const outputs = Object.keys(bucket.output).sort()
    expect(Object.keys(root.output).sort()).toEqual(outputs)
    for (const dir of EXAMPLES) expect(Object.keys((await parseModule(dir)).output).sort(), dir).toEqual(outputs)
    for (const name of ['bucket', 'store', 'region', 'environment', 'airflow_role_arn', 'ci_policy_arn', 'ci_policy_json', 'airflow_policy_json', 'kms_key_arn']) expect(outputs).toContain(name)
  })
})

describe('terraform/README.md', () => {
  it('names every variable and every output of the module', () => {
    const readme = readFileSync(path.join(TERRAFORM_DIR, 'README.md'), 'utf8')
    for (const name of [...Object.keys(bucket.variable), ...Object.keys(bucket.output)]) expect(readme, name).toContain(`| \`${name}\` |`)
  })
})

function readVariables(dir: string): Record<string, true> {
  const out: Record<string, true> = {}
  for (const m of readFileSync(path.join(dir, 'variables.tf'), 'utf8').matchAll(/^variable\s+"([a-z_]+)"/gm)) out[m[1]] = true
  return out
}

describe('the recorded outputs and plan (test/fixtures/terraform/)', () => {
  const outputNames = (): string[] => Object.keys(bucket.output).sort()

  it('output -json of the prod example names exactly the module\'s outputs; dev\'s all but kms_key_arn (terraform leaves null outputs out)', () => {
    const prod = readJson(path.join(FIXTURES, 'prod-output.json'))
    const dev = readJson(path.join(FIXTURES, 'dev-output.json'))
    expect(Object.keys(prod).sort()).toEqual(outputNames())
    expect(Object.keys(dev).sort()).toEqual(outputNames().filter((n) => n !== 'kms_key_arn'))
    for (const doc of [prod, dev]) {
      for (const [name, o] of Object.entries(doc as Record<string, TerraformOutput>)) {
        expect(Object.keys(o).sort(), name).toEqual(['sensitive', 'type', 'value'])
        expect(o.sensitive).toBe(false)
        expect(o.type, name).toEqual(Array.isArray(o.value) ? ['list', 'string'] : 'string')
      }
    }
    expect(prod.store.value).toBe(`s3://${prod.bucket.value}`)
    expect(prod.sse.value).toBe('aws:kms')
    expect(dev.sse.value).toBe('AES256')
  })

  it('their IAM documents are the strings terraform renders from the examples\' own inputs', async () => {
    for (const env of ['dev', 'prod']) {
      const recorded = readJson(path.join(FIXTURES, `${env}-output.json`))
      const args = one((await parseModule(path.join(TERRAFORM_DIR, 'examples', env))).module.dags, 'module dags')
      const rendered = await renderPolicies({
        bucket: args.bucket,
        region: args.region,
        environment: args.environment,
        ci_packages: args.ci_packages,
        oidc_provider_arn: args.oidc_provider_arn,
        kubernetes_namespace: args.kubernetes_namespace,
        ...(args.airflow_service_accounts ? {airflow_service_accounts: args.airflow_service_accounts} : {airflow_service_accounts: recorded.airflow_service_accounts.value}),
        kms_key_arn: recorded.kms_key_arn?.value ?? null,
      })
      expect(recorded.ci_policy_json.value, env).toBe(rendered.ci_policy_json.value)
      expect(recorded.airflow_policy_json.value, env).toBe(rendered.airflow_policy_json.value)
      expect(recorded.store.value, env).toBe(rendered.store.value)
      expect(recorded.bucket.value).toBe(args.bucket)
      expect(recorded.environment.value).toBe(args.environment)
      expect(recorded.region.value).toBe(args.region)
    }
  })

  it('the plan: terraform show -json\'s shape, the root\'s variables, the module\'s outputs, resources the module declares', () => {
    const plan = readJson(path.join(FIXTURES, 'prod-plan.json'))
    expect(plan.format_version).toMatch(/^1\.\d+$/)
    expect(Object.keys(plan.variables).sort()).toEqual(Object.keys(root.variable).sort())
    expect(plan.variables).toMatchObject(Object.fromEntries(Object.entries(readJson(path.join(FIXTURES, 'prod.tfvars.json'))).map(([k, v]) => [k, {value: v}])))
    expect(Object.keys(plan.output_changes).sort()).toEqual(outputNames())
    expect(Object.keys(plan.planned_values.outputs).sort()).toEqual(outputNames())
    for (const [name, change] of Object.entries(plan.output_changes as Record<string, any>)) {
      expect(change.actions, name).toEqual(['create'])
      // a value known at plan time is in planned_values too; an unknown one is only marked
      if (change.after_unknown) expect(plan.planned_values.outputs[name], name).toEqual({sensitive: false})
      else expect(plan.planned_values.outputs[name].value, name).toEqual(change.after)
    }
    const declared = new Set(Object.entries(bucket.resource as Record<string, Record<string, unknown>>).flatMap(([type, byName]) => Object.keys(byName).map((n) => `${type}.${n}`)))
    const changes = plan.resource_changes as Array<{address: string; module_address: string; type: string; name: string; change: {actions: string[]}}>
    expect(changes.length).toBeGreaterThan(0)
    for (const c of changes) {
      expect(c.module_address).toBe('module.dag_bucket')
      expect(declared.has(`${c.type}.${c.name}`), c.address).toBe(true)
      expect(c.address.startsWith(`module.dag_bucket.${c.type}.${c.name}`)).toBe(true)
      expect(c.change.actions).toEqual(['create'])
    }
    // every resource the prod example creates is in the plan (the one data source is read, not created)
    expect(new Set(changes.map((c) => `${c.type}.${c.name}`))).toEqual(declared)
  })
})
