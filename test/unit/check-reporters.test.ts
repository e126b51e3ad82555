import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

import {renderCodeQuality, renderJunit, renderReport, renderSarif, renderText} from '../../src/check/reporters/index.js'
import {RULES} from '../../src/check/rules.js'
import type {ValidationReport} from '../../src/check/types.js'

const REPORT: ValidationReport = {
  engine: 'ast',
  dags: [{dagId: 'team_a_x', file: 'dags/x.py', line: 3}],
  findings: [
    {file: 'dags/a b.py', line: 0, column: 0, rule: 'syntax-error', severity: 'error', message: 'cannot read the file: <Permission "denied"> & more\u0001', hint: 'Check it'},
    {file: 'dags/x.py', line: 3, column: 5, rule: 'dag-id-prefix', severity: 'error', message: "DAG id 'x' is outside package team_a", hint: "Rename it to 'team_a_x'."},
    {file: 'dags/x.py', line: 7, column: 1, rule: 'top-level-code', severity: 'warning', message: 'Variable.get() runs at import time'},
    {file: 'dags/x.py', line: 9, column: 1, rule: 'top-level-code', severity: 'warning', message: 'Variable.get() runs at import time'},
    {file: 'dags/y.py', line: 2, column: 3, rule: 'dynamic-dag-id', severity: 'info', message: 'computed'},
  ],
  summary: {files: 5, dags: 1, errors: 2, warnings: 2, infos: 1},
}

const CLEAN: ValidationReport = {engine: 'ast', dags: [], findings: [], summary: {files: 2, dags: 0, errors: 0, warnings: 0, infos: 0}}

/** Parses XML with a real parser (Python's ElementTree) and returns a JSON outline of it. */
async function parseXml(xml: string): Promise<any> {
  const script = `
import json, sys, xml.etree.ElementTree as ET
def conv(e):
    return {"tag": e.tag, "attrib": e.attrib, "text": (e.text or "").strip(), "children": [conv(c) for c in e]}
print(json.dumps(conv(ET.fromstring(sys.stdin.buffer.read()))))
`
  const {stdout} = await execa('python3', ['-c', script], {input: xml})
  return JSON.parse(stdout)
}

describe('text reporter', () => {
  it('groups by file, gives file:line:col rule severity: message, the hint, and a summary line', () => {
    const text = renderText(REPORT)
    const lines = text.split('\n')
    expect(lines[0]).toBe('dags/a b.py')
    expect(text).toContain("  dags/x.py:3:5 dag-id-prefix error: DAG id 'x' is outside package team_a\n      hint: Rename it to 'team_a_x'.")
    expect(lines.filter((l) => l === 'dags/x.py')).toHaveLength(1)
    expect(lines.at(-1)).toBe('✖ 2 errors, 2 warnings, 1 info in 5 files, 1 DAG, ast engine')
    expect(text).not.toContain('\u001B[')
    expect(renderText(CLEAN)).toBe('✔ no problems in 2 files, 0 DAGs, ast engine')
  })
})

describe('JUnit reporter', () => {
  it('is well-formed XML: one case per file with findings, failures for errors, output for warnings', async () => {
    const doc = await parseXml(renderJunit(REPORT))
    expect(doc.tag).toBe('testsuites')
    const suite = doc.children[0]
    expect(suite.tag).toBe('testsuite')
    expect(suite.attrib).toMatchObject({failures: '2', tests: '4'})
    const cases = suite.children
    expect(cases.map((c: any) => c.attrib.name)).toEqual(['dags/a b.py', 'dags/x.py', 'dags/y.py', '2 file(s) without findings'])
    const x = cases[1]
    expect(x.children.map((c: any) => c.tag)).toEqual(['failure', 'system-out'])
    expect(x.children[0].attrib.type).toBe('dag-id-prefix')
    expect(x.children[0].text).toContain('dags/x.py:3:5 dag-id-prefix error')
    expect(x.children[1].text).toContain('dags/x.py:7:1 top-level-code warning')
    expect(cases[0].children[0].attrib.message).toContain('<Permission "denied"> & more')
    expect(cases[2].children.map((c: any) => c.tag)).toEqual(['system-out'])
  })

  it('a clean run is one passing case', async () => {
    const doc = await parseXml(renderJunit(CLEAN))
    expect(doc.children[0].attrib).toMatchObject({tests: '1', failures: '0'})
  })
})

