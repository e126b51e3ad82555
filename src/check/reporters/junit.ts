import type {Finding, ValidationReport} from '../types.js'

/**
 * JUnit XML for GitLab's test report (`artifacts:reports:junit`): one test case per validated file
 * with findings, plus one passing case standing for the clean files. Errors are failures; warnings
 * and infos go to system-out so they are visible without failing the test.
 */
export function renderJunit(report: ValidationReport): string {
  const byFile = new Map<string, Finding[]>()
  for (const f of report.findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f])
  const clean = Math.max(report.summary.files - byFile.size, 0)
  const cases: string[] = []
  let failures = 0
  for (const [file, findings] of byFile) {
    const errors = findings.filter((f) => f.severity === 'error')
    const others = findings.filter((f) => f.severity !== 'error')
    const body: string[] = []
    if (errors.length > 0) {
      failures++
      const first = errors[0]
      body.push(
        `      <failure message="${attr(`${first.rule}: ${first.message}`)}" type="${attr(first.rule)}">${text(errors.map(describe).join('\n'))}</failure>`,
      )
    }
    if (others.length > 0) body.push(`      <system-out>${text(others.map(describe).join('\n'))}</system-out>`)
    cases.push(`    <testcase classname="dagctl.validate" name="${attr(file)}" file="${attr(file)}" time="0">\n${body.join('\n')}\n    </testcase>`)
  }
  if (clean > 0) cases.push(`    <testcase classname="dagctl.validate" name="${clean} file(s) without findings" time="0"/>`)
  const tests = cases.length
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="dagctl validate" tests="${tests}" failures="${failures}" errors="0">`,
    `  <testsuite name="dagctl validate (${report.engine} engine)" tests="${tests}" failures="${failures}" errors="0" skipped="0">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

function describe(f: Finding): string {
  return `${f.file}:${f.line}:${f.column} ${f.rule} ${f.severity}: ${f.message}${f.hint ? `\n  hint: ${f.hint}` : ''}`
}

// XML 1.0 forbids most control characters even when escaped; drop them.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g

function text(s: string): string {
  return s.replace(INVALID_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;')
}
