import {parse} from '@cdktf/hcl2json'
import {execa} from 'execa'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {budget} from './budget.js'
import {REPO_ROOT} from './cli.js'
import {tempDir} from './tmp.js'

export const TERRAFORM_DIR = path.join(REPO_ROOT, 'terraform')
export const POLICIES_MODULE = path.join(TERRAFORM_DIR, 'modules', 'dag-policies')
export const BUCKET_MODULE = path.join(TERRAFORM_DIR, 'modules', 'dag-bucket')

/** The terraform CLI: $TERRAFORM, else `terraform` on PATH (these machines have /usr/local/bin/terraform). */
export const TERRAFORM = process.env.TERRAFORM ?? 'terraform'

/** No update check, no ~/.terraformrc, no prompts: terraform as CI runs it. */
export const TERRAFORM_ENV = {CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0', TF_CLI_CONFIG_FILE: '/dev/null'}

export interface TerraformResult {
  exitCode: number
  stdout: string
  stderr: string
}

export async function terraform(args: string[], cwd: string, env: Record<string, string> = {}): Promise<TerraformResult> {
  const r = await execa(TERRAFORM, args, {cwd, env: {...TERRAFORM_ENV, ...env}, reject: false, timeout: budget(120_000), stdin: 'ignore'})
  if ((r as {code?: string}).code === 'ENOENT') throw new Error(`${TERRAFORM} not found: the terraform tests need the terraform CLI (>= 1.5) on PATH, or TERRAFORM=/path/to/terraform`)
  return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
}

async function ok(args: string[], cwd: string): Promise<string> {
  const r = await terraform([...args, '-no-color'], cwd)
  if (r.exitCode !== 0) throw new Error(`terraform ${args.join(' ')} failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** One output of `terraform output -json`: terraform's own shape. */
export interface TerraformOutput {
  sensitive: boolean
  type: unknown
  value: unknown
}

export interface PolicyInputs {
  bucket: string
  region: string
  environment: string
  ci_packages: string[]
  oidc_provider_arn: string
  airflow_service_accounts: string[]
  partition?: string
  store_prefix?: string
  kms_key_arn?: string | null
  airflow_read_live_tree?: boolean
  kubernetes_namespace?: string
}

/**
 * Renders modules/dag-policies with the real terraform binary (the module has no provider, so
 * `init` and `apply` run offline): a root configuration that calls it with `inputs` and
 * re-exports every output. Returns `terraform output -json`, whose strings are the very documents
 * the dag-bucket module hands to the AWS provider.
 */
export async function renderPolicies(inputs: PolicyInputs): Promise<Record<string, TerraformOutput>> {
  const dir = tempDir()
  const outputs = Object.keys((await parseModule(POLICIES_MODULE)).output).sort()
  const config = {
    module: {p: {source: POLICIES_MODULE, ...inputs}},
    output: Object.fromEntries(outputs.map((o) => [o, {value: `\${module.p.${o}}`}])),
  }
  writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config, null, 2))
  await ok(['init', '-input=false'], dir)
  await ok(['apply', '-auto-approve', '-input=false'], dir)
  return JSON.parse(await ok(['output', '-json'], dir))
}

/** A terraform configuration folder parsed by @cdktf/hcl2json (HashiCorp's HCL parser, compiled to WebAssembly), all *.tf merged. */
export async function parseModule(dir: string): Promise<Record<string, any>> {
  const merged: Record<string, any> = {}
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.tf')).sort()) {
    const file = path.join(dir, name)
    const json = (await parse(file, readFileSync(file, 'utf8'))) as Record<string, Record<string, unknown>>
    for (const [kind, blocks] of Object.entries(json)) {
      if (Array.isArray(blocks)) merged[kind] = [...(merged[kind] ?? []), ...blocks]
      else merged[kind] = {...merged[kind], ...blocks}
    }
  }
  return merged
}
