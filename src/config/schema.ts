import {z} from 'zod'

import {CONFIGURABLE_RULES} from '../check/rule-names.js'

/**
 * dagctl.yaml. Objects are strict so that a typo (`retires:`) is an error that names the key,
 * not a setting silently ignored. Later features add their sections here.
 */

/** `30s`, `5m`, `6h`, `1d`, or a number of seconds. */
export const Duration = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?(s|m|h|d)$/, 'expected a duration such as 30s, 5m, 6h or 1d'),
])

/** Package names prefix every DAG id (`<package>_<name>`), so they obey Airflow's id rules. */
export const PackageName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'expected lower case letters, digits and _, starting with a letter (it prefixes every DAG id)')

export const ResourceQuantities = z.strictObject({
  cpu: z.union([z.string(), z.number()]).optional(),
  memory: z.string().optional(),
  'ephemeral-storage': z.string().optional(),
})

export const Resources = z.strictObject({
  requests: ResourceQuantities.optional(),
  limits: ResourceQuantities.optional(),
})

/** Platform defaults: platform (extends) < package (this file) < spec. */
export const Policy = z.strictObject({
  owner: z.string().min(1).optional(),
  retries: z.number().int().min(0).max(100).optional(),
  retry_delay: Duration.optional(),
  tags: z.array(z.string().min(1)).optional(),
  /** image registries a kubernetes_pod task may pull from, e.g. `registry.example.com/` */
  allowed_registries: z.array(z.string().min(1)).optional(),
  resources: Resources.optional(),
  namespace: z.string().min(1).optional(),
  service_account: z.string().min(1).optional(),
})

export const AirflowConnection = z.strictObject({
  url: z.url().optional(),
  username: z.string().optional(),
  /** prefer DAGCTL_AIRFLOW_PASSWORD; never printed */
  password: z.string().optional(),
  /** a bearer token; prefer DAGCTL_AIRFLOW_TOKEN; never printed */
  token: z.string().optional(),
  /** PEM bundle of CAs to trust for the Airflow URL */
  ca_file: z.string().optional(),
  timeout: Duration.optional(),
  /** pin the REST API instead of detecting it */
  api: z.enum(['v1', 'v2']).optional(),
})

export const S3Options = z.strictObject({
  region: z.string().optional(),
  endpoint: z.url().optional(),
  sse: z.enum(['AES256', 'aws:kms']).optional(),
  kms_key_id: z.string().optional(),
})

export const EnvironmentName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a short lower-case name such as dev, staging or prod')

/** Where `dagctl cluster up --profile prod` installs the environment's Airflow: the only kube context it will use. */
export const KubernetesTarget = z.strictObject({
  /** the kubeconfig context (e.g. `arn:aws:eks:eu-west-1:123456789012:cluster/airflow-prod`); any other is refused */
  context: z.string().min(1),
  /** the namespace of the Helm releases (default `airflow`) */
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a Kubernetes namespace name (lower case, digits, -)').optional(),
})

export const Environment = z.strictObject({
  /** `s3://bucket[/prefix]` or `file://dir`; default `file://.dagctl/store` */
  store: z.string().regex(/^(s3|file):\/\/.+/, 'expected s3://bucket[/prefix] or file://dir').optional(),
  s3: S3Options.optional(),
  airflow: AirflowConnection.optional(),
  kubernetes: KubernetesTarget.optional(),
})

export const AirflowSettings = z.strictObject({
  /** the Airflow major version generated code and the airflow3 rules target */
  version: z.union([z.literal(2), z.literal(3)]).default(3),
})

export const PublishSettings = z.strictObject({
  /** extensions published besides .py (e.g. .sql, .yaml) */
  extensions: z.array(z.string().regex(/^\.[A-Za-z0-9._-]+$/, 'expected an extension such as .sql')).default([]),
})

// ---- validate: rules and the Python that judges the files (docs/rules.md#configuring-rules) ----

/** What `validate.rules.<rule>` may say: `off`, or the severity the rule's findings get. */
export const RuleSetting = z.enum(['off', 'error', 'warning', 'info'])

/** Every rule a finding can carry (both engines), each optional: a typo is an unknown key, with its line. */
export const ValidateRules = z.strictObject(Object.fromEntries(CONFIGURABLE_RULES.map((name) => [name, RuleSetting.optional()])) as Record<(typeof CONFIGURABLE_RULES)[number], z.ZodOptional<typeof RuleSetting>>)

/** `3.12`: the Python version that will run the DAGs; quoted, since YAML reads 3.10 as 3.1. */
export const PythonTarget = z.string({error: 'expected a quoted Python version such as "3.12" (YAML reads 3.10 as the number 3.1)'}).regex(/^3\.\d{1,2}$/, 'expected a Python version such as "3.12" (quote it: YAML reads 3.10 as the number 3.1)')

export const ValidateSettings = z.strictObject({
  engine: z.enum(['auto', 'ast', 'airflow']).default('auto'),
  /** seconds one DAG file may take to import under the airflow engine */
  file_timeout: z.number().positive().optional(),
  /** per rule: off, or another severity; a platform's extends: file sets the default, the package overrides */
  rules: ValidateRules.optional(),
  /** the Python version production runs the DAGs with: validate parses the files with that version */
  python: PythonTarget.optional(),
})

