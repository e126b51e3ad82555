import {execa} from 'execa'
import {existsSync, mkdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, inject, it} from 'vitest'

import {PackageRepository} from '../../src/release/repository.js'
import {openStore, type Store} from '../../src/store/index.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {packageDir, publish, rollback, setDags, startSync} from '../helpers/sync.js'
import {tempDir} from '../helpers/tmp.js'

const SCANNER = path.join(REPO_ROOT, 'test', 'helpers', 'dag_scanner.py')
const PACKAGES = ['team_a', 'team_b']
const PADDING = `# ${'x'.repeat(78)}\n`.repeat(100)

/** Release `tag` of a package: 3 + k files (some in a subfolder), each saying its tag and how many there are. */
function release(pkg: string, k: number): Record<string, string> {
  const n = 3 + k
  return Object.fromEntries(
    Array.from({length: n}, (_, i) => [
      i % 3 === 2 ? `sub/${pkg}_${i}.py` : `${pkg}_${i}.py`,
      `# release-tag: v${k} files=${n}\nfrom airflow import DAG\ndag = DAG(dag_id="${pkg}_${i}")\n${PADDING}`,
    ]),
  )
}

interface Scanner {
  violations: unknown[]
  firstViolation: Promise<unknown>
  stop(): Promise<{scans: number; violations: number; tags: Record<string, string[]>}>
}

function startScanner(dir: string): Scanner {
  const stopFile = path.join(tempDir(), 'stop')
  const proc = execa(inject('testPython'), [SCANNER, dir, stopFile, PACKAGES.join(',')], {reject: false})
  const violations: unknown[] = []
  let summary: {scans: number; violations: number; tags: Record<string, string[]>} | undefined
  let buf = ''
  let onViolation: (v: unknown) => void = () => {}
  const firstViolation = new Promise<unknown>((resolve) => (onViolation = resolve))
  proc.stdout!.on('data', (c: Buffer) => {
    buf += c.toString()
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, i))
      buf = buf.slice(i + 1)
      if (line.violation) {
        violations.push(line)
        onViolation(line)
      }
      if (line.summary) summary = line.summary
    }
  })
  return {
    violations,
    firstViolation,
    async stop() {
      writeFileSync(stopFile, '')
      const r = await proc
      if (!summary) throw new Error(`scanner ended without a summary (${r.exitCode}): ${r.stderr}`)
      return summary
    },
  }
}

/** Publishes releases v1..v4 of each package to a fresh local store. */
async function fixture(): Promise<{store: Store; url: string; dirs: Record<string, string>; ids: Record<string, number[]>}> {
  const root = tempDir()
  const url = `file://${root}/store`
  const store = await openStore({url, root})
  const dirs: Record<string, string> = {}
  const ids: Record<string, number[]> = {}
  for (const pkg of PACKAGES) {
    dirs[pkg] = packageDir(pkg, url, release(pkg, 1))
    ids[pkg] = [await publish(dirs[pkg], {})]
    for (let k = 2; k <= 4; k++) {
      setDags(dirs[pkg], release(pkg, k))
      ids[pkg].push(await publish(dirs[pkg], {}))
    }
  }
  return {store, url, dirs, ids}
}

/** The rollbacks the test makes: back and forth through v1..v4 of each package in turn. */
const PLAN: Array<[string, number]> = [
  ['team_a', 1], ['team_b', 2], ['team_a', 3], ['team_b', 1], ['team_a', 2],
  ['team_b', 4], ['team_a', 4], ['team_b', 3], ['team_a', 1], ['team_b', 2],
]

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('what a scan of DIR sees while releases change', () => {
  it('dagctl sync: every scan sees exactly one complete release per package, never a part or two', async () => {
    const {url, dirs, ids} = await fixture()
    const dir = tempDir()
    const sync = startSync(['--store', url, '--to', dir, '--interval', '0.05s', '--grace', '1h'], {})
    let scanner: Scanner | undefined
    try {
      await sync.waitFor(/cycle 1: 2 package\(s\) at HEAD/)
      scanner = startScanner(dir)
      for (const [pkg, k] of PLAN) {
        const id = await rollback(dirs[pkg], {}, ids[pkg][k - 1])
        await waitFor(() => readlinkSync(path.join(dir, pkg)).includes(`/${id}-`), `${pkg} release ${id} in DIR`)
      }
      const summary = await scanner.stop()
      scanner = undefined
      expect(summary.violations, JSON.stringify(summary)).toBe(0)
      // The scanner did watch the switches: it saw several releases of each package.
      for (const pkg of PACKAGES) expect(summary.tags[pkg]?.length ?? 0).toBeGreaterThanOrEqual(2)
      expect(summary.scans).toBeGreaterThan(PLAN.length)
    } finally {
      await scanner?.stop()
      sync.proc.kill('SIGTERM')
      await sync.proc
    }
  })

  it('the scanner catches a writer that copies files in place (as `aws s3 sync` does)', async () => {
    const {store} = await fixture()
    const dir = tempDir()
    const manifests: Record<string, Record<string, Buffer>[]> = {}
    for (const pkg of PACKAGES) {
      const repo = new PackageRepository(store, 'dev', pkg)
      manifests[pkg] = []
      for (const m of (await repo.history()).reverse()) {
        const files: Record<string, Buffer> = {}
        for (const [p, f] of Object.entries(m.files)) files[p] = (await store.get(repo.layout.blob(f.sha256)))!.body
        manifests[pkg].push(files)
      }
    }
    /** Non-atomic: overwrite every file of the target release in place, then delete the others. */
    const writeInPlace = async (pkg: string, files: Record<string, Buffer>): Promise<void> => {
      const base = path.join(dir, pkg)
      for (const [p, body] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(base, p)), {recursive: true})
        await writeFile(path.join(base, p), body)
      }
      for (const k of manifests[pkg]) for (const p of Object.keys(k)) if (!(p in files) && existsSync(path.join(base, p))) await rm(path.join(base, p))
    }
    for (const pkg of PACKAGES) await writeInPlace(pkg, manifests[pkg][0])
    const scanner = startScanner(dir)
    let caught = false
    void scanner.firstViolation.then(() => (caught = true))
    try {
      for (let round = 0; round < 2000 && !caught; round++) {
        const [pkg, k] = PLAN[round % PLAN.length]
        await writeInPlace(pkg, manifests[pkg][k - 1])
      }
      expect(caught).toBe(true)
    } finally {
      await scanner.stop()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
