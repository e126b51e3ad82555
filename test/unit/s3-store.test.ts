import {S3Client, S3ServiceException} from '@aws-sdk/client-s3'
import {describe, expect, it} from 'vitest'

import {RemoteError, UsageError} from '../../src/errors.js'
import {maxAttemptsFromEnv, S3Store} from '../../src/store/s3.js'
import {PreconditionFailed} from '../../src/store/types.js'

/** One edge only: how S3 answers map to the Store contract. The real protocol is in test/contract/store.test.ts. */
function failing(statuses: number[], name = 'Err'): {client: S3Client; calls: () => number} {
  let calls = 0
  const client = {
    send: async () => {
      const status = statuses[Math.min(calls++, statuses.length - 1)]
      if (status === 200) return {ETag: '"e"'}
      throw new S3ServiceException({name, $fault: status >= 500 ? 'server' : 'client', $metadata: {httpStatusCode: status}, message: `HTTP ${status}`})
    },
  } as unknown as S3Client
  return {client, calls: () => calls}
}

describe('S3Store answers', () => {
  it('412 on a conditional put is a lost condition; 404 on If-Match too', async () => {
    const a = failing([412])
    await expect(new S3Store({bucket: 'b', prefix: 'p', client: a.client}).put('k', 'x', {ifNoneMatch: '*'})).rejects.toBeInstanceOf(PreconditionFailed)
    const b = failing([404])
    await expect(new S3Store({bucket: 'b', prefix: 'p', client: b.client}).put('k', 'x', {ifMatch: '"e"'})).rejects.toBeInstanceOf(PreconditionFailed)
  })

  it('409 (a concurrent conditional write on real S3) is retried, not reported as a lost race', async () => {
    const c = failing([409, 409, 200])
    await expect(new S3Store({bucket: 'b', prefix: '', client: c.client}).put('k', 'x', {ifMatch: '"e"'})).resolves.toEqual({etag: '"e"'})
    expect(c.calls()).toBe(3)
  })

  it('a failure the SDK gave up on is a RemoteError (exit 4) with a hint, and 403 hints at credentials', async () => {
    const err = await new S3Store({bucket: 'b', prefix: '', client: failing([503], 'SlowDown').client}).put('k', 'x').catch((error: unknown) => error)
    expect(err).toBeInstanceOf(RemoteError)
    expect((err as RemoteError).exitCode).toBe(4)
    expect((err as RemoteError).message).toMatch(/HTTP 503/)
    const denied = await new S3Store({bucket: 'b', prefix: '', client: failing([403], 'AccessDenied').client}).get('k').catch((error: unknown) => error)
    expect((denied as RemoteError).hint).toMatch(/credentials/)
  })
})

describe('AWS_MAX_ATTEMPTS', () => {
  it('unset or empty: dagctl\'s default; a whole number of 1 or more: that; anything else: exit 2 naming the variable', () => {
    expect(maxAttemptsFromEnv(undefined)).toBeUndefined()
    expect(maxAttemptsFromEnv('')).toBeUndefined()
    expect(maxAttemptsFromEnv('1')).toBe(1)
    expect(maxAttemptsFromEnv(' 10 ')).toBe(10)
    for (const bad of ['0', '-1', '2.5', 'three']) {
      const err = (() => {
        try {
          return maxAttemptsFromEnv(bad)
        } catch (error) {
          return error
        }
      })()
      expect(err, bad).toBeInstanceOf(UsageError)
      expect((err as UsageError).exitCode).toBe(2)
      expect((err as UsageError).message).toContain('AWS_MAX_ATTEMPTS')
    }
  })
})
