import {RemoteError, UsageError} from '../errors.js'
import type {StepRunner} from '../util/steps.js'
import {firstLine, toolBinary, type RunOptions, type RunResult, type ToolName, type ToolRunner} from './tools.js'

/** One command a kind or prod step runs (what --dry-run prints), with its arguments as given to the program. */
export interface PlannedCommand {
  tool: ToolName
  argv: string[]
  /** why it runs, for people */
  what: string
  /** runs only when needed (e.g. `kind create cluster` when the cluster does not exist yet) */
  when?: string
}

/**
 * Runs the kind/prod profiles' commands, and records each. Under --dry-run it runs nothing that
 * changes anything: `change` calls are only recorded; `read` calls (versions, the current
 * context, `kind get clusters`, `helm status`) still run so that the plan is the real one.
 */
export class Executor {
  readonly commands: PlannedCommand[] = []

  constructor(
    readonly env: NodeJS.ProcessEnv,
    private readonly runner: ToolRunner,
    readonly dryRun: boolean,
    private readonly steps: StepRunner,
  ) {}

  argv(tool: ToolName, args: string[]): string[] {
    return [toolBinary(tool, this.env), ...args]
  }

  /** A read-only query; runs in --dry-run too. */
  read(tool: ToolName, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return this.runner(toolBinary(tool, this.env), args, {...options, env: this.childEnv(options)})
  }

  /** A command that changes something: recorded; run unless --dry-run; a failure is an error naming it. */
  async change(tool: ToolName, args: string[], what: string, options: RunOptions & {when?: string; ok?: number[]; onFailure?: (r: RunResult, argv: string[]) => Error} = {}): Promise<RunResult> {
    const argv = this.argv(tool, args)
    this.commands.push({tool, argv, what, ...(options.when ? {when: options.when} : {})})
    if (this.dryRun) return {exitCode: 0, stdout: '', stderr: ''}
    return this.steps(what, async () => {
      const r = await this.runner(argv[0]!, args, {...options, env: this.childEnv(options)})
      if (!(options.ok ?? [0]).includes(r.exitCode)) throw (options.onFailure ?? toolFailed)(r, argv)
      return r
    })
  }

  private childEnv(options: RunOptions): Record<string, string> | undefined {
    return options.env ? {...(this.env as Record<string, string>), ...options.env} : (this.env as Record<string, string>)
  }
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

export function commandLine(argv: string[]): string {
  return argv.map((a) => shellQuote(a)).join(' ')
}

/** A program dagctl drove failed: exit 4, its last words in the message. */
export function toolFailed(r: RunResult, argv: string[]): Error {
  const tail = (r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n')
  return new RemoteError(`\`${commandLine(argv.slice(0, 4))}${argv.length > 4 ? ' …' : ''}\` failed (exit ${r.exitCode}): ${tail || 'no output'}`, {
    code: 'TOOL_FAILED',
    hint: `Read its output above; run \`${commandLine(argv)}\` yourself to see it whole, fix the cause, then run the dagctl command again (cluster up is safe to repeat).`,
    details: {argv, exitCode: r.exitCode},
  })
}

/**
 * helm failed. When the API server refused an object (`... is invalid: spec.template.spec...: Not
 * found`), the values are at fault, not the cluster: exit 2, the API server's words, the values files.
 */
export function helmFailed(valuesFiles: string[]) {
  return (r: RunResult, argv: string[]): Error => {
    const text = (r.stderr || r.stdout).trim()
    if (/\bis invalid: /.test(text) || /\bfield is immutable\b/.test(text)) {
      const refused = text.split('\n').filter((l) => /is invalid|Invalid value|Not found|Required value|Unsupported value/.test(l) && !/^Warning/.test(l)).map((l) => l.replace(/^Error( from server \(Invalid\))?: /, '').replace(/^error when creating "STDIN": /, '').replace(/^\* /, '').replace(/:$/, '').trim())
      return new UsageError(`the Kubernetes API server refused what the values render to: ${refused.join('; ') || firstLine(text)}`, {
        code: 'CLUSTER_VALUES_REFUSED',
        hint: `A values file makes an object Kubernetes does not accept (the field path says where, e.g. a volume mount naming no volume): fix it in ${valuesFiles.join(', ')}; \`helm template\` does not catch these, the API server does.`,
        details: {argv, refused},
      })
    }
    return toolFailed(r, argv)
  }
}
