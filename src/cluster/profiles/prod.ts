import {existsSync, mkdirSync} from 'node:fs'
import path from 'node:path'

import {UsageError} from '../../errors.js'
import {irsaServiceAccounts, overlayValues, parseTerraformOutputs, valuesFile} from '../manifests.js'
import {assertPreflight, preflight} from '../tools.js'
import {access, installDatahub, checkContext, helmInstall, newExecutor, requireFiles, writeFile, writeKubeState, type FileWritten, type KubeDeps, type KubeUpResult, type ReleaseRecord} from './kube.js'

export interface KubeUpOptions {
  root: string
  dir: string
  name: string
  env: string
  dryRun: boolean
  yes: boolean
  /** `--context`: must equal the environment's context (prod) */
  context?: string
  namespace?: string
  /** environments.<env>.kubernetes of dagctl.yaml */
  kubernetes?: {context: string; namespace?: string}
  /** environments.<env>.store when dagctl.yaml sets it */
  configuredStore?: string
  withDatahub: boolean
  bundle: boolean
  /** prod: the CeleryExecutor (values-prod-celery.yaml) instead of the KubernetesExecutor */
  celery?: boolean
  /** the user's own values files, after dagctl's and before the overlay */
  values: string[]
  set: string[]
  wait: boolean
  timeoutSeconds: number
  terraformDir?: string
  image?: string
}

/**
 * Profile prod: `terraform init/plan/apply` of the Terraform folder (the plan shown and confirmed, or
 * --yes), then `helm upgrade --install` of the shipped Airflow chart with the prod values and one
 * overlay written from `terraform output -json`, into the kube context dagctl.yaml names for the
 * environment. Any other context is refused before anything runs.
 */
