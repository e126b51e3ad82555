import {execa} from 'execa'
import path from 'node:path'

import {budget} from './budget.js'

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..')
export const BIN = path.join(REPO_ROOT, 'bin', 'run.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON (for --json runs) */
  json<T = any>(): T
}

/** Runs the built binary (dist/, as a user gets it) in a child process. */
export async function runCli(args: string[], options: {cwd?: string; env?: Record<string, string | undefined>; input?: string; timeout?: number} = {}): Promise<CliResult> {
  const result = await execa('node', [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: {NO_COLOR: '1', ...options.env},
    input: options.input ?? '',
    reject: false,
    timeout: options.timeout ?? budget(120_000),
  })
  return {
    exitCode: result.exitCode ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
    json() {
      try {
        return JSON.parse(result.stdout)
      } catch (error) {
        throw new Error(`stdout is not JSON (${(error as Error).message}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`)
      }
    },
  }
}
