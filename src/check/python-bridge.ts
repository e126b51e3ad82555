import {spawn, type ChildProcess} from 'node:child_process'
import path from 'node:path'

import {DagctlError, ExitCode, UsageError} from '../errors.js'

/** The Python helpers dagctl ships (python/ at the package root, beside dist/). */
export const PYTHON_DIR = path.resolve(import.meta.dirname, '..', '..', 'python')

export const DEFAULT_PYTHON = process.platform === 'win32' ? 'python' : 'python3'

const PYTHON_HINT = 'Install python3, or name an interpreter with `python:` in dagctl.yaml, DAGCTL_PYTHON, or --python PATH.'

/** What the helper says when it cannot do the job (see the protocol in python/dagctl_validate/protocol.py). */
interface HelperError {
  error: {code: string; message: string; hint?: string}
}

export interface PythonRunner {
  (file: string, args: string[], options: {input: string; timeout?: number; reject: false; maxBuffer: number; env?: Record<string, string>}): Promise<{
    exitCode?: number
    stdout: string
    stderr: string
    failed: boolean
    code?: string
    timedOut?: boolean
  }>
}

/**
 * The default runner: node:child_process (loading execa's ESM graph cost ~60 ms of a validate's
 * start, more than anything else between the config and the helper's first byte).
 */
const runWithSpawn: PythonRunner = (file, args, options) => {
  const started = spawnHelper(file, args, options)
  started.write(options.input)
  started.end()
  return started.result
}

interface Spawned {
  write(text: string): void
  end(): void
  kill(): void
  /** whether the process (and its pipes) keeps dagctl running: off for a speculative start (see speculate) */
  ref(on: boolean): void
  /** resolves with the first line of stdout (undefined when the process ended first) */
  firstLine: Promise<string | undefined>
  result: ReturnType<PythonRunner>
}

/** Helpers still running: killed if dagctl exits first (a second Ctrl-C), as execa's `cleanup` did. */
const running = new Set<ChildProcess>()
let exitHook = false

function spawnHelper(file: string, args: string[], options: {timeout?: number; maxBuffer: number; env?: Record<string, string>}): Spawned {
  const child = spawn(file, args, {stdio: ['pipe', 'pipe', 'pipe'], ...(options.env ? {env: {...process.env, ...options.env}} : {})})
  running.add(child)
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL')
    })
  }
  const out: Buffer[] = []
  const err: Buffer[] = []
  let size = 0
  let overflow = false
  let timedOut = false
  let lineDone = false
  let resolveLine: (line: string | undefined) => void = () => {}
  const firstLine = new Promise<string | undefined>((resolve) => (resolveLine = resolve))
  child.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > options.maxBuffer) {
      overflow = true
      child.kill('SIGKILL')
      return
    }
    out.push(chunk)
    if (!lineDone && chunk.includes(10)) {
      const all = Buffer.concat(out)
      lineDone = true
      resolveLine(all.subarray(0, all.indexOf(10)).toString('utf8'))
    }
  })
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  // a helper that exits before reading its input (a missing interpreter, a crash) is reported below
  child.stdin.on('error', () => {})
  const timer = options.timeout ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), options.timeout) : undefined
  const result = new Promise<Awaited<ReturnType<PythonRunner>>>((resolve) => {
    let spawnError: NodeJS.ErrnoException | undefined
    child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e))
    child.on('close', (code) => {
      running.delete(child)
      if (timer) clearTimeout(timer)
      if (!lineDone) resolveLine(undefined)
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8') + (overflow ? `\nstdout exceeded ${options.maxBuffer} bytes` : '')
      resolve({
        exitCode: spawnError ? undefined : (code ?? undefined),
        stdout,
        stderr,
        failed: spawnError !== undefined || code !== 0 || timedOut || overflow,
        ...(spawnError?.code ? {code: spawnError.code} : {}),
        timedOut,
      })
    })
  })
  return {
    write: (text) => void child.stdin.write(text),
    end: () => child.stdin.end(),
    kill: () => child.kill('SIGKILL'),
    ref: (on) => {
      // the pipes are net.Sockets, which the stream types do not say
      for (const handle of [child, child.stdin, child.stdout, child.stderr] as unknown as Array<{ref(): void; unref(): void}>) {
        if (on) handle.ref()
        else handle.unref()
      }
    },
    firstLine,
    result,
  }
}

