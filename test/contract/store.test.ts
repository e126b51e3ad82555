import {afterAll, describe, expect, it} from 'vitest'

import {GetObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {openStore, PreconditionFailed} from '../../src/store/index.js'
import {freshStore, sharedMoto, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'

afterAll(stopSharedMoto)

describe.each(STORE_VARIANTS)('Store contract: $name', (variant) => {
  it('puts, gets, lists recursively and by folder, deletes', async () => {
    const {store} = await freshStore(variant)
    await store.put('dev/a/dags/x.py', 'x')
    await store.put('dev/a/dags/sub/y.py', Buffer.from('y'))
    await store.put('_dagctl/dev/a/HEAD.json', '{}')
    await store.put('_dagctl/dev/b/HEAD.json', '{}')
    expect((await store.get('dev/a/dags/x.py'))?.body.toString()).toBe('x')
    expect(await store.get('dev/a/dags/nope.py')).toBeUndefined()
    expect(await store.list('dev/a/dags/')).toEqual(['dev/a/dags/sub/y.py', 'dev/a/dags/x.py'])
    expect(await store.list('dev/a/dag')).toEqual([])
    expect(await store.listFolders('_dagctl/dev/')).toEqual(['a', 'b'])
    await store.delete('dev/a/dags/x.py')
    await store.delete('dev/a/dags/never-there.py')
    expect(await store.list('dev/a/')).toEqual(['dev/a/dags/sub/y.py'])
  })

  it('a conditional read answers not-modified for the current etag, the new object after a change, undefined when gone', async () => {
    const {store} = await freshStore(variant)
    const {etag} = await store.put('k/head', 'v1')
    const first = await store.getIfNoneMatch('k/head', undefined)
    expect(first && 'body' in first && first.body.toString()).toBe('v1')
    const etag1 = first && 'body' in first ? first.etag : ''
    expect(etag1).toBe(etag)
    expect(await store.getIfNoneMatch('k/head', etag1)).toEqual({notModified: true, etag: etag1})
    await store.put('k/head', 'v2')
    const second = await store.getIfNoneMatch('k/head', etag1)
    expect(second && 'body' in second && second.body.toString()).toBe('v2')
    await store.delete('k/head')
    expect(await store.getIfNoneMatch('k/head', etag1)).toBeUndefined()
  })

  it('copies inside the store, and says false for a missing source', async () => {
    const {store} = await freshStore(variant)
    await store.put('_dagctl/dev/a/blobs/abc', 'content')
    expect(await store.copy('_dagctl/dev/a/blobs/abc', 'dev/a/dags/sub/x.py')).toBe(true)
    expect((await store.get('dev/a/dags/sub/x.py'))?.body.toString()).toBe('content')
    expect(await store.copy('_dagctl/dev/a/blobs/missing', 'dev/a/dags/y.py')).toBe(false)
    expect(await store.get('dev/a/dags/y.py')).toBeUndefined()
  })

  it('create-only fails on an existing key and leaves it untouched', async () => {
    const {store} = await freshStore(variant)
    await store.put('k/one', 'first', {ifNoneMatch: '*'})
    await expect(store.put('k/one', 'second', {ifNoneMatch: '*'})).rejects.toBeInstanceOf(PreconditionFailed)
    expect((await store.get('k/one'))?.body.toString()).toBe('first')
  })

  it('compare-and-swap replaces only the version read, and fails on a missing key', async () => {
    const {store} = await freshStore(variant)
    const {etag} = await store.put('k/head', 'v1', {ifNoneMatch: '*'})
    expect((await store.get('k/head'))?.etag).toBe(etag)
    const v2 = await store.put('k/head', 'v2', {ifMatch: etag})
    await expect(store.put('k/head', 'v3', {ifMatch: etag})).rejects.toBeInstanceOf(PreconditionFailed)
    expect((await store.get('k/head'))?.body.toString()).toBe('v2')
    await store.put('k/head', 'v4', {ifMatch: v2.etag})
    await expect(store.put('k/missing', 'v', {ifMatch: etag})).rejects.toBeInstanceOf(PreconditionFailed)
  })

  it('of many concurrent swaps from one version, exactly one wins', async () => {
    const {store} = await freshStore(variant)
    const {etag} = await store.put('k/head', 'v0')
    const results = await Promise.allSettled(Array.from({length: 8}, (_, i) => store.put('k/head', `w${i}`, {ifMatch: etag})))
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof PreconditionFailed)).toBe(true)
    const i = results.findIndex((r) => r.status === 'fulfilled')
    expect((await store.get('k/head'))?.body.toString()).toBe(`w${i}`)
  })
})

describe('S3 options', () => {
  it('sends server-side encryption (AES256, aws:kms with a key id) as configured', async () => {
    const {url, endpoint, root} = await freshStore(STORE_VARIANTS[2])
    const sdk = new S3Client({endpoint, forcePathStyle: true, region: 'us-east-1'})
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(url)!
    const aes = await openStore({url, root, endpoint, s3: {sse: 'AES256'}})
    await aes.put('enc/aes', 'x')
    expect((await sdk.send(new GetObjectCommand({Bucket: bucket, Key: `${prefix}/enc/aes`}))).ServerSideEncryption).toBe('AES256')
    const kms = await openStore({url, root, endpoint, s3: {sse: 'aws:kms', kms_key_id: 'alias/dags'}})
    await kms.put('enc/kms', 'x')
    const out = await sdk.send(new GetObjectCommand({Bucket: bucket, Key: `${prefix}/enc/kms`}))
    expect(out.ServerSideEncryption).toBe('aws:kms')
    expect(out.SSEKMSKeyId).toMatch(/alias\/dags|dags/)
    expect((await sharedMoto()).endpoint).toBe(endpoint)
  })
})
