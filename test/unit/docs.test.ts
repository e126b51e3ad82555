import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import picomatch from 'picomatch'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'
import {repositoryFiles} from '../helpers/repo-files.js'

/**
 * The docs say only true things about the repository: every `dagctl ...` invocation in code (inline
 * code and fenced blocks of docs/*.md and README.md) names a command that exists with flags it
 * takes, every flag quoted on its own belongs to some command, and every repository path, relative
 * link and link anchor exists. Commands and flags come from the built oclif.manifest.json (`npm run
 * build`), so the check follows the code as commands and flags are added.
 */

interface ManifestFlag {
  name: string
  char?: string
  aliases?: string[]
  charAliases?: string[]
  allowNo?: boolean
}
interface ManifestCommand {
  id: string
  aliases?: string[]
  hiddenAliases?: string[]
  flags: Record<string, ManifestFlag>
  examples?: Array<string | {command: string}>
}

/** Flags oclif answers for every command without declaring them. */
const BUILT_IN_LONG = new Set(['help'])
const BUILT_IN_SHORT = new Set(['h'])
/** What `dagctl` takes before any command. */
const ROOT_FLAGS = new Set(['--help', '-h', '--version'])

export interface Cli {
  commands: Map<string, ManifestCommand>
  topics: Set<string>
}

/** The commands of the oclif plugins package.json wires in (e.g. `dagctl autocomplete`), from their own manifests. */
function pluginCommands(root: string): ManifestCommand[] {
  const pkgFile = path.join(root, 'package.json')
  if (!existsSync(pkgFile)) return []
  const plugins = ((JSON.parse(readFileSync(pkgFile, 'utf8')) as {oclif?: {plugins?: string[]}}).oclif?.plugins ?? [])
  return plugins.flatMap((name) => {
    const file = path.join(root, 'node_modules', name, 'oclif.manifest.json')
    return existsSync(file) ? Object.values((JSON.parse(readFileSync(file, 'utf8')) as {commands: Record<string, ManifestCommand>}).commands) : []
  })
}

export function loadCli(root = REPO_ROOT): Cli {
  const file = path.join(root, 'oclif.manifest.json')
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`)
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as {commands: Record<string, ManifestCommand>}
  const commands = new Map<string, ManifestCommand>()
  const topics = new Set<string>()
  for (const command of [...pluginCommands(root), ...Object.values(manifest.commands)]) {
    for (const id of [command.id, ...(command.aliases ?? []), ...(command.hiddenAliases ?? [])]) {
      commands.set(id, command)
      const parts = id.split(':')
      for (let i = 1; i < parts.length; i++) topics.add(parts.slice(0, i).join(':'))
    }
  }
  return {commands, topics}
}

// ---------------------------------------------------------------------------------------------
// Markdown: the code in a document (inline spans and fenced blocks) and its links, by line.

export interface Piece {
  line: number
  text: string
  /** an inline code span (not a line of a fenced block) */
  inline?: boolean
}
export interface DocParts {
  /** inline code spans, and fenced blocks' lines (a trailing `\` joins the next line) */
  code: Piece[]
  /** the targets of `[text](target)` outside code */
  links: Piece[]
  /** the GitHub anchors of the document's headings */
  anchors: Set<string>
}

export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/**
 * What a doc may show on purpose although it does not exist (a typo and dagctl's answer to it): the
 * line that carries this comment is not checked; on the line before a fenced block, the whole block.
 */
export const IGNORE = '<!-- docs-check: ignore -->'

export function parseMarkdown(text: string): DocParts {
  const code: Piece[] = []
  const links: Piece[] = []
  const anchors = new Set<string>()
  const lines = text.split('\n')
  let fence: string | undefined
  let ignoredFence = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const fenceMark = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence !== undefined) {
      if (fenceMark && fenceMark[1][0] === fence[0] && fenceMark[1].length >= fence.length) {
        fence = undefined
        continue
      }
      let joined = line
      const start = i
      while (joined.endsWith('\\') && i + 1 < lines.length) joined = joined.slice(0, -1) + ' ' + lines[++i]
      if (!ignoredFence) code.push({line: start + 1, text: joined})
      continue
    }
    if (fenceMark) {
      fence = fenceMark[1]
      ignoredFence = i > 0 && lines[i - 1].includes(IGNORE)
      continue
    }
    if (line.includes(IGNORE)) continue
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (heading) anchors.add(slug(heading[1]))
    // inline code spans: a run of N backticks closes at the next run of exactly N
    let prose = ''
    let at = 0
    const spanRe = /(`+)([\s\S]*?[^`])\1(?!`)/g
    for (let m = spanRe.exec(line); m; m = spanRe.exec(line)) {
      prose += line.slice(at, m.index) + ' '
      code.push({line: i + 1, text: m[2].trim(), inline: true})
      at = m.index + m[0].length
    }
    prose += line.slice(at)
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({line: i + 1, text: m[1]})
  }
  return {code, links, anchors}
}

