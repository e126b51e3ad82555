#!/usr/bin/env bash
# The step of the dagctl composite action (action.yml beside this file). Inputs arrive as
# DAGCTL_INPUT_* variables; the seed's CI variables (ENVIRONMENT, PACKAGE_NAME, IMAGE_TAG,
# DAG_BUCKET, AWS credentials) are mapped onto DAGCTL_* as in the GitLab template. Writes the
# reports, $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT. Never prints a variable's value.
set -euo pipefail

fail() { echo "::error title=dagctl::$1"; echo "dagctl-action: $1" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="${GITHUB_WORKSPACE:-$PWD}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
output="${GITHUB_OUTPUT:-/dev/null}"
command="${DAGCTL_INPUT_COMMAND:-validate}"

# dagctl itself: the input, dagctl on PATH, or built from the checkout this action came from
if [ -n "${DAGCTL_INPUT_DAGCTL:-}" ]; then
  read -r -a dagctl <<< "$DAGCTL_INPUT_DAGCTL"
elif command -v dagctl >/dev/null 2>&1; then
  dagctl=(dagctl)
else
  repo="$(cd "$here/../../.." && pwd)"
  [ -f "$repo/bin/run.js" ] || fail "dagctl is not on PATH and this action's checkout has no bin/run.js: set the dagctl input"
  if [ ! -f "$repo/oclif.manifest.json" ]; then (cd "$repo" && npm ci --no-audit --no-fund && npm run build) >&2; fi
  dagctl=(node "$repo/bin/run.js")
fi

# the seed's variables, unless DAGCTL_* says otherwise; the input wins over both
export DAGCTL_ENV="${DAGCTL_INPUT_ENVIRONMENT:-${DAGCTL_ENV:-${ENVIRONMENT:-dev}}}"
if [ -z "${DAGCTL_PACKAGE:-}" ] && [ -n "${PACKAGE_NAME:-}" ]; then export DAGCTL_PACKAGE="$PACKAGE_NAME"; fi
if [ -n "${DAGCTL_INPUT_STORE:-}" ]; then export DAGCTL_STORE="$DAGCTL_INPUT_STORE"; fi
if [ -z "${DAGCTL_STORE:-}" ] && [ -n "${DAG_BUCKET:-}" ]; then export DAGCTL_STORE="s3://${DAG_BUCKET}${DAG_PREFIX:+/$DAG_PREFIX}"; fi

cd "$workspace/${DAGCTL_INPUT_PACKAGE_DIR:-.}" || fail "package-dir names no folder of the workspace"
[ -f dagctl.yaml ] || fail "no dagctl.yaml in package-dir (${DAGCTL_INPUT_PACKAGE_DIR:-.}): set package-dir to the package's folder"

require_store() {
  local missing="" store="${DAGCTL_STORE:-}"
  if [ -z "$store" ]; then
    local config
    # an environment dagctl.yaml does not define (ENV_UNKNOWN) has no store there: DAG_BUCKET is what is missing
    if ! config=$("${dagctl[@]}" config --json); then
      if printf '%s' "$config" | grep -Eq '"code": ?"ENV_UNKNOWN"'; then config=""; else "${dagctl[@]}" config >&2 || true; fail "dagctl config failed (above): fix dagctl.yaml"; fi
    fi
    [ -z "$config" ] || store=$(printf '%s' "$config" | node "$here/summary.mjs" store)
  fi
  [ -n "$store" ] || missing="$missing DAG_BUCKET (or DAGCTL_STORE, the store input, or environments.$DAGCTL_ENV.store in dagctl.yaml)"
  case "$store" in
    s3://*)
      if [ -z "${AWS_WEB_IDENTITY_TOKEN_FILE:-}${AWS_PROFILE:-}${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" ] && [ "${DAGCTL_AWS_AMBIENT_CREDENTIALS:-}" != "true" ]; then
        [ -n "${AWS_ACCESS_KEY_ID:-}" ] || missing="$missing AWS_ACCESS_KEY_ID"
        [ -n "${AWS_SECRET_ACCESS_KEY:-}" ] || missing="$missing AWS_SECRET_ACCESS_KEY"
      fi
      ;;
  esac
  [ -z "$missing" ] || fail "missing variable(s):$missing. Set them as repository or environment secrets and pass them in env: (docs/ci.md)"
}

worst=0
keep() { local rc=$1; if [ "$worst" -eq 0 ]; then worst=$rc; fi; }

case "$command" in
  validate)
    sarif="$workspace/${DAGCTL_INPUT_SARIF:-dagctl-reports/validate.sarif}"
    mkdir -p "$(dirname "$sarif")"
    gen_out=$("${dagctl[@]}" generate --check 2>&1) || keep $?
    printf '%s\n' "$gen_out"
    text=$("${dagctl[@]}" validate --format sarif --output "$sarif") || keep $?
    printf '%s\n' "$text"
    if [ -n "${DAGCTL_INPUT_JUNIT:-}" ]; then
      mkdir -p "$(dirname "$workspace/$DAGCTL_INPUT_JUNIT")"
      "${dagctl[@]}" validate --format junit --output "$workspace/$DAGCTL_INPUT_JUNIT" >/dev/null || keep $?
    fi
    echo "sarif=$sarif" >> "$output"
    {
      echo "## dagctl validate"
      echo
      if [ "$worst" -eq 0 ]; then echo "Passed."; else echo "**Failed** (exit $worst)."; fi
      echo
      echo '```'
      printf '%s\n%s\n' "$gen_out" "$text"
      echo '```'
    } >> "$summary"
    exit "$worst"
    ;;
  publish)
    require_store
    "${dagctl[@]}" generate --check
    if [ -z "${DAGCTL_IMAGE:-}" ] && [ -n "${IMAGE_TAG:-}" ]; then
      [ -n "${DAGCTL_IMAGE_REPOSITORY:-}" ] || fail "IMAGE_TAG is set but not the repository it tags: set DAGCTL_IMAGE_REPOSITORY"
      export DAGCTL_IMAGE="$DAGCTL_IMAGE_REPOSITORY:$IMAGE_TAG"
    fi
    message="${DAGCTL_INPUT_MESSAGE:-$(git log -1 --format=%s 2>/dev/null || echo "published by GitHub Actions")}"
    result_file="$(mktemp)"
    rc=0
    "${dagctl[@]}" publish --message "$message" --json > "$result_file" || rc=$?
    node "$here/summary.mjs" publish "$result_file" "$summary" "$output"
    rm -f "$result_file"
    exit "$rc"
    ;;
  trigger)
    [ -n "${DAGCTL_INPUT_DAG:-}" ] || fail "trigger needs the dag input"
    rc=0
    "${dagctl[@]}" trigger "$DAGCTL_INPUT_DAG" --correlation-id "gh-${GITHUB_RUN_ID:-local}-${GITHUB_RUN_ATTEMPT:-1}" --unpause --wait --timeout "${DAGCTL_INPUT_TIMEOUT:-15m}" || rc=$?
    { echo "## dagctl trigger"; echo; echo "\`$DAGCTL_INPUT_DAG\` in $DAGCTL_ENV: exit $rc (0 success, 1 run failed, 124 timed out; docs/exit-codes.md)."; } >> "$summary"
    exit "$rc"
    ;;
  *)
    fail "command must be validate, publish or trigger (got: $command)"
    ;;
esac
