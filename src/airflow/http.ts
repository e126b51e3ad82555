import http from 'node:http'
import type https from 'node:https'

/** One HTTP exchange, as the Airflow client needs it: the whole body in, the whole body out. */
export interface HttpRequest {
  method: string
  url: string
  headers: Record<string, string>
  body?: string
  /** no byte for this long, waiting for the headers or inside the body: the request fails (ETIMEDOUT) */
  timeoutMs: number
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

/** The HTTP edge of the Airflow client: node:http by default; tests inject their own. */
export interface HttpTransport {
  send(request: HttpRequest): Promise<HttpResponse>
  close(): Promise<void>
}

/**
 * Node's own HTTP client with a keep-alive pool per scheme. It is part of the node binary, so a
 * command pays nothing to load it, where undici costs about 60 ms of CPU to import and 13 ms to
 * compile its HTTP parser on the first request (measured on Node 20; bench/trigger.bench.ts) in a
 * command whose whole budget is a few hundred. node:https is taken on the first https:// request
 * only: it loads TLS and node:crypto (6-8 ms of CPU), which an Airflow on http:// never needs.
 */
export class NodeHttpTransport implements HttpTransport {
  private readonly agents: {'http:'?: http.Agent; 'https:'?: https.Agent} = {}
  private readonly maxSockets: number
  private readonly ca?: Buffer

  constructor(options: {ca?: Buffer; maxSockets?: number} = {}) {
    this.maxSockets = options.maxSockets ?? 4
    this.ca = options.ca
  }

  private clientFor(protocol: 'http:' | 'https:'): {agent: http.Agent; request: typeof http.request} {
    if (protocol === 'http:') return {agent: (this.agents['http:'] ??= new http.Agent({keepAlive: true, maxSockets: this.maxSockets})), request: http.request}
    const tls = process.getBuiltinModule('node:https')
    return {agent: (this.agents['https:'] ??= new tls.Agent({keepAlive: true, maxSockets: this.maxSockets, ca: this.ca})), request: tls.request}
  }

  send(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const url = new URL(req.url)
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(networkError('ERR_INVALID_PROTOCOL', `unsupported protocol ${url.protocol}`))
        return
      }
      const headers: Record<string, string | number> = {...req.headers}
      if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body)
      const client = this.clientFor(url.protocol)
      const request = client.request(url, {method: req.method, headers, agent: client.agent, timeout: req.timeoutMs}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8')}))
      })
      request.on('timeout', () => request.destroy(networkError('ETIMEDOUT', `no answer within ${req.timeoutMs} ms`)))
      request.on('error', reject)
      request.end(req.body)
    })
  }

  async close(): Promise<void> {
    this.agents['http:']?.destroy()
    this.agents['https:']?.destroy()
  }
}

/** An error shaped like Node's own network errors (a `code` the client's retry and message read). */
function networkError(code: string, message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message)
  error.code = code
  return error
}