describe('GitLab code quality reporter', () => {
  it('gives description, check_name, unique fingerprint, severity and location.lines.begin', () => {
    const issues = JSON.parse(renderCodeQuality(REPORT)) as any[]
    expect(issues).toHaveLength(REPORT.findings.length)
    for (const issue of issues) {
      expect(Object.keys(issue).sort()).toEqual(['check_name', 'description', 'fingerprint', 'location', 'severity'])
      expect(['info', 'minor', 'major', 'critical', 'blocker']).toContain(issue.severity)
      expect(issue.location.lines.begin).toBeGreaterThanOrEqual(1)
      expect(issue.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    }
    expect(new Set(issues.map((i) => i.fingerprint)).size).toBe(issues.length)
    expect(issues[1]).toMatchObject({check_name: 'dag-id-prefix', severity: 'critical', location: {path: 'dags/x.py', lines: {begin: 3}}})
    // the fingerprint ignores the line, so moving code keeps the issue's identity
    const moved = JSON.parse(renderCodeQuality({...REPORT, findings: REPORT.findings.map((f) => ({...f, line: f.line + 10}))})) as any[]
    expect(moved.map((i) => i.fingerprint)).toEqual(issues.map((i) => i.fingerprint))
    expect(JSON.parse(renderCodeQuality(CLEAN))).toEqual([])
  })
})

describe('SARIF reporter', () => {
  it('has the required SARIF 2.1.0 fields, rule metadata with helpUri, and located results', () => {
    const sarif = JSON.parse(renderSarif(REPORT, {toolVersion: '1.2.3'}))
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/)
    expect(sarif.runs).toHaveLength(1)
    const run = sarif.runs[0]
    expect(run.tool.driver).toMatchObject({name: 'dagctl', version: '1.2.3'})
    const rules = run.tool.driver.rules as any[]
    expect(rules.map((r) => r.id)).toEqual(RULES.map((r) => r.name))
    for (const rule of rules) {
      expect(rule.helpUri).toMatch(new RegExp(`docs/rules\\.md#${rule.id}$`))
      expect(rule.shortDescription.text.length).toBeGreaterThan(0)
      expect(['error', 'warning', 'note']).toContain(rule.defaultConfiguration.level)
    }
    expect(run.results).toHaveLength(REPORT.findings.length)
    for (const result of run.results) {
      expect(typeof result.message.text).toBe('string')
      expect(rules[result.ruleIndex].id).toBe(result.ruleId)
      expect(['error', 'warning', 'note']).toContain(result.level)
      expect(result.locations[0].physicalLocation.artifactLocation.uriBaseId).toBe('%SRCROOT%')
    }
    expect(run.results[1].locations[0].physicalLocation).toEqual({artifactLocation: {uri: 'dags/x.py', uriBaseId: '%SRCROOT%'}, region: {startLine: 3, startColumn: 5}})
    // a whole-file finding has no region (SARIF lines start at 1); spaces are URI-encoded
    expect(run.results[0].locations[0].physicalLocation).toEqual({artifactLocation: {uri: 'dags/a%20b.py', uriBaseId: '%SRCROOT%'}})
    expect(run.results[4].level).toBe('note')
  })

  it('prefixes paths with where the package sits in the repository (SARIF and code quality)', () => {
    const sarif = JSON.parse(renderSarif(REPORT, {pathPrefix: 'packages/team_a/'}))
    expect(sarif.runs[0].results[1].locations[0].physicalLocation.artifactLocation.uri).toBe('packages/team_a/dags/x.py')
    const issues = JSON.parse(renderCodeQuality(REPORT, {pathPrefix: 'packages/team_a/'}))
    expect(issues[1].location.path).toBe('packages/team_a/dags/x.py')
  })

  it('renderReport dispatches on the format', () => {
    expect(renderReport(CLEAN, 'text')).toBe('✔ no problems in 2 files, 0 DAGs, ast engine\n')
    expect(JSON.parse(renderReport(CLEAN, 'sarif')).version).toBe('2.1.0')
    expect(renderReport(CLEAN, 'junit')).toMatch(/^<\?xml/)
    expect(renderReport(CLEAN, 'codequality')).toBe('[]\n')
  })
})
