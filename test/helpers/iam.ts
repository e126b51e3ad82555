import {runSimulation, type Simulation} from '@cloud-copilot/iam-simulate'

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied'

export interface Decided {
  decision: Decision
  /** context keys the evaluator does not know for the action (it drops them: a test should refuse any) */
  ignoredContextKeys: string[]
}

/**
 * One request against one identity policy (and the resource's policy, when given: a bucket's, a
 * key's), as IAM decides it, by @cloud-copilot/iam-simulate (every condition operator, explicit
 * and implicit deny). `aws:SecureTransport` is true unless the context says otherwise.
 */
export async function simulate(account: string, policyJson: string, action: string, resource: string, context: Record<string, string> = {}, resourcePolicyJson?: string): Promise<Decided> {
  const simulation: Simulation = {
    identityPolicies: [{name: 'under-test', policy: JSON.parse(policyJson)}],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicyJson ? JSON.parse(resourcePolicyJson) : undefined,
    request: {
      action,
      principal: `arn:aws:iam::${account}:role/under-test`,
      resource: {accountId: account, resource},
      contextVariables: {'aws:SecureTransport': 'true', ...context},
    },
  }
  const r = await runSimulation(simulation, {})
  if (r.resultType === 'error') throw new Error(`simulation refused the request ${action} ${resource}: ${JSON.stringify(r.errors)}`)
  if (r.resultType !== 'single') throw new Error(`unexpected ${r.resultType} result`)
  return {decision: r.overallResult as Decision, ignoredContextKeys: r.result.ignoredContextKeys ?? []}
}

/** A request an S3 client sent (path-style), as the proxy saw it. */
export interface SeenRequest {
  method: string
  /** the raw request target: /bucket/key?query */
  url: string
  headers: Record<string, string | string[] | undefined>
}

/** What IAM authorizes for one S3 request: the actions, each with its resource and condition keys. */
export interface Authorization {
  action: string
  resource: string
  context: Record<string, string>
}

/**
 * The IAM actions one path-style S3 request needs (the S3 user guide's "actions for S3 API
 * operations"): GetObject/HeadObject → s3:GetObject; PutObject → s3:PutObject with
 * s3:if-none-match / s3:if-match from its conditional headers; CopyObject → s3:PutObject on the
 * target and s3:GetObject on the source; DeleteObject → s3:DeleteObject; ListObjectsV2 →
 * s3:ListBucket with s3:prefix. Anything else throws: the test must learn about it.
 */
export function authorizationsOf(req: SeenRequest): Authorization[] {
  const u = new URL(req.url, 'http://s3.invalid')
  const [, bucket, ...rest] = u.pathname.split('/')
  const key = rest.map(decodeURIComponent).join('/')
  const header = (name: string): string | undefined => {
    const v = req.headers[name]
    return Array.isArray(v) ? v[0] : v
  }
  const obj = (k: string): string => `arn:aws:s3:::${bucket}/${k}`
  if (key === '') {
    if (req.method === 'GET' && u.searchParams.get('list-type') === '2') {
      const prefix = u.searchParams.get('prefix')
      return [{action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: prefix === null ? {} : {'s3:prefix': prefix}}]
    }
    throw new Error(`an S3 request the test does not map to IAM: ${req.method} ${req.url}`)
  }
  // the SDK names the operation in ?x-id=...; any other sub-resource (acl, tagging, versionId...) is another action
  if ([...u.searchParams.keys()].some((k) => k !== 'x-id')) throw new Error(`an S3 request the test does not map to IAM: ${req.method} ${req.url}`)
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return [{action: 's3:GetObject', resource: obj(key), context: {}}]
    case 'DELETE':
      return [{action: 's3:DeleteObject', resource: obj(key), context: {}}]
    case 'PUT': {
      const source = header('x-amz-copy-source')
      const context: Record<string, string> = {}
      const ifNoneMatch = header('if-none-match')
      const ifMatch = header('if-match')
      if (ifNoneMatch !== undefined) context['s3:if-none-match'] = ifNoneMatch
      if (ifMatch !== undefined) context['s3:if-match'] = ifMatch
      const put: Authorization = {action: 's3:PutObject', resource: obj(key), context}
      if (source === undefined) return [put]
      const src = decodeURIComponent(source.replace(/^\//, '').split('?')[0])
      return [put, {action: 's3:GetObject', resource: `arn:aws:s3:::${src}`, context: {}}]
    }
    default:
      throw new Error(`an S3 request the test does not map to IAM: ${req.method} ${req.url}`)
  }
}