// ---- end of validate settings ----

/**
 * How generated DAGs are laid out in files (docs/specs.md#file-layout): `dag` one file per DAG,
 * `package` one file for the package, `batch:N` one file per N DAGs, `loader:N` per N DAGs a small
 * loader file Airflow parses and a module of their code it does not. Airflow's DAG processor pays
 * about 0.1 s per file, so fewer files parse faster; a file that fails to import loses all its DAGs.
 */
export const GenerateLayout = z
  .string()
  .regex(/^(dag|package|(batch|loader):[1-9]\d{0,4})$/, 'expected dag, package, batch:N or loader:N (N DAGs per file, 1 to 99999)')

export const DEFAULT_GENERATE_LAYOUT = 'dag'

export const GenerateSettings = z.strictObject({
  layout: GenerateLayout.default(DEFAULT_GENERATE_LAYOUT),
})

export const TriggerSettings = z.strictObject({
  /** glob patterns of DAG ids `trigger` may start; default `<package>_*` */
  allow: z.array(z.string().min(1)).optional(),
  /** dead-letter file (JSON lines) for triggers that finally fail */
  dlq: z.string().optional(),
  /** DataHub event → DAG mapping file */
  mapping: z.string().optional(),
  retries: z.number().int().min(0).max(20).optional(),
})

// ---- discover: jobs as Python modules, and schedules files (docs/discover.md, docs/schedules.md).
// Kept in one block of its own.

export const JOB_TEMPLATES = ['kubernetes_pod', 'python'] as const

/** Per-package settings of discovered jobs: the package layer of platform < package < job. */
export const DiscoverPackage = z.strictObject({
  /** the package's container image for kubernetes_pod jobs */
  image: z.string().min(1).optional(),
  template: z.enum(JOB_TEMPLATES).optional(),
  tenant: z.string().min(1).optional(),
  policy: Policy.optional(),
})

export const DEFAULT_DISCOVER_EXCLUDE = ['**/test_*.py', '**/*_test.py', '**/tests/**', '**/conftest.py', '**/__init__.py', '**/vendor/**', '**/_vendor/**']

export const DiscoverSettings = z.strictObject({
  /** the folder searched, relative to dagctl.yaml */
  root: z.string().min(1).default('.'),
  /** glob of job files, relative to root; its first `*` segment is the package */
  pattern: z.string().min(1).default('packages/*/jobs/**/*.py'),
  /** globs (relative to root) never read as jobs, besides what .airflowignore files exclude */
  exclude: z.array(z.string().min(1)).default(DEFAULT_DISCOVER_EXCLUDE),
  /** which task a discovered job becomes */
  template: z.enum(JOB_TEMPLATES).default('kubernetes_pod'),
  /** default image of every package; `{package}` is replaced by the package name */
  image: z.string().min(1).optional(),
  packages: z.record(z.string(), DiscoverPackage).default({}),
  /** schedules files (docs/schedules.md) or runner configs, relative to dagctl.yaml */
  schedules: z.array(z.string().min(1)).default([]),
  /** slots of each tenant's pool (1: a tenant's jobs never overlap) */
  tenant_pool_slots: z.number().int().min(1).default(1),
})

export type DiscoverConfig = z.infer<typeof DiscoverSettings>

const configShape = {
  /** a platform team's shared defaults: a path relative to this file */
  extends: z.string().min(1).optional(),
  package: PackageName,
  dags: z.string().min(1).default('dags/'),
  specs: z.string().min(1).default('specs/'),
  generated: z.string().min(1).default('dags/generated/'),
  /** how generated DAGs are grouped into files */
  generate: GenerateSettings.default({layout: DEFAULT_GENERATE_LAYOUT}),
  /** the package's default container image for kubernetes_pod tasks */
  image: z.string().min(1).optional(),
  /** a folder of a platform's own task type templates (`<type>.py.njk`) */
  task_templates: z.string().min(1).optional(),
  /** the python interpreter validate uses (e.g. a company's Airflow image's python) */
  python: z.string().min(1).optional(),
  airflow: AirflowSettings.default({version: 3}),
  environments: z.record(EnvironmentName, Environment).default({}),
  policy: Policy.default({}),
  publish: PublishSettings.default({extensions: []}),
  validate: ValidateSettings.default({engine: 'auto'}),
  trigger: TriggerSettings.default({}),
  /** jobs found in Python modules and schedules files (absent: generate reads specs only) */
  discover: DiscoverSettings.optional(),
}

export const DagctlConfigSchema = z.strictObject(configShape)

/** What an `extends:` file may hold: the same keys, none required. */
export const PlatformConfigSchema = z.strictObject({
  ...configShape,
  package: PackageName.optional(),
})

export type DagctlConfig = z.infer<typeof DagctlConfigSchema>
export type PolicyConfig = z.infer<typeof Policy>
export type EnvironmentConfig = z.infer<typeof Environment>
export type AirflowConnectionConfig = z.infer<typeof AirflowConnection>

// the duration helpers live in config/duration.ts (no zod): re-exported for the modules that import them from here
export {durationFlagMs, durationSeconds, parseDurationText} from './duration.js'
