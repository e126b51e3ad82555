import {spawn} from 'node:child_process'
import {closeSync, existsSync, openSync, readdirSync, readFileSync} from 'node:fs'
import net from 'node:net'

/** One process `cluster up` started: its group leader's pid and the kernel's start time of that pid. */
export interface ProcessRecord {
  pid: number
  /** /proc/<pid>/stat field 22 (clock ticks since boot): a pid reused by another process has another */
  startTime: string
  command: string[]
  log: string
}

export interface SpawnRequest {
  command: string
  args: string[]
  env: Record<string, string>
  cwd: string
  log: string
}

/** Starts a detached process (its own session and process group), output appended to a log file. */
export type Spawner = (request: SpawnRequest) => {pid: number}

export const detachedSpawner: Spawner = (request) => {
  const fd = openSync(request.log, 'a')
  try {
    const child = spawn(request.command, request.args, {env: request.env, cwd: request.cwd, detached: true, stdio: ['ignore', fd, fd]})
    if (child.pid === undefined) throw new Error(`could not start ${request.command}`)
    child.unref()
    return {pid: child.pid}
  } finally {
    closeSync(fd)
  }
}

/** The start time of a live pid, or undefined when there is no such process (Linux /proc). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z') return undefined // a zombie is gone for our purpose
    return fields[19]
  } catch {
    return undefined
  }
}

/** True when the recorded process is still the one we started (same pid, same start time). */
export function isOurs(record: ProcessRecord | undefined): boolean {
  return record !== undefined && processStartTime(record.pid) === record.startTime
}

/** Processes whose session id is `sid` (a detached spawn makes the leader's pid the session id). */
export function sessionMembers(sid: number): number[] {
  if (!existsSync('/proc')) return []
  const members: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[3]) === sid && fields[0] !== 'Z') members.push(Number(name))
    } catch {
      // exited meanwhile
    }
  }
  return members
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Stops a recorded process and everything in its session: SIGTERM to its group, then, after
 * `graceMs`, SIGKILL to the group and to every member of its session (Airflow 2's file processor
 * manager moves to a group of its own). Does nothing when the pid is no longer the one recorded.
 * Returns whether it stopped something.
 */
export async function stopProcess(record: ProcessRecord, graceMs = 15_000): Promise<boolean> {
  if (!isOurs(record)) {
    // another process has this pid now: its session is not ours, touch nothing
    if (processStartTime(record.pid) !== undefined) return false
    // the leader is gone; members of its session may remain (the sid cannot be reused while they live)
    const left = sessionMembers(record.pid)
    for (const pid of left) signal(pid, 'SIGKILL')
    return left.length > 0
  }
  signal(-record.pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (isOurs(record) && Date.now() < deadline) await sleep(200)
  for (const pid of [-record.pid, ...sessionMembers(record.pid)]) signal(pid, 'SIGKILL')
  const end = Date.now() + 5000
  while ((isOurs(record) || sessionMembers(record.pid).length > 0) && Date.now() < end) await sleep(100)
  return true
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/** Whether something already listens on host:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(true))
    srv.listen(port, host, () => srv.close(() => resolve(false)))
  })
}

/** A free port on loopback (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}
