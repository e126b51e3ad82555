import {Command, Errors, Flags, Interfaces} from '@oclif/core'

import {readCachedConfig} from './config/cache.js'
import {DEFAULT_ENV, overrideLayers, type LoadConfigOptions, type Override, type ResolvedConfig} from './config/resolved.js'
import {DagctlError, ExitCode, UsageError} from './errors.js'
import {renderError} from './ui/render-error.js'
import {progressSteps} from './ui/progress.js'
import {flushOutput} from './ui/streams.js'
import type {StepRunner} from './util/steps.js'

/**
 * The full config load (yaml, zod: config/load.ts), imported by init() only when the cache
 * (config/cache.ts) has no valid entry, so that a warm start loads neither library.
 */
let fullLoad: ((options: LoadConfigOptions) => ResolvedConfig) | undefined

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * The one base of every command: --json (the result returned from run()), --verbose, --config,
 * config loading, progress that stays off stdout and silent under --json, and errors mapped to
 * the documented exit codes, --json included.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    verbose: Flags.boolean({
      summary: 'Show more detail, and the stack trace of an error.',
      helpGroup: 'GLOBAL',
    }),
    config: Flags.string({
      summary: 'Path to dagctl.yaml (default: the nearest one from the current folder upwards).',
      env: 'DAGCTL_CONFIG',
      helpGroup: 'GLOBAL',
    }),
  }

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  /** every positional argument, for commands with `strict = false` (validate's files) */
  protected positionals!: string[]

  public override async init(): Promise<void> {
    await super.init()
    const {args, argv: positionals, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    this.positionals = positionals as string[]
    // loadConfig() is synchronous: the full load is imported now, unless the cache answers (an
    // error it answers with, such as an unknown --env, is the command's to report when it loads)
    if (!fullLoad && !this.cacheAnswers()) fullLoad = (await import('./config/load.js')).loadConfig
  }

  /** what the cache answered in init(), for the same overrides: kept in case the entry goes before run() asks again */
  private answered?: {overrides: string; resolved: ResolvedConfig}

  private cacheAnswers(): boolean {
    const options = this.configOptions()
    try {
      const resolved = readCachedConfig(options)
      if (resolved) this.answered = {overrides: JSON.stringify(overrideLayers(options)), resolved}
      return resolved !== undefined
    } catch (error) {
      // a ConfigError from the cached answer (an unknown --env) is the answer; anything else is not
      return error instanceof DagctlError
    }
  }

  /**
   * dagctl.yaml + extends + DAGCTL_* + the given flag overrides, and --store / --airflow-url when
   * the command has them. A command that takes --env gets only an environment that exists:
   * defined in dagctl.yaml (or its extends chain), the implicit dev, or given in full by what the
   * command needs (--store / DAGCTL_STORE for the store commands, --airflow-url /
   * DAGCTL_AIRFLOW_URL for the Airflow ones); any other name is exit 2 listing those that exist.
   */
  protected loadConfig(extra: Override[] = []): ResolvedConfig {
    const options = this.configOptions(extra)
    const cached = readCachedConfig(options)
    if (cached) return cached
    if (fullLoad) return fullLoad(options)
    // init() found an entry that is gone now (an edit of dagctl.yaml since, a prune by another run):
    // its answer stands, as if this run had read the files a moment earlier
    if (this.answered && this.answered.overrides === JSON.stringify(overrideLayers(options))) return this.answered.resolved
    throw new Error('dagctl: the configuration loader was not imported (BaseCommand.init saw other overrides)')
  }

  private configOptions(extra: Override[] = []): LoadConfigOptions {
    const flags = this.flags as Record<string, unknown>
    const declared = this.ctor.flags ?? {}
    const envName = typeof flags.env === 'string' ? flags.env : undefined
    const env = envName ?? DEFAULT_ENV
    const overrides: Override[] = [...extra]
    if (typeof flags.store === 'string') overrides.push({path: ['environments', env, 'store'], value: flags.store, source: 'flag --store'})
    if (typeof flags['airflow-url'] === 'string') {
      overrides.push({path: ['environments', env, 'airflow', 'url'], value: flags['airflow-url'], source: 'flag --airflow-url'})
    }
    const completeWith = [...('store' in declared ? [['store']] : []), ...('airflow-url' in declared ? [['airflow', 'url']] : [])]
    return {
      configPath: flags.config as string | undefined,
      envName,
      flagOverrides: overrides,
      requireEnvironment: 'env' in declared ? {completeWith} : undefined,
      // a command's --no-cache (validate) means no cache at all: neither read nor written
      cache: flags.cache !== false,
    }
  }

  /** A StepRunner for the core's long operations: a progress line per step on stderr, silent under --json. */
  protected steps(): StepRunner {
    return progressSteps({json: this.jsonEnabled()})
  }

  /**
   * A line for people on stderr: progress, a diff shown before writing, a note or warning (never
   * the result, which goes to stdout with this.log); silent under --json.
   */
  protected note(message: string): void {
    if (!this.jsonEnabled()) this.logToStderr(message)
  }

  /**
   * Warnings (oclif's deprecation of an old flag spelling among them) go to stderr under --json too:
   * stdout stays the one JSON document, and the CI jobs that run with --json are the ones that must
   * learn about the new spelling.
   */
  public override warn(input: string | Error): string | Error {
    Errors.warn(input)
    return input
  }

  /**
   * A result that is also a failure (validate found errors, fsck found damage, doctor found a gap):
   * under --json the result stays the whole of stdout and the exit code says it failed; for people,
   * the error and its hint go to stderr after whatever the command printed.
   */
  protected failWithResult(result: object, error: DagctlError): never {
    if (this.jsonEnabled()) {
      this.logJson(result)
      this.exit(error.exitCode)
    }
    throw error
  }

  /**
   * Every error ends here: the exit code of docs/exit-codes.md, a hint, no stack trace unless
   * --verbose. oclif exits the process right after this: stdout and stderr are drained first, so
   * a slow reader of a pipe still gets the whole document.
   */
  public override async catch(error: Error & {exitCode?: number}): Promise<never> {
    if (error instanceof Errors.ExitError) {
      await flushOutput()
      throw error
    }
    const err = toDagctlError(error)
    const verbose = Boolean((this.flags as Record<string, unknown> | undefined)?.verbose) || process.argv.includes('--verbose')
    if (this.jsonEnabled()) {
      this.logJson({error: err instanceof DagctlError ? err.toJSON() : {name: 'Error', message: err.message, exitCode: ExitCode.CHECK_FAILED}})
    } else {
      this.logToStderr(renderError(err, verbose))
    }
    await flushOutput()
    this.exit(err instanceof DagctlError ? err.exitCode : ExitCode.CHECK_FAILED)
  }
}

/** oclif's own parse errors (unknown flag, missing arg) are usage errors: exit 2 with a hint. */
function toDagctlError(error: Error): Error {
  if (error instanceof DagctlError) return error
  if (error instanceof Errors.CLIError) {
    const message = error.message.replace(/\n\s*See more help with --help$/, '')
    return new UsageError(message, {hint: 'Run the command with --help to see its flags and examples.'})
  }
  return error
}
