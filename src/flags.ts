import {Flags} from '@oclif/core'

/*
 * The flags several commands share, in one place. Flag definitions belong to the command layer
 * (src/commands/ and this file); src/<area>/ only ever sees the parsed values. The flags every
 * command has (--json, --verbose, --config) are BaseCommand.baseFlags.
 */

/** `--env` and `--store`, for every command that reads or writes a store or an Airflow. */
export const environmentFlags = {
  env: Flags.string({
    char: 'e',
    summary: 'Environment to act on: one defined under environments: in dagctl.yaml (dev is implicit when none is).',
    env: 'DAGCTL_ENV',
    default: 'dev',
  }),
  store: Flags.string({
    summary: 'Store URL for this run: s3://bucket[/prefix] or file://dir (overrides environments.<env>.store).',
  }),
}

/** How the Airflow commands (trigger, runs, errors) reach Airflow, besides `--env`. */
export const airflowFlags = {
  'airflow-url': Flags.string({summary: 'Airflow address for this run (overrides environments.<env>.airflow.url and DAGCTL_AIRFLOW_URL).'}),
  retries: Flags.integer({summary: 'Retries on network errors, 429 and 5xx, with backoff (default 3, or trigger.retries).', min: 0, max: 20}),
}

/** How DAG files are checked: validate's flags, which publish (it validates first) takes too. */
export const checkFlags = {
  engine: Flags.string({
    summary: 'ast (no Airflow needed), airflow (Airflow DagBag), or auto (airflow when importable). Default: validate.engine of dagctl.yaml.',
    options: ['ast', 'airflow', 'auto'],
  }),
  python: Flags.string({summary: 'Python interpreter to run the checks with (default: `python` of dagctl.yaml, DAGCTL_PYTHON, or python3).'}),
}

/** Flags of the store commands (publish, list, releases, diff, rollback, fsck) besides `--env` and `--store`. */
export const storeFlags = {
  endpoint: Flags.string({
    summary: 'S3 endpoint URL (MinIO, LocalStack, moto); default environments.<env>.s3.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL.',
    helpGroup: 'STORE',
  }),
}

export const packageFlag = Flags.string({
  char: 'p',
  summary: 'Package to act on (default: `package` of dagctl.yaml).',
  helpGroup: 'STORE',
})
