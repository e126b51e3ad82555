import {createServer, connect, type Server} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {waitFor} from '../helpers/budget.js'
import {runCli, type CliResult} from '../helpers/cli.js'
import {startAirflow, type AirflowServer} from '../helpers/airflow-server.js'
import {startKubeApiServer, type KubeApiServer} from '../helpers/kube-apiserver.js'
import {freePort} from '../helpers/moto.js'
import {packageDir, publish, startSync, type SyncProcess} from '../helpers/sync.js'
import {tempDir} from '../helpers/tmp.js'

/**
 * `cluster status` reads Airflow's health and the sync sidecar's metrics through the API server's
 * proxy, with no port-forward. Nothing runs pods on the test API server, so the test stands in for
 * the kubelet and the endpoints controller: a Pod object named as the chart names the scheduler's,
 * its sync container's port, marked Ready with this machine's address, and the API server's pod and
 * its Service's Endpoints. Behind them run the real peers: `dagctl sync` (its /metrics) and Airflow 3
 * (`/api/v2/monitor/health`, reached through a TCP relay, since Airflow listens on 127.0.0.1 and
 * the API server refuses to proxy to a loopback address).
 */
// The API server refuses to proxy to a loopback address, so the stand-in pod gets this machine's
// first non-loopback IPv4 address; a machine with none (no network interface up) cannot run this.
const hostIp = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address

describe.runIf(hostIp !== undefined)('cluster status through the API server proxy (runs where the machine has a non-loopback IPv4 address)', () => {
  let kube: KubeApiServer
  let airflow: AirflowServer
  let sync: SyncProcess
  let relay: Server
  const ns = 'airflow'
  const show = (r: CliResult) => `exit ${r.exitCode}\n${r.stdout}\n--- stderr ---\n${r.stderr}`

  beforeAll(async () => {
    kube = await startKubeApiServer(inject('kubeBinaries'), {context: 'kind-dagctl'})
    airflow = await startAirflow(3, inject('airflowPython')['3'])
    // Airflow, reachable on this machine's address
    const airflowPort = Number(new URL(airflow.url).port)
    relay = createServer((socket) => {
      const upstream = connect(airflowPort, '127.0.0.1')
      socket.pipe(upstream).pipe(socket)
      const close = () => {
        socket.destroy()
        upstream.destroy()
      }
      socket.on('error', close)
      upstream.on('error', close)
    })
    await new Promise<void>((resolve) => relay.listen(0, hostIp, resolve))
    // a real sync with its metrics on this machine's address
    const root = tempDir()
    const store = `file://${root}/store`
    await publish(packageDir('team_h', store, {'team_h_a.py': '# team_h\nfrom airflow import DAG\n'}), {})
    const metricsPort = await freePort()
    sync = startSync(['--env', 'dev', '--store', store, '--to', path.join(root, 'dags'), '--interval', '1s', '--metrics-host', hostIp!, '--metrics-port', String(metricsPort)], {})
    await sync.waitFor(/team_h/)
    // what a kubelet and the endpoints controller would have written
    const apply = async (obj: unknown, ...extra: string[]) => {
      const r = await kube.kubectl(['apply', ...extra, '-f', '-'], JSON.stringify(obj))
      expect(r.exitCode, r.stderr).toBe(0)
    }
    await apply({apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}})
    await apply({apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'default', namespace: ns}})
    await apply({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'airflow-scheduler-0', namespace: ns, labels: {component: 'scheduler', release: 'airflow'}}, spec: {containers: [
      {name: 'scheduler', image: 'apache/airflow:3.2.1'},
      {name: 'dagctl-sync', image: 'dagctl:0.1.0', ports: [{name: 'sync-metrics', containerPort: metricsPort}]},
    ]}})
    const ready = {status: {phase: 'Running', podIP: hostIp, podIPs: [{ip: hostIp}], conditions: [{type: 'Ready', status: 'True'}]}}
    const markReady = async (pod: string) => {
      const patched = await kube.kubectl(['--namespace', ns, 'patch', 'pod', pod, '--subresource=status', '--type=merge', '-p', JSON.stringify(ready)])
      expect(patched.exitCode, patched.stderr).toBe(0)
    }
    await markReady('airflow-scheduler-0')
    // the API server's pod and the Service's Endpoints (the API server proxies only to an address whose pod exists)
    await apply({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'airflow-api-server-0', namespace: ns, labels: {component: 'api-server', release: 'airflow'}}, spec: {containers: [{name: 'api-server', image: 'apache/airflow:3.2.1', ports: [{name: 'api-server', containerPort: 8080}]}]}})
    await markReady('airflow-api-server-0')
    await apply({apiVersion: 'v1', kind: 'Service', metadata: {name: 'airflow-api-server', namespace: ns}, spec: {ports: [{name: 'api-server', port: 8080, targetPort: 8080}]}})
    const relayPort = (relay.address() as {port: number}).port
    await apply({apiVersion: 'v1', kind: 'Endpoints', metadata: {name: 'airflow-api-server', namespace: ns}, subsets: [{
      addresses: [{ip: hostIp, targetRef: {kind: 'Pod', name: 'airflow-api-server-0', namespace: ns}}],
      ports: [{name: 'api-server', port: relayPort}],
    }]})
  })
  afterAll(async () => {
    sync?.proc.kill('SIGTERM')
    await sync?.proc
    relay?.close()
    await airflow?.stop()
    await kube?.stop()
  })

  it('reads the sync metrics of the ready scheduler pod and Airflow health, through the API server', async () => {
    const dir = tempDir({'dagctl.yaml': 'package: team_h\n'})
    let s: any
    await waitFor(async () => {
      const r = await runCli(['cluster', 'status', '--profile', 'kind', '--json'], {cwd: dir, env: {KUBECONFIG: kube.kubeconfig, DAGCTL_HELM: inject('helmBinary')}})
      // no release is installed here, so it is not up: exit 1, with the whole report on stdout
      expect(r.exitCode, show(r)).toBe(1)
      s = r.json()
      return s.sync.reachable && s.airflow.reachable && s.sync.metrics['dagctl_sync_release{package="team_h"}'] === 1
    }, {what: 'status to read sync and Airflow through the proxy', timeoutMs: 60_000, intervalMs: 500})
    expect(s.pods).toEqual(expect.arrayContaining([expect.objectContaining({name: 'airflow-scheduler-0', ready: true, syncPort: expect.any(Number)})]))
    expect(s.sync.detail).toContain('airflow-scheduler-0')
    expect(s.sync.metrics['dagctl_sync_head_release{package="team_h"}']).toBe(1)
    expect(s.airflow).toEqual({reachable: true, healthy: true, detail: 'healthy'})
    // no release is installed here, so it is not "up"
    expect(s.up).toBe(false)
  })
})
