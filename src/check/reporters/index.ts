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

export interface RenderOptions {
  colour?: ChalkInstance
  toolVersion?: string
  /** the package's folder relative to the repository root, for formats whose paths are repository paths */
  pathPrefix?: string
}

/** Any format, as a pure function of the report. */
export function renderReport(report: ValidationReport, format: ReportFormat, options: RenderOptions = {}): string {
  switch (format) {
    case 'junit':
      return renderJunit(report)
    case 'codequality':
      return renderCodeQuality(report, {pathPrefix: options.pathPrefix})
    case 'sarif':
      return renderSarif(report, {toolVersion: options.toolVersion, pathPrefix: options.pathPrefix})
    default:
      return `${renderText(report, options.colour)}\n`
  }
}
