import {Listr, ListrTask, ProcessOutput} from 'listr2'

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
