import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {DagctlError} from '../../src/errors.js'
import {helmFailed} from '../../src/cluster/executor.js'
import {irsaServiceAccounts, overlayValues, parseTerraformOutputs, s3Manifests} from '../../src/cluster/manifests.js'
import {preflight, TOOLS, type ToolRunner} from '../../src/cluster/tools.js'
import {REPO_ROOT} from '../helpers/cli.js'

/** Edges of the kind/prod profiles that need no cluster: Terraform's outputs, the overlay, the tools' versions, helm's errors. */
const fixture = (name: string) => readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', name), 'utf8')

function thrown(fn: () => unknown): DagctlError {
  try {
    fn()
  } catch (error) {
    return error as DagctlError
  }
  throw new Error('did not throw')
}

describe("Terraform's outputs → the overlay values", () => {
  it("reads the terraform module's recorded outputs (prod, and dev without kms_key_arn)", () => {
    const prod = parseTerraformOutputs(fixture('terraform/prod-output.json'), 'prod')
    expect(prod).toMatchObject({bucket: 'acme-airflow-dags-prod', store: 's3://acme-airflow-dags-prod', region: 'eu-west-1', environment: 'prod', kubernetes_namespace: 'airflow'})
    expect(prod.airflow_service_accounts).toEqual(expect.arrayContaining(irsaServiceAccounts('airflow')))
    const dev = parseTerraformOutputs(fixture('terraform/dev-output.json'), 'dev')
    expect(dev.kms_key_arn).toBeUndefined()
  })

  it('the overlay has the shape of the contract (charts/README.md, its example in test/fixtures/charts/): maps only', () => {
    const example = parse(fixture('charts/dagctl-overlay.yaml')) as Record<string, any>
    const ours = parse(overlayValues({store: 's3://company-dags-prod', env: 'prod', region: 'eu-west-1', roleArn: 'arn:aws:iam::123456789012:role/dagctl-prod-airflow'}))
    expect(ours).toEqual(example)
    const arrays = (v: unknown): boolean => Array.isArray(v) || (typeof v === 'object' && v !== null && Object.values(v).some(arrays))
    expect(arrays(ours)).toBe(false)
  })

  it('refuses a value that is not what it claims to be, so nothing odd reaches the chart templates (tpl)', () => {
    const outputs = JSON.parse(fixture('terraform/prod-output.json'))
    outputs.airflow_role_arn.value = 'arn:aws:iam::444455556666:role/x{{ .Values.fernetKey }}'
    const e = thrown(() => parseTerraformOutputs(JSON.stringify(outputs), 'terraform output -json'))
    expect(e.code).toBe('TERRAFORM_OUTPUTS')
    expect(e.exitCode).toBe(2)
    expect(e.location.key).toBe('airflow_role_arn')
    for (const [key, value] of [['bucket', 'Bad_Bucket'], ['region', 'eu-west-1"\nx: y'], ['store', 's3://another-bucket']] as const) {
      const o = JSON.parse(fixture('terraform/prod-output.json'))
      o[key].value = value
      expect(thrown(() => parseTerraformOutputs(JSON.stringify(o), 'x')).location.key, key).toBe(key)
    }
    const missing = JSON.parse(fixture('terraform/prod-output.json'))
    delete missing.bucket
    expect(thrown(() => parseTerraformOutputs(JSON.stringify(missing), 'x')).message).toContain("no output 'bucket'")
    expect(thrown(() => parseTerraformOutputs('Error: no state', 'x')).code).toBe('TERRAFORM_OUTPUTS')
  })

  it("kind's overlay adds the in-cluster endpoint and the loaded image; its S3 Secret is the one the dev values read", () => {
    const kind = parse(overlayValues({store: 's3://dagctl-dev', env: 'dev', region: 'us-east-1', endpoint: 'http://dagctl-s3.airflow.svc.cluster.local:5000', image: 'registry.example.com:5000/dagctl:0.1.0'}))
    expect(kind.dagctl).toEqual({image: {repository: 'registry.example.com:5000/dagctl', tag: '0.1.0'}})
    expect(parse(kind.extraConfigMaps['{{ .Release.Name }}-dagctl'].data)).toEqual({DAGCTL_STORE: 's3://dagctl-dev', DAGCTL_ENV: 'dev', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: 'http://dagctl-s3.airflow.svc.cluster.local:5000'})
    expect(kind.scheduler).toBeUndefined()
    const docs = s3Manifests('airflow', 'dagctl-dev', 'airflow').split(/^---$/m).map((d) => parse(d))
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Namespace/airflow', 'Secret/airflow-dagctl-s3', 'Deployment/dagctl-s3', 'Service/dagctl-s3', 'Job/dagctl-s3-bucket'])
    expect(readFileSync(path.join(REPO_ROOT, 'charts', 'airflow', 'values-dev.yaml'), 'utf8')).toContain("name: '{{ .Release.Name }}-dagctl-s3'")
  })
})

