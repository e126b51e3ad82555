import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {detachedSpawner, isOurs, processStartTime, stopProcess} from '../../src/cluster/process.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'dagctl-cluster-proc-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))

describe('cluster processes: recorded by pid and start time', () => {
  it('never signals a pid whose start time is not the recorded one (a reused pid), and stops the whole group when it is', async () => {
    const {pid} = detachedSpawner({command: 'bash', args: ['-c', 'sleep 300 & sleep 300'], env: {PATH: process.env.PATH ?? ''}, cwd: dir, log: path.join(dir, 'log')})
    const startTime = processStartTime(pid)!
    expect(startTime).toBeTruthy()
    const reused = {pid, startTime: String(Number(startTime) + 1), command: [], log: ''}
    expect(isOurs(reused)).toBe(false)
    expect(await stopProcess(reused, 1000)).toBe(false)
    expect(alive(pid)).toBe(true)
    const record = {...reused, startTime}
    expect(isOurs(record)).toBe(true)
    expect(await stopProcess(record, 5000)).toBe(true)
    expect(alive(pid)).toBe(false)
  }, 30_000)
})
