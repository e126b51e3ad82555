import {durationSeconds} from '../config/schema.js'

/** Airflow's schedule presets, valid on Airflow 2.11 and 3. */
export const SCHEDULE_PRESETS = ['@once', '@continuous', '@hourly', '@daily', '@weekly', '@monthly', '@quarterly', '@yearly', '@annually'] as const

const INTERVAL = /^(\d+)(s|m|h|d)$/

/** What `schedule:` becomes in Python: a cron or preset string, an interval, or None (manual only). */
export type ScheduleModel = {kind: 'none'} | {kind: 'cron'; value: string} | {kind: 'interval'; seconds: number}

const CRON_FIELDS: Array<{name: string; min: number; max: number; names?: string[]}> = [
  {name: 'minute', min: 0, max: 59},
  {name: 'hour', min: 0, max: 23},
  {name: 'day of month', min: 1, max: 31},
  {name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']},
  {name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']},
]

/** Why a five-field cron expression is wrong, or undefined when it is fine. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/)
  if (fields.length !== 5) return `a cron expression has 5 fields (minute hour day month weekday), this one has ${fields.length}`
  for (const [i, field] of fields.entries()) {
    const spec = CRON_FIELDS[i]
    for (const part of field.split(',')) {
      const m = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/(\d+))?$/.exec(part)
      if (!m) return `the ${spec.name} field '${field}' is not valid cron`
      if (m[1] === '*') continue
      for (const bound of m[1].split('-')) {
        const n = /^\d+$/.test(bound) ? Number(bound) : spec.names?.indexOf(bound.toLowerCase()) ?? -1
        const value = /^\d+$/.test(bound) ? n : n + (spec.name === 'month' ? 1 : 0)
        if (n < 0 || value < spec.min || value > spec.max) return `the ${spec.name} field '${field}' is out of range (${spec.min}-${spec.max})`
      }
    }
  }
  return undefined
}

/** Why a schedule string is wrong, or undefined when it is a preset, a cron expression or an interval. */
export function scheduleProblem(value: string): string | undefined {
  if (value.startsWith('@')) {
    return (SCHEDULE_PRESETS as readonly string[]).includes(value) ? undefined : `unknown preset '${value}' (one of ${SCHEDULE_PRESETS.join(', ')})`
  }
  if (INTERVAL.test(value)) return Number(INTERVAL.exec(value)![1]) > 0 ? undefined : 'an interval must be longer than 0'
  return cronProblem(value)
}

export function scheduleModel(value: string | null | undefined): ScheduleModel {
  if (value === null || value === undefined) return {kind: 'none'}
  if (INTERVAL.test(value)) return {kind: 'interval', seconds: durationSeconds(value)}
  return {kind: 'cron', value}
}
