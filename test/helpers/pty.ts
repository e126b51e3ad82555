import {execa} from 'execa'

import {BIN} from './cli.js'

/**
 * Runs argv[2:] on a pseudo-terminal, types argv[1] exactly as given at the first `[y/N]` prompt,
 * echoes the terminal on stdout and exits with the child's code. On a terminal, Ctrl-C ("\x03") is a
 * keystroke readline sees, not a signal to the process.
 */
const PTY_TYPE_AT_PROMPT = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
buf = b''
typed = False
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    buf += data
    if not typed and b'[y/N]' in buf:
        os.write(fd, sys.argv[1].encode())
        typed = True
sys.stdout.write(buf.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`

export interface OnTerminalOptions {
  cwd: string
  env?: Record<string, string | undefined>
  timeoutMs?: number
}

/** Runs the built dagctl with `args` on a pseudo-terminal and types `keys` at its `[y/N]` prompt. */
export async function dagctlOnTerminal(keys: string, args: string[], options: OnTerminalOptions): Promise<{exitCode?: number; stdout: string}> {
  const result = await execa('python3', ['-c', PTY_TYPE_AT_PROMPT, keys, 'node', BIN, ...args], {
    cwd: options.cwd,
    env: {NO_COLOR: '1', ...options.env},
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
  })
  return {exitCode: result.exitCode, stdout: String(result.stdout)}
}
