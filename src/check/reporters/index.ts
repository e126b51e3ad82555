import type {ChalkInstance} from 'chalk'

import type {ValidationReport} from '../types.js'
import {renderCodeQuality} from './codequality.js'
import {renderJunit} from './junit.js'
import {renderSarif} from './sarif.js'
import {renderText} from './text.js'

export {renderCodeQuality, type CodeQualityIssue} from './codequality.js'
export {renderJunit} from './junit.js'
export {renderSarif, type SarifOptions} from './sarif.js'
export {renderText, summaryLine} from './text.js'

export const REPORT_FORMATS = ['text', 'junit', 'codequality', 'sarif'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

/** Any format, as a pure function of the report. */
export function renderReport(report: ValidationReport, format: ReportFormat, options: {colour?: ChalkInstance; toolVersion?: string} = {}): string {
  switch (format) {
    case 'junit':
      return renderJunit(report)
    case 'codequality':
      return renderCodeQuality(report)
    case 'sarif':
      return renderSarif(report, {toolVersion: options.toolVersion})
    default:
      return `${renderText(report, options.colour)}\n`
  }
}
