import {createHash, randomBytes} from 'node:crypto'

export function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex')
}

export function nonce(): string {
  return randomBytes(8).toString('hex')
}

/**
 * Runs fn over items with at most `limit` in flight; the first failure rejects (after in-flight ones
 * settle). `stop(notStarted)` is asked before each item is started: true leaves the rest undone
 * (their results stay undefined) once the items in flight have settled.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, stop?: (notStarted: number) => boolean): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  let failed: unknown
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length && !stop?.(items.length - next)) {
      const i = next++
      try {
        out[i] = await fn(items[i], i)
      } catch (error) {
        failed ??= error
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  if (failed !== undefined) throw failed
  return out
}
