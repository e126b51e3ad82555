import {RemoteError} from '../errors.js'
import {probePython} from './interpreter.js'
import {airflowRequirementsFile, ensureAirflowEnv, type AirflowMajor} from './venv.js'

export interface PythonSetupResult {
  airflowVersion: AirflowMajor
  /** the interpreter to use: `--python`, DAGCTL_PYTHON or nothing at all (validate finds it) */
  python: string
  venv: string
  /** false when the venv was already there */
  created: boolean
  requirements: string
  /** versions installed in it */
  airflow?: string
  providers: Record<string, string>
}

/**
 * Builds (first time) or reuses the managed venv for an Airflow major from the pinned requirement
 * file. pip's output goes to stderr (stdout stays for the result) or nowhere under --json.
 */
export async function setupAirflowPython(version: AirflowMajor, options: {quiet: boolean; onProgress?: (m: string) => void; env?: NodeJS.ProcessEnv}): Promise<PythonSetupResult> {
  const requirements = airflowRequirementsFile(version)
  let venv
  try {
    venv = ensureAirflowEnv(version, {env: options.env, stdio: options.quiet ? 'pipe' : ['ignore', 2, 2], onProgress: options.onProgress})
  } catch (error) {
    const stderr = String((error as {stderr?: Buffer | string}).stderr ?? '').trim().split('\n').slice(-8).join('\n')
    throw new RemoteError(`building the Airflow ${version} venv failed${stderr ? `:\n${stderr}` : `: ${(error as Error).message}`}`, {
      code: 'PYTHON_SETUP_FAILED',
      file: requirements,
      hint: 'pip needs to reach PyPI (or your index: PIP_INDEX_URL); run again once it can. DAGCTL_BASE_PYTHON picks the python that creates the venv.',
      cause: error,
    })
  }
  const probe = await probePython(venv.python)
  return {airflowVersion: version, python: venv.python, venv: venv.dir, created: venv.created, requirements, airflow: probe.airflow, providers: probe.providers}
}
