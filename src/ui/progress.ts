import type {ListrTask} from 'listr2'

import type {StepRunner} from '../util/steps.js'

/** A StepRunner that shows each step as a progress line (stderr; silent under --json). */
export function progressSteps(options: ProgressOptions): StepRunner {
  return async <T>(title: string, run: (report: (status: string) => void) => Promise<T>): Promise<T> => {
    const ctx: {result?: T} = {}
    await runWithProgress<typeof ctx>(
      [{title, task: async (c, task) => void (c.result = await run((status) => (task.output = status)))}],
      ctx,
      options,
    )
    return ctx.result as T
  }
}

export interface ProgressOptions {
  /** --json: nothing but the JSON result may reach stdout, so progress is silent */
  json: boolean
  concurrent?: boolean | number
}

/**
 * Runs a list of steps with a progress display on stderr: the animated renderer on a TTY,
 * the simple line renderer otherwise (CI logs), silent under --json.
 */
export async function runWithProgress<Ctx extends object>(
  tasks: ListrTask<Ctx>[],
  ctx: Ctx,
  options: ProgressOptions,
): Promise<Ctx> {
  // Loaded on first use: most commands never show progress, and every command pays for its imports.
  const {Listr, ProcessOutput} = await import('listr2')
  const isTTY = Boolean(process.stderr.isTTY)
  const list = new Listr<Ctx>(tasks, {
    ctx,
    concurrent: options.concurrent ?? false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: options.json ? 'silent' : isTTY ? 'default' : 'simple',
    fallbackRenderer: options.json ? 'silent' : 'simple',
    rendererOptions: {processOutput: new ProcessOutput(process.stderr, process.stderr)},
  } as never)
  return list.run()
}
