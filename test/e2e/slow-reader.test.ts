import {execa} from 'execa'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, runCli} from '../helpers/cli.js'
import {tempDir, writeFiles} from '../helpers/tmp.js'

/**
 * `dagctl ... --json | (sleep 2; jq .)`: the reader takes nothing until the command has exited, or
 * for 2 s while it still runs. A pipe holds 64 KiB: a command that exits with the rest of its output
 * still queued cuts the document off. The pause is the slow reader itself, not a wait for a result:
 * a correct command blocks until the reader comes, whatever the pause.
 */
async function runWithSlowReader(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{exitCode: number; stdout: string; stderr: string}> {
  // exactly what CI does: `dagctl ... | (sleep 2; cat)`; the exit code is dagctl's own (PIPESTATUS), and
  // the shell's pipe is the slow reader (a child's own stdout stream, read after it exited, may be gone)
  const script = 'node "$0" "$@" | (sleep 2; cat); exit "${PIPESTATUS[0]}"'
  const res = await execa('bash', ['-c', script, BIN, ...args], {cwd, env: {NO_COLOR: '1', ...env}, reject: false, stripFinalNewline: false})
  return {exitCode: res.exitCode ?? -1, stdout: res.stdout, stderr: res.stderr}
}

/** The document must parse, and be large enough that a cut-off would show (far beyond a pipe's 64 KiB). */
function wholeJson(res: {stdout: string; stderr: string}, what: string): any {
  expect(res.stdout.length, `${what}: the fixture must print more than a pipe holds`).toBeGreaterThan(200_000)
  try {
    return JSON.parse(res.stdout)
  } catch (error) {
    throw new Error(`${what}: stdout is not whole JSON (${res.stdout.length} bytes; ${(error as Error).message})\n--- stderr ---\n${res.stderr.slice(-2000)}`)
  }
}

/** three DAGs without a schedule: three DAG entries and three warnings per file */
const dag = (i: number) => `from airflow.sdk import DAG\n\n${[1, 2, 3].map((n) => `DAG(dag_id="team_a_unscheduled_${i}_${n}")\n`).join('')}`
const CACHE = {DAGCTL_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dagctl-cache-'))}
afterAll(() => rmSync(CACHE.DAGCTL_CACHE_DIR, {recursive: true, force: true}))

describe('stdout arrives whole before the exit code, with a slow pipe reader', () => {
  it('validate --json with one failing file among 400 (exit 1)', async () => {
    const files: Record<string, string> = {'dagctl.yaml': 'package: team_a\n', 'dags/zz_broken.py': 'def broken(:\n'}
    for (let i = 0; i < 400; i++) files[`dags/reporting/daily/team_a_${String(i).padStart(3, '0')}.py`] = dag(i)
    const dir = tempDir(files)
    const res = await runWithSlowReader(['validate', '--json', '--engine', 'ast'], dir, CACHE)
    expect(res.exitCode, res.stderr).toBe(1)
    const report = wholeJson(res, 'validate')
    expect(report.summary.files).toBe(401)
    expect(report.summary.errors).toBeGreaterThan(0)
  })

  it('generate --check --json with 1,500 stale files (exit 1)', async () => {
    const files: Record<string, string> = {'dagctl.yaml': 'package: team_a\n'}
    for (let i = 0; i < 1500; i++) files[`specs/s${i}.yaml`] = `name: spec_with_a_long_name_${i}\nschedule: "@daily"\ntasks:\n  start: {type: empty}\n`
    const dir = tempDir(files)
    const res = await runWithSlowReader(['generate', '--check', '--json'], dir)
    expect(res.exitCode, res.stderr).toBe(1)
    const report = wholeJson(res, 'generate --check')
    expect(report.stale).toHaveLength(1500)
  })

  describe('store commands over a package of 2,000 files', () => {
    // made once for the tests below (tempDir's folders go after each test)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dagctl-slow-reader-'))
    afterAll(() => rmSync(dir, {recursive: true, force: true}))
    beforeAll(async () => {
      const files: Record<string, string> = {'dagctl.yaml': 'package: team_a\n'}
      for (let i = 0; i < 2000; i++) files[`dags/some/deeper/folder/team_a_file_${String(i).padStart(4, '0')}.py`] = `# file ${i}\n`
      writeFiles(dir, files)
      const pub = await runCli(['publish', '--no-validate', '--json', '-m', 'many files'], {cwd: dir, timeout: 600_000})
      expect(pub.exitCode, pub.stderr).toBe(0)
    }, 600_000)

    it('list PACKAGE --json and releases --json (exit 0)', async () => {
      const list = await runWithSlowReader(['list', 'team_a', '--json'], dir)
      expect(list.exitCode, list.stderr).toBe(0)
      expect(wholeJson(list, 'list').files).toHaveLength(2000)
      const releases = await runWithSlowReader(['releases', '--json', '--verbose'], dir)
      expect(releases.exitCode, releases.stderr).toBe(0)
      expect(() => JSON.parse(releases.stdout)).not.toThrow()
    })

    it('fsck --json that found damage (exit 1)', async () => {
      // every live file gone: one damage finding per file (the contents are in packs, so removing
      // the blobs folder would make one finding per pack, too small a document for this test)
      const live = path.join(dir, '.dagctl', 'store', 'dev', 'team_a', 'dags')
      for (const b of readdirSync(live)) rmSync(path.join(live, b), {recursive: true})
      const res = await runWithSlowReader(['fsck', '--json'], dir)
      expect(res.exitCode, res.stderr).toBe(1)
      expect(wholeJson(res, 'fsck').ok).toBe(false)
    })
  })
})
