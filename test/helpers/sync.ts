import {createHash} from 'node:crypto'
import {execa, type ResultPromise} from 'execa'
import {readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import path from 'node:path'

import {PackageRepository} from '../../src/release/repository.js'
import type {Store} from '../../src/store/index.js'
import {BIN, runCli} from './cli.js'
import {tempDir, writeFiles} from './tmp.js'

/** A package folder (dagctl.yaml + dags/) publishing to `storeUrl`. */
export function packageDir(pkg: string, storeUrl: string, files: Record<string, string>): string {
  return tempDir({
    'dagctl.yaml': `package: ${pkg}\nenvironments:\n  dev:\n    store: ${storeUrl}\n`,
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`dags/${k}`, v])),
  })
}

/** Replaces the dags/ of a package folder with `files`. */
export function setDags(dir: string, files: Record<string, string>): void {
  const dags = path.join(dir, 'dags')
  for (const f of walkFiles(dags)) if (!(f in files)) rmSync(path.join(dags, f), {force: true})
  writeFiles(dags, files)
}

export async function publish(dir: string, env: Record<string, string>, ...extra: string[]): Promise<number> {
  const r = await runCli(['publish', '--no-validate', '--json', ...extra], {cwd: dir, env})
  if (r.exitCode !== 0) throw new Error(`publish failed (${r.exitCode}): ${r.stdout}\n${r.stderr}`)
  return r.json().release
}

export async function rollback(dir: string, env: Record<string, string>, to: number): Promise<number> {
  const r = await runCli(['rollback', '--to', String(to), '--yes', '--json'], {cwd: dir, env})
  if (r.exitCode !== 0) throw new Error(`rollback failed (${r.exitCode}): ${r.stdout}\n${r.stderr}`)
  return r.json().release
}

/** Every file under dir (following symlinks, as Airflow's walk does), relative, sorted. */
export function walkFiles(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = []
  const walk = (d: string, rel: string): void => {
    let names: string[]
    try {
      names = readdirSync(d)
    } catch {
      return
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name
      if (skip(r)) continue
      const full = path.join(d, name)
      const st = statSync(full, {throwIfNoEntry: false})
      if (!st) continue
      if (st.isDirectory()) walk(full, r)
      else out.push(r)
    }
  }
  walk(dir, '')
  return out.sort()
}

/** path → sha256 of every file under dir (following symlinks). */
export function treeHashes(dir: string): Record<string, string> {
  return Object.fromEntries(walkFiles(dir).map((f) => [f, createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')]))
}

/** path → sha256 of the files of the package's HEAD release. */
export async function headFiles(store: Store, env: string, pkg: string): Promise<{release: number; files: Record<string, string>}> {
  const repo = new PackageRepository(store, env, pkg)
  const {head} = await repo.readHead()
  if (!head) throw new Error(`no HEAD for ${pkg}`)
  const m = await repo.manifest(head.release)
  return {release: m.id, files: Object.fromEntries(Object.entries(m.files).map(([p, f]) => [p, f.sha256]))}
}

/** The visible part of DIR: what Airflow's scan sees (the versions folder excluded as .airflowignore says). */
export function visibleTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of walkFiles(dir, (rel) => rel === '.dagctl-sync')) {
    out[f] = createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')
  }
  return out
}

export async function syncOnce(args: string[], env: Record<string, string>): Promise<{exitCode: number; json: any; stderr: string}> {
  const r = await runCli(['sync', '--once', '--json', ...args], {env})
  let json: any
  try {
    json = JSON.parse(r.stdout)
  } catch {
    json = undefined
  }
  return {exitCode: r.exitCode, json, stderr: r.stderr}
}

export interface SyncProcess {
  proc: ResultPromise
  /** everything written to stderr so far */
  stderr(): string
  /** resolves when stderr matches (checked as output arrives) */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
}

/** `dagctl sync` as a long-running child process (the loop). */
export function startSync(args: string[], env: Record<string, string>, as?: {command: string; args: string[]}): SyncProcess {
  // `as`: another way to start dagctl (e.g. setpriv ... node BIN) with exactly `env`
  const proc = as
    ? execa(as.command, [...as.args, 'sync', ...args], {env, extendEnv: false, reject: false, stdin: 'ignore'})
    : execa('node', [BIN, 'sync', ...args], {env: {NO_COLOR: '1', ...env}, reject: false, stdin: 'ignore'})
  let err = ''
  const waiters: Array<() => void> = []
  proc.stderr!.on('data', (c: Buffer) => {
    err += c.toString()
    for (const w of [...waiters]) w()
  })
  return {
    proc,
    stderr: () => err,
    waitFor(re, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = err.match(re)
          if (m) {
            waiters.splice(waiters.indexOf(check), 1)
            clearTimeout(timer)
            resolve(m)
          }
        }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1)
          reject(new Error(`timed out waiting for ${re} in sync's stderr:\n${err}`))
        }, timeoutMs)
        waiters.push(check)
        proc.then(() => setTimeout(() => {
          if (waiters.includes(check)) {
            waiters.splice(waiters.indexOf(check), 1)
            clearTimeout(timer)
            reject(new Error(`sync exited (${proc.exitCode}) before ${re}:\n${err}`))
          }
        }, 50))
        check()
      })
    },
  }
}
