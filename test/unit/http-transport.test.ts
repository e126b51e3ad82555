import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {AirflowClient} from '../../src/airflow/client.js'
import {NodeHttpTransport} from '../../src/airflow/http.js'
import {budget} from '../helpers/budget.js'
import {tempDir} from '../helpers/tmp.js'

// The Airflow client's default HTTP edge against real servers on loopback (the contract tests run it
// against Airflow 3 and 2.11): what undici did for it before, keep-alive, timeouts, a private CA.
describe('NodeHttpTransport', () => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  async function serve(server: http.Server | https.Server): Promise<string> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    closers.push(() => new Promise((resolve) => server.close(() => resolve())))
    return `${server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  function transport(options?: ConstructorParameters<typeof NodeHttpTransport>[0]): NodeHttpTransport {
    const t = new NodeHttpTransport(options)
    closers.push(() => t.close())
    return t
  }

  it('sends method, headers and body, returns status, headers and body, over one kept-alive connection', async () => {
    const sockets = new Set<unknown>()
    const seen: Array<{method?: string; url?: string; type?: string; length?: string; body: string}> = []
    const server = http.createServer((req, res) => {
      sockets.add(req.socket)
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString('utf8')))
      req.on('end', () => {
        seen.push({method: req.method, url: req.url, type: req.headers['content-type'], length: req.headers['content-length'], body})
        res.writeHead(201, {'content-type': 'application/json', 'retry-after': '7'})
        res.end(JSON.stringify({echo: body, n: seen.length}))
      })
    })
    const base = await serve(server)
    const t = transport()
    const body = JSON.stringify({conf: {city: 'Zürich'}})
    for (let i = 1; i <= 3; i++) {
      const res = await t.send({method: 'POST', url: `${base}/api/v2/dags/x/dagRuns?i=${i}`, headers: {'content-type': 'application/json'}, body, timeoutMs: 10_000})
      expect(res.status).toBe(201)
      expect(res.headers['retry-after']).toBe('7')
      expect(JSON.parse(res.text)).toEqual({echo: body, n: i})
    }
    expect(seen.map((s) => s.url)).toEqual(['/api/v2/dags/x/dagRuns?i=1', '/api/v2/dags/x/dagRuns?i=2', '/api/v2/dags/x/dagRuns?i=3'])
    expect(seen[0]).toMatchObject({method: 'POST', type: 'application/json', length: String(Buffer.byteLength(body)), body})
    expect(sockets.size).toBe(1)
  })

  it('fails a request that gets no answer within its timeout (ETIMEDOUT), and the client retries it', async () => {
    let calls = 0
    const server = http.createServer((req, res) => {
      calls++
      if (calls === 1) return // never answers
      res.writeHead(200, {'content-type': 'application/json'})
      res.end('{"dag_id": "team_a_x", "is_paused": false}')
    })
    const base = await serve(server)
    const error = await transport().send({method: 'GET', url: `${base}/slow`, headers: {}, timeoutMs: 200}).catch((e: unknown) => e)
    expect((error as {code?: string}).code).toBe('ETIMEDOUT')
    calls = 0
    const lines: string[] = []
    const client = new AirflowClient({url: base, api: 'v2', credentials: {token: 't'}, timeoutMs: budget(2000), retries: 1, sleep: async () => {}, log: (l) => lines.push(l), transport: transport()})
    expect(await client.getDag('team_a_x')).toEqual({dag_id: 'team_a_x', is_paused: false})
    expect(lines[0]).toMatch(/^GET \/api\/v2\/dags\/team_a_x → ETIMEDOUT/)
  })

  it('a refused connection is a network error the client names (ECONNREFUSED)', async () => {
    const server = http.createServer()
    const base = await serve(server)
    await new Promise((resolve) => server.close(resolve))
    const error = await transport().send({method: 'GET', url: `${base}/x`, headers: {}, timeoutMs: 5000}).catch((e: unknown) => e)
    expect((error as {code?: string}).code).toBe('ECONNREFUSED')
  })

  it('trusts a private CA given as ca (environments.<env>.airflow.ca_file), and only then', async () => {
    const dir = tempDir()
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {stdio: 'ignore'})
    const server = https.createServer({key: readFileSync(key), cert: readFileSync(cert)}, (req, res) => res.end('ok'))
    const base = await serve(server)
    const trusted = await transport({ca: readFileSync(cert)}).send({method: 'GET', url: `${base}/`, headers: {}, timeoutMs: 5000})
    expect(trusted).toMatchObject({status: 200, text: 'ok'})
    const error = await transport().send({method: 'GET', url: `${base}/`, headers: {}, timeoutMs: 5000}).catch((e: unknown) => e)
    expect((error as {code?: string}).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/)
  })
})