// ---------------------------------------------------------------------------------------------
// Invocations: `dagctl ...` (or bin/run.js ...) in code, as a shell reads the words.

/** The words of a command line up to the first control operator, redirection or comment. */
export function shellWords(text: string): string[] {
  const words: string[] = []
  let word: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1)
      const stop = end === -1 ? text.length : end
      word = (word ?? '') + text.slice(i + 1, stop)
      i = stop
      continue
    }
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word)
      word = undefined
      continue
    }
    if ('|&;<>()`'.includes(c) || (c === '#' && word === undefined)) break
    word = (word ?? '') + c
  }
  if (word !== undefined) words.push(word)
  // `2>file` ends the command too: drop a trailing fd number of a redirection
  if (words.length > 0 && /^\d$/.test(words.at(-1)!) && /\d[<>]/.test(text)) words.pop()
  return words
}

const PROGRAM = /(?<![\w./~$-])(dagctl|(?:\.\.?\/)+bin\/(?:run|dev)\.js)(?=\s|$)/g

/** Every invocation of dagctl in one piece of code, as its words after the program name. */
export function invocations(code: string): string[][] {
  const found: string[][] = []
  for (const m of code.matchAll(PROGRAM)) found.push(shellWords(code.slice(m.index + m[0].length)))
  return found
}

