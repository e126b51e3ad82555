import path from 'node:path'

import type {ResolvedConfig} from '../config/load.js'
import {durationSeconds} from '../config/duration.js'
import {ConfigError} from '../errors.js'
import type {AirflowClientOptions} from './client.js'

/**
 * Client options for the selected environment: environments.<env>.airflow in dagctl.yaml, overridden
 * by DAGCTL_AIRFLOW_* (mapped by loadConfig) and --airflow-url.
 */
export function airflowOptionsFrom(resolved: ResolvedConfig, extra: {retries?: number; log?: (line: string) => void} = {}): AirflowClientOptions {
  const a = resolved.environment.airflow ?? {}
  if (!a.url) {
    throw new ConfigError(`no Airflow URL for environment ${resolved.envName}`, {
      file: resolved.file,
      key: `environments.${resolved.envName}.airflow.url`,
      hint: `Set environments.${resolved.envName}.airflow.url in dagctl.yaml, DAGCTL_AIRFLOW_URL, or pass --airflow-url.`,
    })
  }
  return {
    url: a.url,
    credentials: {username: a.username, password: a.password, token: a.token},
    api: a.api,
    timeoutMs: a.timeout === undefined ? undefined : durationSeconds(a.timeout) * 1000,
    caFile: a.ca_file ? path.resolve(resolved.root, a.ca_file) : undefined,
    retries: extra.retries ?? resolved.config.trigger.retries,
    log: extra.log,
  }
}
