import {ExitCode, type ExitCodeValue} from './errors.js'

/**
 * The table of every error code dagctl reports (`error.code` under --json), with its exit code, what
 * causes it and what fixes it. docs/troubleshooting.md is generated from it (`npm run docs:troubleshooting`),
 * and test/unit/error-codes.test.ts fails when the code raises a code this table lacks, with another
 * exit code, or when the committed page differs from the generated one.
 */
export interface ErrorCodeEntry {
  /** the exit code(s) it ends with */
  exit: ExitCodeValue | readonly ExitCodeValue[]
  /** the commands that report it */
  commands: readonly string[]
  cause: string
  fix: string
}

export const EXIT_CODE_HELP: Record<ExitCodeValue, {meaning: string; first: string}> = {
  [ExitCode.OK]: {meaning: 'done', first: 'Nothing to fix.'},
  [ExitCode.CHECK_FAILED]: {meaning: 'the thing checked failed', first: 'Read the findings or the failed tasks above the error; the error code below says which check.'},
  [ExitCode.USAGE]: {meaning: 'bad usage or bad configuration', first: 'The message names the file, line and key, or the flag; `dagctl config` shows what dagctl resolved and from where.'},
  [ExitCode.CONFLICT]: {meaning: 'conflict', first: 'Someone else changed the same thing at the same moment: re-run the command.'},
  [ExitCode.REMOTE]: {meaning: 'a remote failed after retries', first: 'S3, Airflow or pip did not answer well: check the address and credentials, then re-run (add `--verbose` for the requests).'},
  [ExitCode.POLICY]: {meaning: 'refused by policy', first: 'A guardrail stopped it before any write or request: the hint says which rule and how to comply.'},
  [ExitCode.TIMEOUT]: {meaning: 'a wait ran out', first: 'The work may go on (an Airflow run does): follow it, or wait longer.'},
  [ExitCode.INTERRUPTED]: {meaning: 'stopped by SIGINT (Ctrl-C)', first: 'The message says what state the store is left in and the command that completes it.'},
  [ExitCode.TERMINATED]: {meaning: 'stopped by SIGTERM', first: 'As for 130: a cancelled CI job or a stopped pod; the message says what state the store is left in.'},
}

