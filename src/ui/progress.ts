import type {ListrTask} from 'listr2'

import type {StepRunner} from '../util/steps.js'
import {colourEnabled} from './colour.js'

/** A StepRunner that shows each step as a progress line (stderr; silent under --json). */
export function progressSteps(options: ProgressOptions): StepRunner {
  // Under --json nothing is drawn, so listr2 is not even loaded (about 15 ms of CPU on Node 20)
  if (options.json) return async (_title, run) => run(() => {})
  const tty = isInteractive()
  return async <T>(title: string, run: (report: (status: string) => void) => Promise<T>): Promise<T> => {
    const ctx: {result?: T} = {}
    await runWithProgress<typeof ctx>(
      [{title, task: async (c, task) => void (c.result = await run(throttleStatus((status) => (task.output = status), tty)))}],
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

/** Progress is drawn in place only when stderr, where it goes, is a terminal. */
function isInteractive(): boolean {
  return Boolean(process.stderr.isTTY)
}

/** Decile steps of an `N/M` status in a log; other statuses at most this often. */
const LOG_STATUS_EVERY_MS = 30_000

/**
 * A status that changes per file (`120/3000`) is redrawn in place on a terminal; in a log (CI, not
 * a TTY) every change would be a line, so there only each tenth of the way is printed (at most 11
 * lines), plus a line every 30 s when the tenth has not moved.
 */
export function throttleStatus(set: (status: string) => void, tty: boolean, now: () => number = Date.now): (status: string) => void {
  if (tty) return set
  let lastTenth = -1
  let lastAt = Number.NEGATIVE_INFINITY
  return (status) => {
    const fraction = /^(\d+)\/(\d+)$/.exec(status)
    const tenth = fraction ? Math.floor((Number(fraction[1]) * 10) / Math.max(1, Number(fraction[2]))) : -1
    const t = now()
    if ((fraction === null || tenth === lastTenth) && t - lastAt < LOG_STATUS_EVERY_MS) return
    lastTenth = tenth
    lastAt = t
    set(status)
  }
}

/**
 * Runs a list of steps with a progress display on stderr: the animated renderer on a TTY,
 * the simple line renderer otherwise (CI logs), silent under --json.
 *
 * listr2 9's renderers do not read `rendererOptions.processOutput`: they write through their
 * `logger` (a ListrLogger, whose default ProcessOutput is process.stdout), and the fallback renderer
 * takes `fallbackRendererOptions`, not `rendererOptions`. So both get a logger whose two outputs
 * are stderr.
 */
export async function runWithProgress<Ctx extends object>(
  tasks: ListrTask<Ctx>[],
  ctx: Ctx,
  options: ProgressOptions,
): Promise<Ctx> {
  // Loaded on first use: most commands never show progress, and every command pays for its imports.
  const {Listr, ListrLogger, ListrLogLevels, ProcessOutput} = await import('listr2')
  const logger = () => new ListrLogger({useIcons: true, processOutput: new ProcessOutput(process.stderr, process.stderr)})
  const tty = isInteractive()
  // listr2 colours by its own rule (stdout a TTY, or CI set); dagctl's is colourEnabled, for stderr
  const plain = colourEnabled(process.stderr) ? {} : {color: Object.fromEntries(Object.values(ListrLogLevels).map((level) => [level, (text: string) => text]))}
  const list = new Listr<Ctx>(tasks, {
    ctx,
    concurrent: options.concurrent ?? false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: options.json ? 'silent' : tty ? 'default' : 'simple',
    rendererOptions: {logger: logger(), ...plain},
    fallbackRenderer: options.json ? 'silent' : 'simple',
    fallbackRendererOptions: {logger: logger(), ...plain},
    // listr2 falls back when stdout is not a TTY; what counts here is stderr, where progress goes
    fallbackRendererCondition: !tty,
  } as never)
  return list.run()
}
