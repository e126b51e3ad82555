import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {SyncMetrics} from './metrics.js'

export interface HealthSource {
  /** false once the store failed --unhealthy-after cycles in a row */
  healthy(): boolean
  /** true once a cycle brought every package to its HEAD */
  ready(): boolean
}

/** /metrics, /healthz, /readyz on the given port (0: any free port). */
export async function startMetricsServer(metrics: SyncMetrics, health: HealthSource, port: number, host: string): Promise<{port: number; close(): Promise<void>}> {
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end()
      return
    }
    if (url === '/metrics') {
      metrics.text().then(
        (body) => res.writeHead(200, {'content-type': metrics.contentType}).end(body),
        () => res.writeHead(500).end(),
      )
      return
    }
    if (url === '/healthz' || url === '/readyz') {
      const ok = url === '/healthz' ? health.healthy() : health.ready()
      res.writeHead(ok ? 200 : 503, {'content-type': 'text/plain'}).end(ok ? 'ok\n' : url === '/healthz' ? 'unhealthy: the store failed too many cycles in a row\n' : 'not ready: no full sync yet\n')
      return
    }
    res.writeHead(404).end()
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
