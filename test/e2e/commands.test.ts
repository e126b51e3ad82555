import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {REPO_ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

describe('unknown commands and topics (built binary)', () => {
  it('dagctl publsh: exit 2 with "did you mean publish?", a JSON error on stdout under --json', async () => {
    const human = await runCli(['publsh'])
    expect(human.exitCode).toBe(2)
    expect(human.stdout).toBe('')
    expect(human.stderr).toContain('Error: publsh is not a dagctl command; did you mean publish?')
    expect(human.stderr).toContain('Hint: Run `dagctl publish --help`')
    const json = await runCli(['publsh', '--json', '-m', 'x'])
    expect(json.exitCode).toBe(2)
    expect(json.json().error).toMatchObject({code: 'COMMAND_NOT_FOUND', exitCode: 2, details: {command: 'publsh', suggestion: 'publish'}})
    const first = await runCli(['--json', 'publsh'])
    expect(first.exitCode).toBe(2)
    expect(first.json().error.details).toEqual({command: 'publsh', suggestion: 'publish'})
    const env = await runCli(['relases'], {env: {DAGCTL_CONTENT_TYPE: 'json'}})
    expect(env.json().error.details.suggestion).toBe('releases')
    const far = await runCli(['kubernetes'])
    expect(far.exitCode).toBe(2)
    expect(far.stderr).not.toContain('did you mean')
  })

  it('dagctl python lists its subcommands; dagctl setup python runs nothing', async () => {
    const topic = await runCli(['python'])
    expect(topic.exitCode).toBe(0)
    expect(topic.stdout).toMatch(/python setup\s+Create \(or reuse\)/)
    const swapped = await runCli(['setup', 'python', '--airflow', '3'])
    expect(swapped.exitCode).toBe(2)
    expect(swapped.stderr).toContain('did you mean python setup?')
    expect(swapped.stdout).toBe('')
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'))
    expect(pkg.oclif.flexibleTaxonomy).toBe(false)
  })
})

describe('one name for one thing', () => {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, {char?: string; aliases?: string[]}>}>}

  it('-p/--package, -n/--limit, -o/--output, --airflow wherever the thing is taken', () => {
    for (const [id, c] of Object.entries(manifest.commands)) {
      if (c.flags.package) expect(c.flags.package.char, `${id} --package`).toBe('p')
      if (c.flags.limit) expect(c.flags.limit.char, `${id} --limit`).toBe('n')
      if (c.flags.output) expect(c.flags.output.char, `${id} --output`).toBe('o')
      expect(Object.keys(c.flags), id).not.toContain('out')
      expect(Object.keys(c.flags), id).not.toContain('airflow-version')
    }
    for (const id of ['init', 'doctor', 'python:setup']) expect(manifest.commands[id].flags, id).toHaveProperty('airflow')
    for (const id of ['runs', 'errors']) expect(manifest.commands[id].flags.limit.char).toBe('n')
    expect(manifest.commands.schema.flags.output.char).toBe('o')
    // publish validates, with validate's own flags
    for (const flag of ['engine', 'python']) expect(manifest.commands.publish.flags, flag).toHaveProperty(flag)
  })

  it('the old spellings still work, hidden, with a deprecation note on stderr', async () => {
    const dir = tempDir()
    const init = await runCli(['init', 'legacy', '--airflow-version', '2'], {cwd: dir})
    expect(init.exitCode, init.stderr).toBe(0)
    expect(init.stderr).toMatch(/"--airflow-version" flag has been deprecated\. Use "--airflow"/)
    expect(readFileSync(path.join(dir, 'legacy', 'dagctl.yaml'), 'utf8')).toMatch(/^airflow:\n {2}version: 2$/m)
    const help = await runCli(['init', '--help'])
    expect(help.stdout).toContain('--airflow=<option>')
    expect(help.stdout).not.toContain('airflow-version')
    const out = path.join(dir, 'config.schema.json')
    const schema = await runCli(['schema', 'config', '--out', out], {cwd: dir})
    expect(schema.exitCode).toBe(0)
    expect(schema.stderr).toMatch(/"--out" flag has been deprecated/)
    expect(existsSync(out)).toBe(true)
    // under --json too: stdout is the document, the note is on stderr
    const json = await runCli(['schema', 'config', '--out', out, '--json'], {cwd: dir})
    expect(json.json()).toHaveProperty('$schema')
    expect(json.stderr).toMatch(/"--out" flag has been deprecated/)
  })
})