/**
 * A helper started on a guess, before the configuration that decides how to run it is read (see
 * src/check/speculate.ts), with the exact command line, environment and options it was started
 * with. At most one; it keeps nothing running while unclaimed, and dies with dagctl (the exit hook).
 */
let speculative: {key: string; child: Spawned} | undefined

function spawnKey(file: string, args: string[], options: {timeout?: number; maxBuffer: number; env?: Record<string, string>}): string {
  return JSON.stringify([file, args, options.timeout ?? null, options.maxBuffer, options.env ?? null])
}

/**
 * The speculative helper when it was started exactly as this call would start it (the same
 * interpreter, arguments, environment, timeout and buffer limit): then it is the process this call
 * would have spawned, only started earlier. Any other speculative helper is killed, unread.
 */
function claimSpeculative(file: string, args: string[], options: {timeout?: number; maxBuffer: number; env?: Record<string, string>}): Spawned | undefined {
  const guess = speculative
  speculative = undefined
  if (!guess) return undefined
  if (guess.key !== spawnKey(file, args, options)) {
    guess.child.kill()
    return undefined
  }
  guess.child.ref(true)
  return guess.child
}

/** A helper started before its request is known (see PythonBridge.start). */
export interface StartedCall<T> {
  /** with `hello`: the helper's first answer line, parsed (undefined when it gave none) */
  hello(): Promise<unknown>
  /** sends the (rest of the) request and waits for the answer */
  send(request: unknown): Promise<T>
  /** no request after all: ends the helper (it parses nothing) */
  close(): Promise<void>
}

/**
 * Runs one of dagctl's Python helpers with a JSON request on stdin and reads one JSON answer from
 * stdout. One process per call, whatever the number of files. The interpreter and the process
 * runner are injected so a unit test can swap either edge.
 */
export class PythonBridge {
  constructor(
    readonly python: string = DEFAULT_PYTHON,
    private readonly scriptDir: string = PYTHON_DIR,
    private readonly runner?: PythonRunner,
  ) {}

  async call<T>(script: string, request: unknown, options: CallOptions = {}): Promise<T> {
    return this.start<T>(script, options).send(request)
  }

  /**
   * Starts the helper now, so that the interpreter's start and its imports overlap with what the
   * caller still has to do (collect the files, read the store); the request follows with send().
   * With `prelude`, that JSON line is written at once and the helper is run with --hello: its first
   * answer line (hello()) comes before the rest of the request is needed. An injected runner starts
   * nothing until send() (and has no hello).
   */
  start<T>(script: string, options: CallOptions & {prelude?: unknown} = {}): StartedCall<T> {
    const {args, runOptions} = this.invocation(script, options)
    if (this.runner) {
      const runner = this.runner
      return {
        hello: async () => undefined,
        send: async (request) => this.read<T>(script, options, await runner(this.python, args.filter((a) => a !== '--hello'), {...runOptions, input: JSON.stringify(options.prelude === undefined ? request : {...(options.prelude as object), ...(request as object)})})),
        close: async () => {},
      }
    }
    const child = claimSpeculative(this.python, args, runOptions) ?? spawnHelper(this.python, args, runOptions)
    if (options.prelude !== undefined) child.write(`${JSON.stringify(options.prelude)}\n`)
    let sent = false
    return {
      hello: async () => {
        const line = await child.firstLine
        try {
          return line === undefined ? undefined : (JSON.parse(line) as {hello?: unknown}).hello
        } catch {
          return undefined
        }
      },
      send: async (request) => {
        sent = true
        child.write(JSON.stringify(request))
        child.end()
        const result = await child.result
        if (options.prelude !== undefined && !result.failed) {
          // the first line was the hello
          const nl = result.stdout.indexOf('\n')
          return this.read<T>(script, options, {...result, stdout: nl < 0 ? result.stdout : result.stdout.slice(nl + 1)})
        }
        return this.read<T>(script, options, result)
      },
      close: async () => {
        if (sent) return
        sent = true
        child.end()
        await child.result
      },
    }
  }

