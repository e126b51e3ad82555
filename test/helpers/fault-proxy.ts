import {createServer, request, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

/**
 * What the proxy does to one request:
 *  - pass: forward untouched
 *  - reset: drop the connection before forwarding (the server never sees it)
 *  - reset-after: forward, let the server act, then drop the connection (the client never hears)
 *  - 500 / 503: answer with an S3 error without forwarding (503 is S3's SlowDown)
 *  - slow: wait `slowMs`, then forward
 */
export type Fault = 'pass' | 'reset' | 'reset-after' | '500' | '503' | 'slow'

export interface FaultProxyOptions {
  /** e.g. http://127.0.0.1:PORT */
  target: string
  /** picks the fault for each request; default: always pass (a counting proxy) */
  choose?: (req: IncomingMessage, n: number) => Fault
  slowMs?: number
}

export interface FaultProxy {
  endpoint: string
  /** requests seen, by method, and faults injected */
  counts: {total: number; byMethod: Record<string, number>; faults: Record<string, number>}
  /** every request seen since the last resetCounts, in order of arrival */
  requests: Array<{method: string; path: string; query: string}>
  resetCounts(): void
  stop(): Promise<void>
}

/** Seeded random fault choice: `rate` of requests get one of `faults`. */
export function randomFaults(rate: number, faults: Fault[], seed = 1): (req: IncomingMessage, n: number) => Fault {
  let s = seed >>> 0
  const rnd = (): number => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
  return () => (rnd() < rate ? faults[Math.floor(rnd() * faults.length)] : 'pass')
}

function s3Error(res: ServerResponse, status: number): void {
  const code = status === 503 ? 'SlowDown' : 'InternalError'
  res.writeHead(status, {'content-type': 'application/xml'})
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the test proxy</Message></Error>`)
}

/** An HTTP proxy on 127.0.0.1 between dagctl and an S3 server, injecting faults and counting requests. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target)
  const counts = {total: 0, byMethod: {} as Record<string, number>, faults: {} as Record<string, number>}
  const requests: FaultProxy['requests'] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const n = counts.total++
    counts.byMethod[req.method ?? '?'] = (counts.byMethod[req.method ?? '?'] ?? 0) + 1
    const [reqPath, query = ''] = (req.url ?? '').split('?')
    requests.push({method: req.method ?? '?', path: decodeURIComponent(reqPath), query: decodeURIComponent(query)})
    const fault = options.choose?.(req, n) ?? 'pass'
    if (fault !== 'pass') counts.faults[fault] = (counts.faults[fault] ?? 0) + 1
    const body: Buffer[] = []
    req.on('data', (c: Buffer) => body.push(c))
    req.on('end', () => {
      if (fault === 'reset') return req.socket.destroy()
      if (fault === '500') return s3Error(res, 500)
      if (fault === '503') return s3Error(res, 503)
      const forward = (): void => {
        const up = request(
          {host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers},
          (upRes) => {
            const chunks: Buffer[] = []
            upRes.on('data', (c: Buffer) => chunks.push(c))
            upRes.on('end', () => {
              if (fault === 'reset-after') return req.socket.destroy()
              res.writeHead(upRes.statusCode ?? 502, upRes.headers)
              res.end(Buffer.concat(chunks))
            })
          },
        )
        up.on('error', () => req.socket.destroy())
        up.end(Buffer.concat(body))
      }
      if (fault === 'slow') setTimeout(forward, options.slowMs ?? 1500)
      else forward()
    })
  })
  server.keepAliveTimeout = 30_000
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    requests,
    resetCounts() {
      requests.length = 0
      counts.total = 0
      counts.byMethod = {}
      counts.faults = {}
    },
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
