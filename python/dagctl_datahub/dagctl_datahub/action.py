"""A DataHub Action that hands each event to dagctl.

The Action does no mapping, policy or HTTP of its own: it keeps one long-lived
``dagctl trigger --event - --stream`` process, writes each event envelope to its stdin as one
line and reads one JSON answer line per event, so the mapping file, the allowlist, the idempotent
run id (derived from the event: a redelivered event starts no second run), retries and the
dead-letter file are the same as on the command line, without a Node start-up per event.

If that process dies (or stops answering within ``timeout_seconds``), the Action starts a new one
and sends the event in flight again: nothing is dropped, and the run id derived from the event
makes a resend of an event that had already started its run an "already triggered", never a second
run. ``stream: false`` runs one ``dagctl trigger --event - --json`` per event instead.

Exit codes of dagctl (per event: the answer's ``exitCode``) and what the Action does with them:

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
import threading
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
    #: one long-lived dagctl (``trigger --event - --stream``) for all events; false: one dagctl per event
    stream: bool = True
    #: how many times an event in flight is sent to a fresh dagctl after the previous one died
    restarts_per_event: int = 3


class DagctlTriggerError(Exception):
    """dagctl could not trigger for this event; the message is dagctl's (it never holds a secret)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class DagctlAction(Action):
    def __init__(self, config: DagctlActionConfig, ctx: PipelineContext):
        self.config = config
        self.ctx = ctx
        self._proc: Optional[subprocess.Popen] = None

    @classmethod
    def create(cls, config_dict: dict, ctx: PipelineContext) -> "Action":
        return cls(DagctlActionConfig.model_validate(config_dict or {}), ctx)

    def act(self, event: EventEnvelope) -> None:
        if event.event_type not in self.config.event_types:
            return
        if not self.config.stream:
            self._act_once(event)
            return
        # one line: the envelope as compact JSON (dagctl reads one event per line)
        line = json.dumps(json.loads(event.as_json()), separators=(",", ":")) + "\n"
        answer: Optional[dict] = None
        for attempt in range(self.config.restarts_per_event + 1):
            answer = self._ask(line)
            if answer is not None:
                break
            logger.warning("dagctl stopped before answering (attempt %d); starting a new one and sending the event again", attempt + 1)
        if answer is None:
            raise DagctlTriggerError(f"dagctl died {self.config.restarts_per_event + 1} times on this event", 1)
        if answer.get("fatal"):
            # dagctl.yaml or the mapping is broken: it exits; the next event starts a new one (maybe fixed by then)
            self._stop()
        self._handle(int(answer.get("exitCode", 1)), answer.get("result") if "result" in answer else answer, "")

    def _ask(self, line: str) -> Optional[dict]:
        """Sends one event line to the long-lived dagctl and waits for its answer; None if it died or hung (it is then stopped)."""
        proc = self._process()
        timer = threading.Timer(self.config.timeout_seconds, proc.kill)
        timer.start()
        try:
            proc.stdin.write(line)
            proc.stdin.flush()
            while True:
                reply = proc.stdout.readline()
                if not reply:
                    break  # EOF: dagctl died (or was killed by the timer)
                value = _parse(reply)
                if value is not None and "exitCode" in value:
                    return value
                logger.debug("dagctl: %s", reply.rstrip())
        except (BrokenPipeError, OSError):
            pass
        finally:
            timer.cancel()
        self._stop()
        return None

    def _process(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        argv = [*self.config.command, "trigger", "--event", "-", "--stream", *self.config.args]
        try:
            # stderr passes through to the Action's own (dagctl's notes and warnings; never a secret)
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
                cwd=self.config.cwd,
                env={**os.environ, **self.config.env, "NO_COLOR": "1"},
            )
        except FileNotFoundError as e:
            raise DagctlTriggerError(f"cannot run {self.config.command[0]}: {e.strerror}; set action.config.command", 127) from None
        return self._proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _act_once(self, event: EventEnvelope) -> None:
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
        self._handle(proc.returncode, _parse(proc.stdout), proc.stderr)

    def _handle(self, code: int, result: Optional[dict], stderr: str) -> None:
        if code == 0:
            for t in (result or {}).get("triggers", []):
                logger.info("dagctl: %s %s run %s (%s)", t.get("status"), t.get("dag_id"), t.get("run_id"), t.get("url"))
            if result is not None and not result.get("matched"):
                logger.debug("dagctl: no mapping rule matches this event")
            return
        error = (result or {}).get("error") or {}
        stderr_lines = stderr.strip().splitlines()
        message = error.get("message") or (stderr_lines[-1] if stderr_lines else f"exit {code}")
        if code == EXIT_POLICY:
            logger.warning("dagctl refused by policy: %s", message)
            return
        raise DagctlTriggerError(f"dagctl trigger exited {code}: {message}", code)

    def close(self) -> None:
        self._stop()


def _parse(stdout: str) -> Optional[dict]:
    try:
        value = json.loads(stdout)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