  /**
   * Starts the helper as start() would with these options, before the caller knows it needs it
   * (src/check/speculate.ts: validate's helper before oclif and the configuration load). The next
   * start() of this process takes it over when it would run exactly the same command; otherwise it
   * is killed then. It never keeps dagctl running, and never writes a byte until taken over.
   */
  speculate(script: string, options: CallOptions = {}): void {
    // a timeout runs from the spawn: a helper that has one is started when it is needed
    if (this.runner || options.timeoutMs !== undefined) return
    const {args, runOptions} = this.invocation(script, options)
    speculative?.child.kill()
    const child = spawnHelper(this.python, args, runOptions)
    child.ref(false)
    speculative = {key: spawnKey(this.python, args, runOptions), child}
  }

  private invocation(script: string, options: CallOptions & {prelude?: unknown}) {
    const scriptPath = path.join(this.scriptDir, script)
    const args = [...(options.interpreterArgs ?? []), scriptPath, ...(options.args ?? []), ...(options.prelude === undefined ? [] : ['--hello'])]
    const runOptions = {timeout: options.timeoutMs, reject: false as const, maxBuffer: 512 * 1024 * 1024, ...(options.env ? {env: options.env} : {})}
    return {args, runOptions}
  }

  private read<T>(script: string, options: CallOptions, result: Awaited<ReturnType<PythonRunner>>): T {
    if (result.code === 'ENOENT' || result.code === 'EACCES' || (result.failed && result.exitCode === undefined && !result.timedOut)) {
      throw new UsageError(`cannot run the Python interpreter '${this.python}'${result.code ? ` (${result.code})` : ''}`, {
        code: 'PYTHON_MISSING',
        hint: PYTHON_HINT,
      })
    }
    if (result.timedOut) {
      throw new DagctlError(`the Python helper ${script} did not finish within ${Math.round((options.timeoutMs ?? 0) / 1000)}s`, ExitCode.TIMEOUT, {code: 'TIMEOUT'})
    }
    let answer: unknown
    try {
      answer = JSON.parse(result.stdout)
    } catch {
      const tail = result.stderr.trim().split('\n').slice(-6).join('\n')
      // 127: a wrapper (pyenv shim, env) found no such interpreter
      if (result.exitCode === 127 || /command not found/.test(tail)) {
        throw new UsageError(`cannot run the Python interpreter '${this.python}': ${tail}`, {code: 'PYTHON_MISSING', hint: PYTHON_HINT})
      }
      if (/SyntaxError/.test(tail) && tail.includes(script)) {
        // Python 2 or a Python 3 too old to even read the helper
        throw new UsageError(`the Python interpreter '${this.python}' is too old to run dagctl's helper`, {code: 'PYTHON_TOO_OLD', hint: 'Point --python (or DAGCTL_PYTHON, or `python:` in dagctl.yaml) at Python 3.8 or newer.'})
      }
      throw new DagctlError(`the Python helper ${script} failed (exit ${result.exitCode}):\n${tail || result.stdout.slice(0, 500)}`, ExitCode.CHECK_FAILED, {
        code: 'PYTHON_HELPER_FAILED',
        hint: `Check that '${this.python}' is Python 3.8 or newer; re-run with --verbose and report the error if it persists.`,
      })
    }
    if (isHelperError(answer)) {
      throw new UsageError(answer.error.message, {code: answer.error.code, hint: answer.error.hint})
    }
    return answer as T
  }
}

interface CallOptions {
  timeoutMs?: number
  args?: string[]
  env?: Record<string, string>
  interpreterArgs?: string[]
}

function isHelperError(value: unknown): value is HelperError {
  return typeof value === 'object' && value !== null && 'error' in value && typeof (value as HelperError).error?.message === 'string'
}
