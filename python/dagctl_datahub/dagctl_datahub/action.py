"""A DataHub Action that hands each event to dagctl.

The Action does no mapping, policy or HTTP of its own: it runs
``dagctl trigger --event - --json`` with the event envelope on stdin, so the mapping file, the
allowlist, the idempotent run id (derived from the event: a redelivered event starts no second
run), retries and the dead-letter file are the same as on the command line.

Exit codes of dagctl and what the Action does with them:

* 0 - triggered, already triggered, or no rule matched: the event is done.
* 5 - refused by the allowlist: logged as a warning, the event is done (retrying cannot help).
* anything else (2 bad mapping or event, 4 Airflow failed after retries and the request is in
  the dead-letter file, ...) - ``DagctlTriggerError`` is raised, so the pipeline's own retry and
  failed-events handling apply.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from typing import Dict, List, Optional

from datahub.configuration.common import ConfigModel
from datahub_actions.action.action import Action
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext

logger = logging.getLogger(__name__)

EXIT_POLICY = 5


class DagctlActionConfig(ConfigModel):
    """The ``action.config`` block of the pipeline file."""

    #: how to run dagctl (e.g. ["dagctl"] or ["npx", "dagctl"] or ["node", "/opt/dagctl/bin/run.js"])
    command: List[str] = ["dagctl"]
    #: extra flags for ``dagctl trigger``, e.g. ["--env", "prod", "--mapping", "/etc/dagctl/mapping.yaml"]
    args: List[str] = []
    #: the folder holding dagctl.yaml (the package whose allowlist applies)
    cwd: Optional[str] = None
    #: extra environment for dagctl, e.g. {"DAGCTL_AIRFLOW_URL": "..."}; secrets are better
    #: passed in the Action's own environment (DAGCTL_AIRFLOW_PASSWORD / DAGCTL_AIRFLOW_TOKEN)
    env: Dict[str, str] = {}
    #: seconds one dagctl call may take (its own retries included)
    timeout_seconds: float = 300.0
    #: events handed to dagctl; others are ignored
    event_types: List[str] = ["EntityChangeEvent_v1"]


class DagctlTriggerError(Exception):
    """dagctl could not trigger for this event; the message is dagctl's (it never holds a secret)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class DagctlAction(Action):
    def __init__(self, config: DagctlActionConfig, ctx: PipelineContext):
        self.config = config
        self.ctx = ctx

    @classmethod
    def create(cls, config_dict: dict, ctx: PipelineContext) -> "Action":
        return cls(DagctlActionConfig.model_validate(config_dict or {}), ctx)

    def act(self, event: EventEnvelope) -> None:
        if event.event_type not in self.config.event_types:
            return
        argv = [*self.config.command, "trigger", "--event", "-", "--json", *self.config.args]
        env = {**os.environ, **self.config.env, "NO_COLOR": "1"}
        try:
            proc = subprocess.run(
                argv,
                input=event.as_json(),
                capture_output=True,
                text=True,
                cwd=self.config.cwd,
                env=env,
                timeout=self.config.timeout_seconds,
            )
        except FileNotFoundError as e:
            raise DagctlTriggerError(f"cannot run {self.config.command[0]}: {e.strerror}; set action.config.command", 127) from None
        except subprocess.TimeoutExpired:
            raise DagctlTriggerError(f"dagctl took longer than {self.config.timeout_seconds:g} s", 124) from None

        result = _parse(proc.stdout)
        if proc.returncode == 0:
            for t in (result or {}).get("triggers", []):
                logger.info("dagctl: %s %s run %s (%s)", t.get("status"), t.get("dag_id"), t.get("run_id"), t.get("url"))
            if result is not None and not result.get("matched"):
                logger.debug("dagctl: no mapping rule matches this event")
            return
        error = (result or {}).get("error") or {}
        stderr_lines = proc.stderr.strip().splitlines()
        message = error.get("message") or (stderr_lines[-1] if stderr_lines else f"exit {proc.returncode}")
        if proc.returncode == EXIT_POLICY:
            logger.warning("dagctl refused by policy: %s", message)
            return
        raise DagctlTriggerError(f"dagctl trigger exited {proc.returncode}: {message}", proc.returncode)

    def close(self) -> None:
        pass


def _parse(stdout: str) -> Optional[dict]:
    try:
        value = json.loads(stdout)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