/** A word that stands for something (`<command>`, `DAG_ID`, `...`), not a literal command name. */
const placeholder = (word: string) => /^[<[{]|^[A-Z][A-Z0-9_]*$|\.\.\./.test(word)

/** What is wrong with one invocation, if anything. */
export function checkInvocation(cli: Cli, words: string[]): string | undefined {
  if (words.length === 0) return undefined
  if (words[0].startsWith('-')) {
    return ROOT_FLAGS.has(words[0]) ? undefined : `\`${words[0]}\` is not a flag of dagctl itself`
  }
  // @oclif/plugin-help's command (not in dagctl's own manifest): `dagctl help [COMMAND...]`
  if (words[0] === 'help') return words.length === 1 ? undefined : checkInvocation(cli, words.slice(1).filter((w) => !w.startsWith('-')))
  let command: ManifestCommand | undefined
  let used = 0
  for (let k = 1; k <= words.length && !words[k - 1].startsWith('-'); k++) {
    const id = words.slice(0, k).join(':')
    if (cli.commands.has(id)) {
      command = cli.commands.get(id)
      used = k
    }
  }
  if (!command) {
    if (placeholder(words[0])) return undefined
    // a topic alone (`dagctl python`) lists its commands
    let k = 0
    while (k < words.length && cli.topics.has(words.slice(0, k + 1).join(':'))) k++
    if (k > 0 && (k === words.length || words[k].startsWith('-'))) return undefined
    const named = words.slice(0, Math.max(k + 1, 1)).join(' ')
    return `no command \`${named}\``
  }
  const flags = Object.values(command.flags)
  const long = new Set(BUILT_IN_LONG)
  const short = new Set(BUILT_IN_SHORT)
  for (const f of flags) {
    for (const name of [f.name, ...(f.aliases ?? [])]) {
      long.add(name)
      if (f.allowNo) long.add(`no-${name}`)
    }
    for (const c of [f.char, ...(f.charAliases ?? [])]) if (c) short.add(c)
  }
  const problems: string[] = []
  for (const word of words.slice(used)) {
    if (word === '--') break
    if (word === '-' || !word.startsWith('-') || /^-\d/.test(word)) continue
    if (word.startsWith('--')) {
      const name = word.slice(2).split('=')[0]
      if (!long.has(name)) problems.push(`--${name}`)
    } else {
      for (const c of word.slice(1).split('=')[0]) if (!short.has(c)) problems.push(`-${c}`)
    }
  }
  if (problems.length === 0) return undefined
  return `\`${command.id.replaceAll(':', ' ')}\` has no flag ${problems.map((p) => `\`${p}\``).join(', ')}`
}

/** A flag quoted on its own (`--store URL`) must be a flag of some command. */
export function checkLoneFlag(cli: Cli, code: string): string | undefined {
  const m = /^(--?)([a-zA-Z][\w-]*)/.exec(code)
  if (!m) return undefined
  const known = [...cli.commands.values()].some((c) =>
    Object.values(c.flags).some((f) =>
      m[1] === '--'
        ? [f.name, ...(f.aliases ?? [])].some((n) => n === m[2] || (f.allowNo && `no-${n}` === m[2]))
        : m[2].length === 1 && [f.char, ...(f.charAliases ?? [])].includes(m[2]),
    ),
  )
  if (known || (m[1] === '--' && BUILT_IN_LONG.has(m[2])) || (m[1] === '-' && BUILT_IN_SHORT.has(m[2]))) return undefined
  return `no command has the flag \`${m[1]}${m[2]}\``
}

// ---------------------------------------------------------------------------------------------
// Paths: a word of code that starts with one of the repository's top-level folders or files, a
// bare `*.md` or `*.ts` name, and every relative link.

export interface Repo {
  root: string
  files: string[]
  dirs: Set<string>
  top: Set<string>
}

