import {distance} from 'fastest-levenshtein'

/**
 * The command a mistyped one most likely meant (`publsh` → `publish`, `setup python` →
 * `python setup`), or undefined when nothing is close enough to be a useful guess.
 */
export function suggestCommand(typed: string, commands: string[]): string | undefined {
  const words = typed.trim().split(/\s+/)
  const forms = [words.join(' '), [...words].reverse().join(' ')]
  let best: {command: string; cost: number} | undefined
  for (const command of commands) {
    const cost = Math.min(...forms.map((f) => distance(f, command)))
    if (!best || cost < best.cost) best = {command, cost}
  }
  if (!best) return undefined
  return best.cost <= Math.max(2, Math.floor(best.command.length / 3)) ? best.command : undefined
}
