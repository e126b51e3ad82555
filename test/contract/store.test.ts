import {afterAll, describe, expect, it} from 'vitest'

import {GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException} from '@aws-sdk/client-s3'
import {createHash} from 'node:crypto'

import {openStore, PreconditionFailed, sameEtag} from '../../src/store/index.js'
import {freshStore, MINIO_VARIANT, sharedMoto, STORE_VARIANTS, stopSharedMoto} from '../helpers/stores.js'

afterAll(stopSharedMoto)

describe.each([...STORE_VARIANTS, MINIO_VARIANT])('Store contract: $name', (variant) => {
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

  it('lists objects with their size and an etag that etagFor predicts from the bytes, a copy included', async () => {
    const {store} = await freshStore(variant)
    const body = Buffer.from('print("hello")\n')
    const {etag} = await store.put('_dagctl/dev/a/blobs/h', body, {ifNoneMatch: '*'})
    await store.copy('_dagctl/dev/a/blobs/h', 'dev/a/dags/x.py')
    await store.put('dev/a/dags/y.py', 'other')
    const listed = await store.listObjects('dev/a/dags/')
    expect(listed.map((o) => [o.key, o.size])).toEqual([['dev/a/dags/x.py', body.length], ['dev/a/dags/y.py', 5]])
    expect(sameEtag(listed[0].etag, store.etagFor(body))).toBe(true)
    expect(sameEtag(listed[0].etag, etag)).toBe(true)
    expect(sameEtag(listed[1].etag, store.etagFor(body))).toBe(false)
    expect((await store.listObjects('_dagctl/dev/a/blobs/')).map((o) => o.key)).toEqual(['_dagctl/dev/a/blobs/h'])
  })

  it('reads a byte range: the bytes asked for, fewer past the end, none from beyond it, undefined when missing', async () => {
    const {store} = await freshStore(variant)
    const body = Buffer.from('0123456789abcdef')
    await store.put('_dagctl/dev/a/blobs/pack-x', body, {ifNoneMatch: '*'})
    expect((await store.getRange('_dagctl/dev/a/blobs/pack-x', 4, 6))?.toString()).toBe('456789')
    expect((await store.getRange('_dagctl/dev/a/blobs/pack-x', 0, 16))?.toString()).toBe('0123456789abcdef')
    expect((await store.getRange('_dagctl/dev/a/blobs/pack-x', 12, 10))?.toString()).toBe('cdef')
    expect((await store.getRange('_dagctl/dev/a/blobs/pack-x', 16, 4))?.length).toBe(0)
    expect((await store.getRange('_dagctl/dev/a/blobs/pack-x', 40, 4))?.length).toBe(0)
    expect(await store.getRange('_dagctl/dev/a/blobs/missing', 0, 4)).toBeUndefined()
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

describe.each([STORE_VARIANTS[1], MINIO_VARIANT])('the S3 protocol answers dagctl builds on: $name', (variant) => {
  it('conditional PutObject: 412 on an existing key or a stale If-Match, 404 NoSuchKey for If-Match on a missing key; ETag is the content MD5', async () => {
    const {url, endpoint} = await freshStore(variant)
    const sdk = new S3Client({endpoint, forcePathStyle: true, region: 'us-east-1'})
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(url)!
    const put = (key: string, body: string, cond: {IfNoneMatch?: string; IfMatch?: string} = {}) => sdk.send(new PutObjectCommand({Bucket: bucket, Key: `${prefix}/${key}`, Body: body, ...cond}))
    const status = async (p: Promise<unknown>) => {
      try {
        await p
        return 200
      } catch (error) {
        return `${(error as S3ServiceException).$metadata.httpStatusCode} ${(error as S3ServiceException).name}`
      }
    }
    const first = await put('k', 'one', {IfNoneMatch: '*'})
    expect(first.ETag).toBe(`"${createHash('md5').update('one').digest('hex')}"`)
    expect(await status(put('k', 'two', {IfNoneMatch: '*'}))).toMatch(/^412 /)
    const second = await put('k', 'two', {IfMatch: first.ETag})
    expect(await status(put('k', 'three', {IfMatch: first.ETag}))).toMatch(/^412 /)
    expect(await status(put('missing', 'x', {IfMatch: second.ETag}))).toBe('404 NoSuchKey')
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
