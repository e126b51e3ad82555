// Helpers of run.sh (the dagctl composite action): reads dagctl's --json output, writes the job
// summary (Markdown) and step outputs. `store` prints the store dagctl.yaml names for the selected
// environment (nothing when only the embedded default applies).
import {appendFileSync, readFileSync} from 'node:fs'

const [mode, ...args] = process.argv.slice(2)

if (mode === 'store') {
  const c = JSON.parse(readFileSync(0, 'utf8'))
  const fromFile = c.sources[`environments.${c.env}.store`] !== 'default'
  process.stdout.write(fromFile ? String(c.config.environments?.[c.env]?.store ?? '') : '')
} else if (mode === 'publish') {
  const [resultFile, summaryFile, outputFile] = args
  const text = readFileSync(resultFile, 'utf8')
  let r
  try {
    r = JSON.parse(text)
  } catch {
    r = undefined
  }
  const lines = ['## dagctl publish', '']
  if (!r || r.error) {
    const e = r?.error ?? {message: 'dagctl printed no result'}
    lines.push(`**Failed**: ${e.message}${e.exitCode === undefined ? '' : ` (exit ${e.exitCode})`}`)
    if (e.hint) lines.push('', e.hint)
    console.error(`dagctl publish failed: ${e.message}`)
  } else {
    const head = r.release ?? r.parent
    lines.push(
      r.release === null
        ? `Nothing changed: release ${r.parent} of \`${r.package}\` stays current in **${r.env}**.`
        : `Published release **${r.release}** of \`${r.package}\` to **${r.env}** (previous: ${r.parent ?? 'none'}).`,
      '',
      `Store: \`${r.store}\``,
      '',
      '| change | file |',
      '| --- | --- |',
      ...r.diff.added.map((f) => `| added | \`${f}\` |`),
      ...r.diff.changed.map((f) => `| changed | \`${f}\` |`),
      ...r.diff.removed.map((f) => `| removed | \`${f}\` |`),
      '',
      `${r.diff.added.length} added, ${r.diff.changed.length} changed, ${r.diff.removed.length} removed, ${r.diff.unchanged} unchanged.`,
    )
    appendFileSync(outputFile, `release=${r.release ?? ''}\ncurrent=${head ?? ''}\n`)
    console.log(r.release === null ? `Nothing changed: release ${r.parent} stays current.` : `Published release ${r.release} of ${r.package} to ${r.env}.`)
  }
  appendFileSync(summaryFile, lines.join('\n') + '\n')
} else {
  console.error(`summary.mjs: unknown mode ${mode}`)
  process.exit(2)
}