export const ERROR_CODES: Record<string, ErrorCodeEntry> = {
  // generic codes of the base classes (src/errors.ts), used when no specific code applies
  DAGCTL_ERROR: {exit: [1, 2, 3, 4, 5, 124], commands: ['any'], cause: 'An error without a more specific code.', fix: 'Read the message and hint; re-run with `--verbose` for the stack trace.'},
  USAGE: {exit: 2, commands: ['any'], cause: 'A flag, argument or combination the command does not take.', fix: 'Run `dagctl help COMMAND` for its flags and examples.'},
  CONFIG_INVALID: {exit: 2, commands: ['any'], cause: 'dagctl.yaml (or a file it extends) breaks the schema: an unknown key, a wrong type, a bad value.', fix: 'Fix the key the message names at the line it names; `dagctl schema config` prints the JSON Schema for editors; docs/configuration.md lists every key.'},
  CHECK_FAILED: {exit: 1, commands: ['any'], cause: 'A check failed.', fix: 'Read the findings printed above the error.'},
  CONFLICT: {exit: 3, commands: ['any'], cause: 'A concurrent change won.', fix: 'Re-run the command.'},
  REMOTE: {exit: 4, commands: ['any'], cause: 'A remote failed after retries.', fix: 'Check the address and credentials; re-run with `--verbose`.'},
  POLICY: {exit: 5, commands: ['any'], cause: 'Refused by a guardrail.', fix: 'Follow the hint.'},
  TIMEOUT: {exit: 124, commands: ['validate', 'doctor'], cause: "dagctl's Python helper did not finish in time (a DAG file that loops or blocks at import).", fix: 'Find the file with `dagctl validate --engine ast FILE` per file; the Airflow engine also reports each file that times out.'},

  // configuration and specs
  CONFIG_MISSING: {exit: 2, commands: ['any that reads dagctl.yaml'], cause: 'No dagctl.yaml in this folder or any above it, or the file named by `--config` / DAGCTL_CONFIG does not exist.', fix: 'Run the command inside the package, pass `--config PATH`, or create the package with `dagctl init`.'},
  YAML_SYNTAX: {exit: 2, commands: ['any that reads YAML'], cause: 'dagctl.yaml, a spec or a mapping file is not valid YAML (often a tab, an unclosed quote or a bad indent).', fix: 'Fix the line and column the message names (an unclosed quote is reported at the opening quote).'},
  SPECS_MISSING: {exit: 2, commands: ['generate'], cause: 'The `specs:` folder of dagctl.yaml does not exist.', fix: 'Create it (`dagctl init` does), or point `specs:` at the folder that holds the specs.'},
  SPEC_INVALID: {exit: 2, commands: ['generate', 'publish'], cause: 'A spec breaks the spec schema: an unknown key, a missing `name:`, a task without an image when dagctl.yaml has no default, a DAG id longer than Airflow allows, a file name dagctl will not write into code.', fix: 'Fix the key at the file and line the message names; docs/specs.md describes every key; `dagctl schema spec` gives the JSON Schema for editors.'},
  SPEC_CYCLE: {exit: 2, commands: ['generate'], cause: 'The `depends_on` links of a spec form a cycle.', fix: 'Remove one of the links the message lists.'},
  SPEC_DUPLICATE: {exit: 2, commands: ['generate'], cause: 'Two specs generate the same DAG id.', fix: 'Give each spec its own `name:`.'},
  RENDER_FAILED: {exit: 2, commands: ['generate'], cause: 'A task template failed while rendering a spec.', fix: 'Check the task template named in the message (a platform template of `extends:` or templates/tasks/).'},
  TEMPLATE_UNSAFE: {exit: 2, commands: ['generate'], cause: 'A task template writes a value without the filter that makes a Python literal, which could inject code.', fix: 'Write every value as `{{ value | py }}`, or `{{ name | ident }}` for an identifier.'},
  POLICY_REGISTRY: {exit: 5, commands: ['generate', 'publish'], cause: 'A `kubernetes_pod` image (or the default `image:`) is not from a registry in `policy.allowed_registries`.', fix: 'Use an image from an allowed registry, or ask the platform team to add the registry.'},
  HAND_WRITTEN_FILE: {exit: 3, commands: ['generate'], cause: 'A file without the dagctl header sits where a spec would generate its DAG file.', fix: 'Move the hand-written file out of the generated folder, or rename the spec.'},
  GENERATED_STALE: {exit: 1, commands: ['generate'], cause: '`dagctl generate --check` found a generated file missing, out of date or orphaned (its spec changed or is gone).', fix: 'Run `dagctl generate --clean` and commit the result.'},

  ENV_UNKNOWN: {exit: 2, commands: ['any that takes --env'], cause: 'The --env (or DAGCTL_ENV) names an environment that dagctl.yaml and its extends: chain do not define; dev is implicit only when no file defines any environment.', fix: 'Use one of the environments the message lists, define it under `environments:` in dagctl.yaml, or give the store in full with `--store` (`--airflow-url` for the Airflow commands).'},
  COMMAND_NOT_FOUND: {exit: 2, commands: ['any'], cause: 'The command typed is not a dagctl command.', fix: 'Run the command the message suggests (`did you mean ...?`), or `dagctl --help` for every command.'},

  // validate and Python
  PYTHON_MISSING: {exit: 2, commands: ['validate', 'publish', 'doctor'], cause: 'The Python interpreter dagctl was told to use (or python3) cannot be run.', fix: 'Install python3, or point `--python`, DAGCTL_PYTHON or `python:` of dagctl.yaml at one; `dagctl doctor` shows which one is chosen.'},
  PYTHON_TOO_OLD: {exit: 2, commands: ['validate', 'publish'], cause: "The interpreter is older than Python 3.8 and cannot run dagctl's helper.", fix: 'Point `--python` (or DAGCTL_PYTHON) at Python 3.8 or newer.'},
  PYTHON_HELPER_FAILED: {exit: 1, commands: ['validate', 'publish'], cause: "dagctl's Python helper crashed.", fix: 'Re-run with `--verbose`; if it persists, report the output.'},
  PYTHON_TARGET_MISMATCH: {exit: 2, commands: ['validate', 'publish'], cause: '`validate.python` names a version, but the interpreter you named is another version.', fix: 'Point that interpreter at the Python version that runs your DAGs, or change `validate.python`.'},
  PYTHON_TARGET_MISSING: {exit: 2, commands: ['validate', 'publish'], cause: '`validate.python` names a version that is not installed (neither the chosen interpreter nor pythonX.Y on PATH).', fix: 'Install that Python, or name one with `--python`; see docs/python-environments.md.'},
  PYTHON_SETUP_FAILED: {exit: 4, commands: ['python setup'], cause: 'Building the managed Airflow venv failed, usually because pip could not reach its index.', fix: 'Let pip reach PyPI (or set PIP_INDEX_URL) and run `dagctl python setup` again; DAGCTL_BASE_PYTHON picks the python that creates the venv.'},
  PYTHON_NOT_READY: {exit: 1, commands: ['doctor'], cause: '`dagctl doctor` found something validate needs missing.', fix: 'Run the fix shown beside each FAIL line.'},
  AIRFLOW_BROKEN: {exit: 2, commands: ['validate'], cause: 'The interpreter has Airflow, but Airflow itself fails to import, so the Airflow engine cannot run.', fix: 'Repair that environment (or `dagctl python setup`), or use `--engine ast`.'},
  ENGINE_MISSING: {exit: 2, commands: ['validate'], cause: "The Airflow engine's files are missing from this installation of dagctl.", fix: 'Reinstall dagctl, or use `--engine ast`.'},
  BAD_REQUEST: {exit: 2, commands: ['validate'], cause: "dagctl's Python helper received a request it does not understand (an engine name it does not know, or a version mismatch between dagctl and its python/ folder).", fix: 'Use `--engine ast`, `airflow` or `auto`; reinstall dagctl if it persists.'},

  // publish, the store and releases
  PACKAGE_MISSING: {exit: 2, commands: ['list', 'releases', 'diff', 'rollback', 'fsck'], cause: 'No dagctl.yaml here names the package, and no `--package` was given.', fix: 'Run inside the package or pass `--package NAME`.'},
  STORE_URL: {exit: 2, commands: ['publish', 'list', 'releases', 'diff', 'rollback', 'fsck'], cause: 'The store is not an `s3://bucket[/prefix]` or `file://dir` URL.', fix: 'Fix `environments.<env>.store`, DAGCTL_STORE or `--store`.'},
  DAGS_MISSING: {exit: 2, commands: ['publish'], cause: 'The `dags:` folder of dagctl.yaml does not exist.', fix: 'Set `dags:` to the folder of the DAG files, or run `dagctl generate`.'},
  NOTHING_TO_PUBLISH: {exit: 2, commands: ['publish'], cause: 'The dags folder holds no file publish takes (.py, and the extensions of `publish.extensions`).', fix: 'Run `dagctl generate`, or add the extensions to `publish.extensions`.'},
  VALIDATION_FAILED: {exit: 1, commands: ['publish'], cause: 'publish validates first, and validation found errors: nothing was published.', fix: 'Run `dagctl validate` for the full report, fix the errors, publish again.'},
  DAG_OUTSIDE_PACKAGE: {exit: 5, commands: ['publish'], cause: 'A DAG id does not start with `<package>_`: a package owns only its own ids.', fix: 'Rename the DAG.'},
  MASS_REMOVAL: {exit: 5, commands: ['publish'], cause: 'The publish would remove more than half of the published DAG files (a wrong checkout, a failed generate).', fix: 'Check the dags folder; if you mean it, publish again with `--allow-mass-removal`.'},
  SYMLINK_BROKEN: {exit: 5, commands: ['publish'], cause: 'A symlink in the dags folder points to nothing.', fix: 'Remove it, or point it at a file inside the package.'},
  SYMLINK_OUTSIDE: {exit: 5, commands: ['publish'], cause: 'A symlink in the dags folder leads outside the package.', fix: 'Copy the file into the package instead of linking to it.'},
  PATH_UNSAFE: {exit: 5, commands: ['publish'], cause: 'A file name is not portable (a backslash or a control character).', fix: 'Rename the file.'},
  S3_FAILED: {exit: 4, commands: ['publish', 'list', 'releases', 'diff', 'rollback', 'fsck'], cause: 'An S3 request failed after the retries: 403 (credentials or bucket policy), 301 (the bucket is in another region), or the endpoint did not answer.', fix: 'For 403 check AWS_PROFILE, AWS_ACCESS_KEY_ID or the role, and the bucket policy (docs/security.md); for 301 set `environments.<env>.s3.region`; otherwise check `environments.<env>.s3.endpoint` or AWS_ENDPOINT_URL_S3.'},
  LOST_RACE: {exit: 3, commands: ['publish', 'rollback'], cause: 'Another publish or rollback of the package moved HEAD first; nothing of this one became current.', fix: 'Re-run the command: it compares with the new HEAD.'},
  LIVE_BUSY: {exit: 3, commands: ['publish', 'rollback', 'fsck'], cause: 'The live tree kept changing while this command brought it in line (another writer).', fix: 'Run `dagctl fsck --repair` when the other writer is done.'},
  LIVE_UPDATE_FAILED: {exit: [1, 2, 3, 4, 5], commands: ['publish', 'rollback'], cause: 'The new release is current, but updating the live tree failed part way; consumers of the live tree may still see the previous files.', fix: 'Run `dagctl fsck --repair` (safe to repeat).'},
  MANIFEST_REFUSED: {exit: 5, commands: ['list', 'releases', 'diff', 'rollback', 'fsck', 'publish'], cause: 'A manifest in the store names a path outside the package, or does not parse: dagctl did not write it, and reads nothing from it.', fix: 'Run `dagctl fsck`, and restore the object from bucket versioning.'},
  STORE_DAMAGED: {exit: 1, commands: ['fsck', 'list', 'releases', 'diff', 'rollback'], cause: 'An object of the store is not what dagctl wrote (unparsable JSON, a manifest breaking its schema), or `dagctl fsck` found damage.', fix: 'See docs/runbook.md#fsck-found-damage; restore the named objects from bucket versioning, then `dagctl fsck --repair`.'},
  RELEASE_MISSING: {exit: 1, commands: ['list', 'releases', 'diff', 'rollback'], cause: 'HEAD or the history names a release whose manifest is gone.', fix: 'Run `dagctl fsck` for details.'},
  BLOB_MISSING: {exit: 1, commands: ['rollback', 'fsck'], cause: 'A release names content that is not in the store.', fix: 'Run `dagctl fsck` for details; restore from bucket versioning.'},
  NO_RELEASE: {exit: 2, commands: ['list', 'diff', 'rollback'], cause: 'The package has no release in this environment (or the package or environment name is wrong).', fix: 'Check with `dagctl releases --env ENV`; publish first with `dagctl publish`.'},
  RELEASE_NOT_FOUND: {exit: 2, commands: ['diff', 'rollback'], cause: 'The release asked for does not exist, or the history is shorter than the steps asked to go back.', fix: 'Run `dagctl releases --env ENV` to see the release ids.'},
  CONFIRMATION_NEEDED: {exit: 2, commands: ['rollback', 'cluster up'], cause: 'rollback (and cluster up --profile prod, before it applies a Terraform plan) asks before it writes, and stdin is not a terminal.', fix: 'Check with `--dry-run`, then re-run with `--yes`.'},

  LIVE_LAGS: {exit: 1, commands: ['fsck'], cause: "The live tree of a package lags HEAD (an interrupted publish or rollback): Airflow still runs older files.", fix: 'Run the `dagctl fsck --repair` the hint names; the next publish or rollback heals it too.'},
  LIVE_NOT_REPAIRED: {exit: 1, commands: ['fsck'], cause: '`fsck --repair` could not bring the live tree in line (HEAD or a blob it needs is unreadable).', fix: 'Read the reason beside "not repaired:"; restore the release with `dagctl rollback --to` an intact release, then run `dagctl fsck --repair` again.'},
  S3_CREDENTIALS: {exit: 4, commands: ['any that reads or writes an S3 store'], cause: "The AWS SDK found no credentials: no request was sent.", fix: 'Give credentials the SDK finds: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE (or SSO), a web identity token (IRSA) or an instance role; dagctl.yaml never holds them.'},
  INTERRUPTED: {exit: [130, 143], commands: ['publish', 'rollback'], cause: 'SIGINT (Ctrl-C, 130) or SIGTERM (143) stopped the command at a safe point.', fix: 'Read the state the message gives: run the command again, or the `dagctl fsck --repair` it names when the live tree lags; the next publish or rollback heals it too.'},
  SYNC_STORE_FAILED: {exit: 4, commands: ['sync'], cause: '`sync --once` could not read the HEAD of every package from the store.', fix: 'Check the store address, endpoint and credentials, then re-run; the DAG folder keeps its last good tree.'},
  SYNC_REFUSED: {exit: 5, commands: ['sync'], cause: 'sync refused a release: its manifest does not parse or names a path outside the package, or DIR/<package> was not written by sync.', fix: 'Run `dagctl fsck` on the store and roll the package back to a good release (`dagctl rollback`); move a hand-made folder out of DIR.'},
  SYNC_FAILED: {exit: 1, commands: ['sync'], cause: 'A blob of the HEAD release is missing or its content does not match the sha256 of the manifest.', fix: 'Run `dagctl fsck` on the store; republish or roll back the package.'},
  SYNC_IGNORE_MISSING: {exit: 2, commands: ['sync'], cause: "DIR/.airflowignore exists and does not exclude sync's versions folder, which Airflow would then scan twice.", fix: 'Add the line `.dagctl-sync` to that .airflowignore.'},
  SYNC_BUSY: {exit: 2, commands: ['sync'], cause: 'Another dagctl sync is writing the same DAG folder.', fix: 'Run one sync per DAG folder; remove the lock file the message names if its pid is not a sync.'},
  JOBS_BROKEN: {exit: 1, commands: ['discover', 'generate'], cause: 'Job modules look like jobs but are wrong (JOB not a 2-tuple, no such entrypoint, a description that is not a string literal, a syntax error, a duplicate id).', fix: 'Fix each file and line listed; docs/discover.md says what a job module holds.'},
  SCHEDULE_UNKNOWN_JOB: {exit: 2, commands: ['generate'], cause: 'A schedule entry names a job id no discovered module defines.', fix: 'Run `dagctl discover` to list the job ids (<package>_<job>) and fix the `job:` key.'},
  SCHEDULE_DUPLICATE: {exit: 2, commands: ['generate'], cause: 'Two schedule entries give the same DAG id.', fix: 'Give each schedule its own `name:`.'},
  JOB_NO_IMAGE: {exit: 2, commands: ['generate'], cause: 'A kubernetes_pod job needs an image for its package, and none is set.', fix: 'Set `discover.packages.<package>.image` (or `image:`) in dagctl.yaml.'},
  AIRFLOW_POOLS: {exit: 4, commands: ['pools sync'], cause: 'Airflow refused to create or update a tenant pool.', fix: 'Check that the user may edit pools (Admin), then run `dagctl pools sync` again.'},

  // cluster
  CLUSTER_DIFFERENT: {exit: 2, commands: ['cluster up'], cause: 'The cluster of that name is already up with other settings (Airflow version, --s3, --bundle).', fix: 'Run `dagctl cluster down` first, then `dagctl cluster up` with the new settings.'},
  PYTHON_ENV_MISSING: {exit: 2, commands: ['cluster up'], cause: 'A managed venv the cluster needs (Airflow, moto) is not built yet.', fix: 'Run `dagctl python setup --airflow N` once, or add `--setup` to `dagctl cluster up`.'},
  PORT_TAKEN: {exit: 2, commands: ['cluster up'], cause: 'A port a component must listen on (Airflow, moto, sync metrics) is already taken on 127.0.0.1.', fix: 'Stop what listens there, or pick another port with `--port`, `--s3-port` or `--metrics-port`.'},
  CLUSTER_SECRETS_MISSING: {exit: 2, commands: ['cluster up'], cause: 'A Secret the release\'s pods read (or a key of it) is missing in the namespace, and the chart does not create it (the prod values name existing Secrets): the pods would never start; nothing was installed.', fix: 'Create each Secret the message lists with the keys it names (the hint has the `kubectl create secret` lines; values from your secret store), then run the same `cluster up` again.'},
  CLUSTER_NOT_UP: {exit: 1, commands: ['cluster status'], cause: 'Nothing of the cluster is up: no local component recorded, or no Helm release installed in the context and namespace.', fix: 'Run `dagctl cluster up` with the same profile (and `--env` for prod).'},
  CLUSTER_NOT_HEALTHY: {exit: 1, commands: ['cluster status'], cause: 'The cluster is up but not healthy: a component stopped or fails its health check, a workload has fewer ready replicas than desired, or Airflow reports an unhealthy part.', fix: 'The report names each part; read its log (local) or `kubectl describe` its pod, then `dagctl cluster up` restarts what is not running.'},
  CLUSTER_START_FAILED: {exit: 4, commands: ['cluster up'], cause: 'A component exited during start-up; nothing this `up` started is left running.', fix: 'Read the log file the message names (its last lines say why), fix it, and run `dagctl cluster up` again.'},
  CLUSTER_START_TIMEOUT: {exit: 124, commands: ['cluster up'], cause: 'A component did not become healthy within `--timeout`; nothing this `up` started is left running.', fix: 'Read the log file the message names; on a busy machine give it longer with `--timeout`.'},
  TOOL_MISSING: {exit: 2, commands: ['cluster up'], cause: 'A program the profile drives (kind, docker, helm, kubectl, terraform) is not installed, or does not answer `version`; the message lists each one with the version wanted and where to get it.', fix: 'Install it (or point DAGCTL_KIND, DAGCTL_DOCKER, DAGCTL_HELM, DAGCTL_KUBECTL or DAGCTL_TERRAFORM at it); `dagctl cluster up --profile P --dry-run` shows the whole preflight.'},
  TOOL_TOO_OLD: {exit: 2, commands: ['cluster up'], cause: 'A program the profile drives is older than dagctl needs (the message gives the version found and wanted).', fix: 'Upgrade it from where the message says.'},
  DOCKER_NOT_RUNNING: {exit: 4, commands: ['cluster up'], cause: 'The docker client is there but no Docker engine answers; kind runs its nodes as containers.', fix: 'Start Docker (Docker Desktop, colima, `sudo systemctl start docker`) and check with `docker info`.'},
  TOOL_FAILED: {exit: 4, commands: ['cluster up', 'cluster status', 'cluster down'], cause: 'kind, docker, helm, kubectl or terraform failed; the message has its last lines and the hint the whole command.', fix: 'Run the command the hint shows to see its whole output, fix the cause, and run `dagctl cluster up` again (safe to repeat).'},
  CLUSTER_VALUES_REFUSED: {exit: 2, commands: ['cluster up'], cause: 'The Kubernetes API server refused an object the values render to (e.g. a volume mount that names no volume) in its server-side dry run; nothing was installed.', fix: 'Fix the field the message names in the values files the hint lists (`--values` files included).'},
  KUBE_CONTEXT_MISMATCH: {exit: 5, commands: ['cluster up', 'cluster down'], cause: 'Profile prod: the kube context in use (`--context`, or kubectl\'s current context) is not the one `environments.<env>.kubernetes.context` names; nothing ran.', fix: 'Switch with `kubectl config use-context NAME` or pass `--context NAME`; or fix the context in dagctl.yaml.'},
  KUBE_CONTEXT_MISSING: {exit: 2, commands: ['cluster up', 'cluster down'], cause: 'The context dagctl.yaml names for the environment is not in the kubeconfig.', fix: 'Add it (for EKS: `aws eks update-kubeconfig --name CLUSTER --alias NAME`), or point KUBECONFIG at the file that has it.'},
  KUBE_CONTEXT_UNSET: {exit: 2, commands: ['cluster up', 'cluster status', 'cluster down'], cause: 'Profile prod needs `environments.<env>.kubernetes.context` in dagctl.yaml, and it is not set.', fix: 'Add `kubernetes: {context: NAME, namespace: airflow}` under the environment (docs/configuration.md).'},
  CHART_FILES_MISSING: {exit: 2, commands: ['cluster up'], cause: 'A values file (dagctl\'s charts/<chart>/values-<profile>.yaml, or a `--values` file) does not exist.', fix: 'Fix the `--values` path; reinstall dagctl (it ships charts/), or set DAGCTL_CHARTS_DIR to a folder with the same layout.'},
  TERRAFORM_DIR_MISSING: {exit: 2, commands: ['cluster up'], cause: 'The Terraform folder of profile prod (`--terraform-dir`, default terraform/ beside dagctl.yaml) does not exist.', fix: 'Pass `--terraform-dir DIR`: the root module that uses dagctl\'s terraform/ module.'},
  TERRAFORM_OUTPUTS: {exit: 2, commands: ['cluster up'], cause: '`terraform output -json` lacks an output dagctl needs (bucket, store, region, environment, airflow_role_arn), has one of the wrong shape, or is for another environment; nothing was installed.', fix: 'Fix the outputs of the Terraform module (docs/profiles.md lists them), or pass the `--terraform-dir` of this environment.'},
  CLUSTER_STORE_MISMATCH: {exit: 2, commands: ['cluster up'], cause: '`environments.<env>.store` in dagctl.yaml names another bucket than the one Terraform made: publish and Airflow would use different stores; nothing was installed.', fix: 'Set the store to the Terraform output `store`, or remove it from dagctl.yaml.'},

  // Airflow
  AIRFLOW_NOT_FOUND: {exit: 4, commands: ['trigger', 'runs', 'errors'], cause: 'No Airflow REST API answers at the configured address.', fix: 'Set `environments.<env>.airflow.url`, DAGCTL_AIRFLOW_URL or `--airflow-url` to the address of the Airflow UI, without /api.'},
  AIRFLOW_UNREACHABLE: {exit: 4, commands: ['trigger', 'runs', 'errors'], cause: 'Airflow could not be reached (connection refused, DNS, TLS) after the retries.', fix: 'Check that Airflow is up and the URL is right; `--retries N` tries longer.'},
  AIRFLOW_UNAVAILABLE: {exit: 4, commands: ['trigger', 'runs', 'errors'], cause: 'Airflow answered 429 or 5xx after the retries.', fix: 'Wait for Airflow to recover; `--retries N` tries longer; failed triggers are kept as dead letters (`dagctl trigger --replay FILE`).'},
  AIRFLOW_HTTP_nnn: {exit: 4, commands: ['trigger', 'runs', 'errors'], cause: 'Airflow refused the request with HTTP status nnn (e.g. 400 or 422: a conf or field it does not take).', fix: "Read Airflow's detail in the message; `--verbose` shows the request."},
  AIRFLOW_AUTH: {exit: 4, commands: ['trigger', 'runs', 'errors'], cause: 'Airflow refused the credentials (401), or the user lacks the permission (403), or /auth/token is not there (an auth manager without it).', fix: 'Set DAGCTL_AIRFLOW_USERNAME and DAGCTL_AIRFLOW_PASSWORD, or DAGCTL_AIRFLOW_TOKEN; see docs/security.md.'},
  DAG_FILE_SHARED: {exit: 5, commands: ['rollback'], cause: '`rollback --dag` names a DAG whose code is in a file with other DAGs (a hand-written file of several DAGs, the `package` or `batch:N` layout, a loader and its module in the `loader:N` layout): taking the file back takes those DAGs back too.', fix: 'Look at what changes with `dagctl diff TARGET HEAD`; pass `--whole-file` to take them back with it, or roll back the whole release (`--to ID` without `--dag`).'},
  DAG_NOT_FOUND: {exit: [2, 4], commands: ['trigger', 'runs', 'rollback'], cause: 'Airflow does not know the DAG (not published, not parsed yet, or an import error), or a rollback names a DAG in neither release.', fix: '`dagctl errors` lists the files Airflow could not import; `dagctl list` shows what is published.'},
  NOT_ALLOWED: {exit: 5, commands: ['trigger'], cause: 'The DAG is not on `trigger.allow` (default: the package’s own `<package>_*`); no request was sent.', fix: 'Trigger a DAG of the package, or widen `trigger.allow` in dagctl.yaml.'},
  RUN_FAILED: {exit: 1, commands: ['trigger'], cause: '`trigger --wait` followed the run and it failed.', fix: 'See the failed tasks listed and their logs in Airflow (the URL is printed).'},
  WAIT_TIMEOUT: {exit: 124, commands: ['trigger'], cause: 'The run was still going when `--timeout` ran out; it goes on in Airflow.', fix: 'Follow it with `dagctl runs`, or wait longer with `--timeout`.'},
  REPLAY_INCOMPLETE: {exit: 4, commands: ['trigger'], cause: '`trigger --replay` could not send every dead letter; those left stay in the file.', fix: 'Run `dagctl trigger --replay FILE` again once Airflow answers.'},
  EVENT_INVALID: {exit: 2, commands: ['trigger'], cause: 'The `--event` input is not JSON or lacks a field of an entity change event (entityType, entityUrn, category, operation, auditStamp.time).', fix: 'Pass the event as DataHub sends it; docs/mappings.md shows the accepted shapes.'},
  EVENT_UNSUPPORTED: {exit: 2, commands: ['trigger'], cause: 'The event is another kind than EntityChangeEvent_v1 (e.g. a MetadataChangeLog).', fix: 'Filter the DataHub Action pipeline on event_type EntityChangeEvent_v1.'},
}

/** The exit codes of one entry, as a list. */
export function exitsOf(entry: ErrorCodeEntry): ExitCodeValue[] {
  return Array.isArray(entry.exit) ? [...entry.exit] : [entry.exit as ExitCodeValue]
}