export function loadRepo(root = REPO_ROOT): Repo {
  const files = repositoryFiles(root)
  const dirs = new Set<string>()
  for (const f of files) {
    const parts = f.split('/')
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  // what `npm run build` writes is named in docs as well
  for (const built of ['dist', 'oclif.manifest.json']) if (existsSync(path.join(root, built))) files.push(built)
  const top = new Set([...files, ...dirs].map((p) => p.split('/')[0]))
  return {root, files, dirs, top}
}

/** Does a repository path (maybe with globs or `<placeholders>`) name something that exists? */
export function pathExists(repo: Repo, rel: string): boolean {
  const clean = rel.replace(/\/+$/, '')
  if (clean === '' || clean === '.') return true
  if (!/[*?<{[]/.test(clean)) {
    const abs = path.join(repo.root, clean)
    return repo.files.includes(clean) || repo.dirs.has(clean) || (existsSync(abs) && statSync(abs) !== undefined)
  }
  const pattern = clean.replace(/<[^>]*>/g, '*')
  const isMatch = picomatch(pattern, {dot: true})
  return repo.files.some((f) => isMatch(f)) || [...repo.dirs].some((d) => isMatch(d))
}

/** The repository paths a piece of code names. */
export function pathsIn(repo: Repo, code: string): string[] {
  const found: string[] = []
  for (const raw of code.split(/[\s,;()'"=]+/)) {
    const word = raw.replace(/[.:]+$/, '').replace(/^\.\//, '')
    if (word === '' || word.includes('...') || word.includes('$') || word.includes('://')) continue
    const first = word.split('/')[0]
    if (word.includes('/') && repo.top.has(first) && /^[\w.<>*?{}[\]\/-]+$/.test(word)) found.push(word)
    else if (/^[\w.-]+\.(md|ts)$/.test(word)) found.push(word)
  }
  return found
}

// ---------------------------------------------------------------------------------------------

export interface Finding {
  file: string
  line: number
  problem: string
}

/** `npm run X` (and `npm test`, `npm start`) name scripts of package.json. */
export function checkNpmScripts(scripts: Record<string, string>, code: string): string[] {
  const problems: string[] = []
  for (const m of code.matchAll(/(?<![\w-])npm\s+(run(?:-script)?\s+([\w:.-]+)|(test|start|stop|restart)\b)/g)) {
    const name = m[2] ?? m[3]
    if (!(name in scripts)) problems.push(`package.json has no script \`${name}\`: \`${m[0]}\``)
  }
  return problems
}

/** Everything false in the docs of a repository. */
export function checkDocs(root = REPO_ROOT, cli = loadCli(root), repo = loadRepo(root)): Finding[] {
  const findings: Finding[] = []
  const pkgFile = path.join(root, 'package.json')
  const scripts = existsSync(pkgFile) ? ((JSON.parse(readFileSync(pkgFile, 'utf8')) as {scripts?: Record<string, string>}).scripts ?? {}) : {}
  const docs = [
    ...(existsSync(path.join(root, 'README.md')) ? ['README.md'] : []),
    ...(existsSync(path.join(root, 'docs'))
      ? readdirSync(path.join(root, 'docs'))
          .filter((f) => f.endsWith('.md'))
          .sort()
          .map((f) => `docs/${f}`)
      : []),
  ]
  const parsed = new Map(docs.map((d) => [d, parseMarkdown(readFileSync(path.join(root, d), 'utf8'))]))
  for (const [doc, parts] of parsed) {
    const here = path.posix.dirname(doc)
    const note = (line: number, problem: string) => findings.push({file: doc, line, problem})
    for (const {line, text, inline} of parts.code) {
      for (const words of invocations(text)) {
        const problem = checkInvocation(cli, words)
        if (problem) note(line, `${problem}: \`dagctl ${words.join(' ')}\``)
      }
      const lone = inline ? checkLoneFlag(cli, text) : undefined
      if (lone) note(line, lone)
      for (const problem of checkNpmScripts(scripts, text)) note(line, problem)
      for (const p of pathsIn(repo, text)) {
        const bare = !p.includes('/')
        const candidates = bare ? [path.posix.join(here, p), p] : [p]
        if (bare && p.endsWith('.ts')) {
          if (!repo.files.some((f) => f.endsWith(`/${p}`) || f === p)) note(line, `no file \`${p}\` in the repository`)
        } else if (!candidates.some((c) => pathExists(repo, c))) {
          note(line, `no \`${p}\` in the repository`)
        }
      }
    }
    for (const {line, text} of parts.links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(text)) continue // http:, https:, mailto:
      const [target, anchor] = text.split('#', 2)
      const rel = target === '' ? doc : path.posix.normalize(path.posix.join(here, decodeURIComponent(target)))
      if (rel.startsWith('..')) {
        note(line, `link \`${text}\` leaves the repository`)
        continue
      }
      if (!pathExists(repo, rel)) {
        note(line, `link \`${text}\`: no \`${rel}\` in the repository`)
        continue
      }
      if (anchor) {
        const anchors = parsed.get(rel)?.anchors ?? (rel.endsWith('.md') ? parseMarkdown(readFileSync(path.join(root, rel), 'utf8')).anchors : undefined)
        if (anchors && !anchors.has(anchor)) note(line, `link \`${text}\`: \`${rel}\` has no section #${anchor}`)
      }
    }
  }
  return findings
}

const show = (findings: Finding[]) => findings.map((f) => `${f.file}:${f.line}: ${f.problem}`)

describe('docs name only commands, flags and files that exist', () => {
  it('docs/*.md and README.md', () => {
    expect(show(checkDocs())).toEqual([])
  })

  it('the check finds what is false (and accepts what is true)', async () => {
    const {tempDir} = await import('../helpers/tmp.js')
    const fence = '```'
    const root = tempDir({
      'oclif.manifest.json': readFileSync(path.join(REPO_ROOT, 'oclif.manifest.json'), 'utf8'),
      'src/commands/publish.ts': '',
      'package.json': JSON.stringify({scripts: {build: 'tsc', test: 'vitest run'}}),
      'docs/ok.md': [
        '# Good things',
        'Run `dagctl publish --env prod -m "first" --no-validate` or `dagctl python` or `dagctl --help` or `dagctl help python setup`;',
        'see `src/commands/publish.ts`, `src/<area>/`, `src/commands/*.ts`, [this](#good-things) and [the other](bad.md#a-section).',
        `${fence}sh`,
        'dagctl releases --env prod \\',
        '  -n 10 | head  # a comment --nope',
        'dagctl rollback --to 41 --yes 2>/dev/null',
        `${fence}`,
        '`npm run build && npm test` works.',
        'Prose may say dagctl sync --nope, and `dagctl.yaml`, `~/.cache/dagctl/x` are not invocations.',
      ].join('\n'),
      'docs/bad.md': [
        '## A section',
        'The shape follows `DESIGN.md`, see `src/nope/`.',
        `${fence}sh`,
        'dagctl nosuch --once',
        'dagctl publish --force',
        'dagctl releases -x',
        'dagctl python nope',
        '../bin/run.js list --nope',
        `${fence}`,
        `A typo on purpose: \`dagctl publsh\` ${IGNORE}`,
        IGNORE,
        `${fence}console`,
        '$ dagctl publsh --nope',
        `${fence}`,
        'Flags: `--no-such-flag`, and [gone](missing.md), [anchor](ok.md#no-such-section). Run `npm run bench`.',
      ].join('\n'),
    })
    expect(show(checkDocs(root))).toEqual([
      'docs/bad.md:2: no `DESIGN.md` in the repository',
      'docs/bad.md:2: no `src/nope/` in the repository',
      'docs/bad.md:4: no command `nosuch`: `dagctl nosuch --once`',
      'docs/bad.md:5: `publish` has no flag `--force`: `dagctl publish --force`',
      'docs/bad.md:6: `releases` has no flag `-x`: `dagctl releases -x`',
      'docs/bad.md:7: no command `python nope`: `dagctl python nope`',
      'docs/bad.md:8: `list` has no flag `--nope`: `dagctl list --nope`',
      'docs/bad.md:15: no command has the flag `--no-such-flag`',
      'docs/bad.md:15: package.json has no script `bench`: `npm run bench`',
      'docs/bad.md:15: link `missing.md`: no `docs/missing.md` in the repository',
      'docs/bad.md:15: link `ok.md#no-such-section`: `docs/ok.md` has no section #no-such-section',
    ])
  })

  it("every command's help examples", () => {
    const cli = loadCli()
    const problems: string[] = []
    let checked = 0
    for (const [id, command] of cli.commands) {
      if (id !== command.id) continue
      for (const example of command.examples ?? []) {
        const text = (typeof example === 'string' ? example : example.command).replaceAll('<%= config.bin %>', 'dagctl').replaceAll('<%= command.id %>', command.id.replaceAll(':', ' '))
        for (const words of invocations(text)) {
          checked++
          const problem = checkInvocation(cli, words)
          if (problem) problems.push(`${id}: ${problem}: \`${text}\``)
        }
      }
    }
    expect(problems).toEqual([])
    expect(checked).toBeGreaterThan(cli.commands.size)
  })

  it("package.json's description (the top-level help) lists only commands that exist", () => {
    const cli = loadCli()
    const {description} = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {description: string}
    const list = description.split(':').slice(1).join(':')
    const named = list
      .split(/,|\band\b/)
      .map((w) => w.trim().replace(/\.$/, ''))
      .filter((w) => w !== '')
    expect(named.length).toBeGreaterThan(0)
    expect(named.filter((w) => !cli.commands.has(w.replaceAll(' ', ':')) && !cli.topics.has(w.replaceAll(' ', ':')))).toEqual([])
  })
})
