import {execFileSync} from 'node:child_process'

/** git in `dir`, with an identity of its own (CI machines often have none); its output, trimmed. */
export function gitIn(dir: string): (...args: string[]) => string {
  return (...args) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {cwd: dir, encoding: 'utf8'}).trim()
}
