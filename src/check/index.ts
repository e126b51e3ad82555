import type {ValidateOptions, ValidationReport} from './types.js'

/** Temporary stub: feat/validate replaces it with the real engines. */
export async function validateDags(options: ValidateOptions): Promise<ValidationReport> {
  return {engine: 'ast', dags: [], findings: [], summary: {files: options.files.length, dags: 0, errors: 0, warnings: 0, infos: 0}}
}
