import {readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '..', '..')

/** GitHub's heading anchors: lower case, punctuation dropped (hyphens kept), spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function headings(markdown: string): Set<string> {
  const out = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line)
    if (m) out.add(slug(m[1]))
  }
  return out
}

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name)
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(name) ? [p] : []
  })
}

describe('hints and docs that point into docs/runbook.md', () => {
  const anchors = headings(readFileSync(path.join(ROOT, 'docs', 'runbook.md'), 'utf8'))
  const sources = [...files(path.join(ROOT, 'src'), /\.ts$/), ...files(path.join(ROOT, 'docs'), /\.md$/), path.join(ROOT, 'README.md')]

  it('the slugger matches GitHub on the runbook\'s own headings', () => {
    expect(anchors).toContain('1-see-what-is-current')
    expect(anchors).toContain('the-live-tree-lags-head')
    expect(anchors).toContain('s3-credentials-are-missing-or-refused')
    expect(anchors).not.toContain('or-compare-any-two-releases')
  })

  it('every mention of the runbook in src/ names a section (docs/runbook.md#anchor) that exists', () => {
    const refs: string[] = []
    for (const file of sources) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/runbook\.md(#[A-Za-z0-9_-]*)?/g)) {
        const where = `${path.relative(ROOT, file)}: ${m[0]}`
        refs.push(where)
        // In code every hint names its section; docs may link the whole runbook.
        if (file.endsWith('.ts')) expect(m[1], `${where} names no section`).toBeDefined()
        if (m[1]) expect(anchors, `${where}: no heading with that anchor in docs/runbook.md`).toContain(m[1].slice(1))
      }
    }
    expect(refs.length).toBeGreaterThan(5)
  })
})