describe('preflight', () => {
  const answers: Record<string, string> = {
    'helm version --short': 'v3.22', // a helm built from its Go module reports no patch
    'kubectl version --client -o json': JSON.stringify({clientVersion: {gitVersion: 'v1.32.4-dispatcher'}, kustomizeVersion: 'v5.5.0'}),
    'kind version': 'kind v0.24.0 go1.22.6 linux/amd64',
    'terraform version -json': JSON.stringify({terraform_version: '1.4.6'}),
    'docker version --format {{.Client.Version}}': '28.2.2',
    'docker version --format {{.Server.Version}}': '28.2.2',
  }
  const run: ToolRunner = async (binary, args) => {
    const out = answers[`${binary} ${args.join(' ')}`]
    return out === undefined ? {exitCode: 127, stdout: '', stderr: 'not found', notFound: true} : {exitCode: 0, stdout: out, stderr: ''}
  }

  it('reads each version as the tool prints it, and compares with the one wanted', async () => {
    const checks = await preflight(['helm', 'kubectl', 'kind', 'terraform', 'docker'], {}, run)
    expect(checks.map((c) => [c.tool, c.found, c.ok, c.problem])).toEqual([
      ['helm', '3.22', true, undefined],
      ['kubectl', '1.32.4', true, undefined],
      ['kind', '0.24.0', true, undefined],
      ['terraform', '1.4.6', false, 'too old'],
      ['docker', '28.2.2', true, undefined],
    ])
    for (const c of checks) expect(c.install).toBe(TOOLS[c.tool].install)
  })

  it('DAGCTL_<TOOL> names another binary', async () => {
    const [c] = await preflight(['helm'], {DAGCTL_HELM: '/opt/helm'}, run)
    expect(c).toMatchObject({binary: '/opt/helm', ok: false, problem: 'missing'})
    expect(c!.detail).toContain('DAGCTL_HELM')
  })
})

describe("helm's and kubectl's errors", () => {
  it("an object the API server refuses is the values' fault (exit 2, the field path); anything else is the tool's (exit 4)", () => {
    const refused = helmFailed(['values-prod.yaml'])({exitCode: 1, stdout: '', stderr: 'Error from server (Invalid): error when creating "STDIN": Deployment.apps "airflow-scheduler" is invalid: spec.template.spec.containers[0].volumeMounts[3].name: Not found: "x"\n'}, ['kubectl', 'apply'])
    expect(refused).toMatchObject({code: 'CLUSTER_VALUES_REFUSED', exitCode: 2})
    expect(refused.message).toContain('volumeMounts[3].name: Not found: "x"')
    const other = helmFailed([])({exitCode: 1, stdout: '', stderr: 'Error: Kubernetes cluster unreachable: dial tcp 127.0.0.1:6443: connect: connection refused\n'}, ['helm', 'upgrade'])
    expect(other).toMatchObject({code: 'TOOL_FAILED', exitCode: 4})
    expect(other.message).toContain('connection refused')
  })
})