export async function prodUp(o: KubeUpOptions, deps: KubeDeps): Promise<KubeUpResult> {
  const ex = newExecutor(deps, o.dryRun)
  const context = o.kubernetes?.context
  if (!context) {
    throw new UsageError(`environments.${o.env}.kubernetes.context is not set in dagctl.yaml: profile prod installs only into the context named there`, {
      code: 'KUBE_CONTEXT_UNSET', key: `environments.${o.env}.kubernetes.context`,
      hint: `Add \`kubernetes: {context: NAME, namespace: airflow}\` under environments.${o.env} (docs/configuration.md); \`kubectl config get-contexts\` lists the names.`,
    })
  }
  const namespace = o.namespace ?? o.kubernetes?.namespace ?? 'airflow'
  const checks = await preflight(['terraform', 'helm', 'kubectl'], deps.env, deps.run)
  if (!o.dryRun) assertPreflight('prod', checks)
  await checkContext(ex, o.env, context, o.context)

  const tfDir = path.resolve(o.root, o.terraformDir ?? 'terraform')
  if (!existsSync(tfDir)) throw new UsageError(`the Terraform folder ${tfDir} does not exist`, {code: 'TERRAFORM_DIR_MISSING', hint: 'Pass --terraform-dir DIR (the root module that uses dagctl\'s terraform/ module; docs/profiles.md).'})
  const values = [
    valuesFile(deps.env, 'airflow', 'prod'),
    ...(o.celery ? [valuesFile(deps.env, 'airflow', 'prod-celery')] : []),
    ...(o.bundle ? [valuesFile(deps.env, 'airflow', 'bundle')] : []),
    ...o.values.map((v) => path.resolve(o.root, v)),
  ]
  requireFiles(values, 'values file')
  const overlay = path.join(o.dir, 'values-terraform.yaml')
  const planFile = path.join(o.dir, 'terraform.tfplan')
  const tf = (args: string[]) => ['-chdir=' + tfDir, ...args]
  const varFile = existsSync(path.join(tfDir, `${o.env}.tfvars`)) ? [`-var-file=${o.env}.tfvars`] : []
  const files: FileWritten[] = []
  const base = {profile: 'prod' as const, name: o.name, dir: o.dir, env: o.env, dryRun: o.dryRun, context, namespace, preflight: checks, commands: ex.commands, files}

  if (!o.dryRun) mkdirSync(o.dir, {recursive: true})
  await ex.change('terraform', tf(['init', '-input=false']), 'terraform: init')
  const plan = await ex.change('terraform', tf(['plan', '-input=false', '-detailed-exitcode', `-out=${planFile}`, ...varFile]), 'terraform: plan', {ok: [0, 2]})
  const changes = plan.exitCode === 2
  let cancelled = false
  if (!o.dryRun && changes) {
    deps.note(plan.stdout.trim())
    if (!o.yes && !(await deps.confirm(`Apply this Terraform plan for ${o.env}?`))) cancelled = true
  }
  if (cancelled) return {...base, cancelled: true, store: o.configuredStore ?? '', releases: [], access: access(context, namespace), terraform: {dir: tfDir, plan: plan.stdout, changes}}
  if (changes || o.dryRun) await ex.change('terraform', tf(['apply', '-input=false', planFile]), 'terraform: apply', {when: o.dryRun ? 'when the plan has changes, after it is shown and confirmed, or with --yes' : undefined})
  const output = await ex.change('terraform', tf(['output', '-json']), 'terraform: outputs')

  let store = o.configuredStore ?? '(from terraform output store)'
  if (o.dryRun) {
    files.push({path: overlay, what: 'the overlay values, written from `terraform output -json` (the last -f)'})
  } else {
    const out = parseTerraformOutputs(output.stdout, `terraform output -json (${tfDir})`)
    if (out.environment !== o.env) throw new UsageError(`Terraform in ${tfDir} is for environment '${out.environment}', not '${o.env}'`, {code: 'TERRAFORM_OUTPUTS', key: 'environment', hint: 'Pass the --terraform-dir of this environment.'})
    if (o.configuredStore && o.configuredStore !== out.store) {
      throw new UsageError(`environments.${o.env}.store in dagctl.yaml is ${o.configuredStore}, but Terraform made ${out.store}: publish and Airflow would use different buckets`, {
        code: 'CLUSTER_STORE_MISMATCH', key: `environments.${o.env}.store`, hint: `Set environments.${o.env}.store to ${out.store} (or remove it and set DAGCTL_STORE from the Terraform output); nothing was installed.`,
      })
    }
    // IRSA works only if the role trusts the namespace and the service accounts the chart makes
    if (out.kubernetes_namespace && out.kubernetes_namespace !== namespace) {
      throw new UsageError(`Terraform's Airflow role trusts service accounts in namespace '${out.kubernetes_namespace}', but the release goes into '${namespace}': its pods would get no AWS credentials`, {
        code: 'TERRAFORM_OUTPUTS', key: 'kubernetes_namespace', hint: `Install into ${out.kubernetes_namespace} (environments.${o.env}.kubernetes.namespace or --namespace), or set the module's namespace to ${namespace}; nothing was installed.`,
      })
    }
    const untrusted = out.airflow_service_accounts ? irsaServiceAccounts('airflow').filter((sa) => !out.airflow_service_accounts!.includes(sa)) : []
    if (untrusted.length > 0) {
      throw new UsageError(`Terraform's Airflow role does not trust the service account(s) ${untrusted.join(', ')} the chart makes (it trusts ${out.airflow_service_accounts!.join(', ')})`, {
        code: 'TERRAFORM_OUTPUTS', key: 'airflow_service_accounts', hint: 'Add them to the module\'s airflow_service_accounts; nothing was installed.',
      })
    }
    store = out.store
    writeFile(ex, files, overlay, overlayValues({store: out.store, env: o.env, region: out.region, roleArn: out.airflow_role_arn}), 'the overlay values from `terraform output -json` (the last -f)')
  }
  const releases: ReleaseRecord[] = []
  const common = {namespace, context, set: o.set, wait: o.wait, timeoutSeconds: o.timeoutSeconds}
  releases.push(await helmInstall(ex, {...common, release: 'airflow', chart: 'airflow', values: [...values, overlay]}))
  if (o.withDatahub) releases.push(await installDatahub(ex, files, {dir: o.dir, context, variant: 'prod', wait: o.wait, timeoutSeconds: o.timeoutSeconds}))
  if (!o.dryRun) writeKubeState(o.dir, {name: o.name, profile: 'prod', env: o.env, context, namespace, store, releases, terraformDir: tfDir})
  const acc = {...access(context, namespace), credentials: 'the admin user and password are in the Secret the prod values name (never inline in the values)'}
  return {...base, store, releases, access: acc, terraform: {dir: tfDir, plan: o.dryRun ? undefined : plan.stdout, changes: o.dryRun ? undefined : changes}}
}
