"""DataHub Action → dagctl trigger. See docs/trigger.md in the dagctl repository."""

from dagctl_datahub.action import DagctlAction, DagctlActionConfig, DagctlTriggerError

__all__ = ["DagctlAction", "DagctlActionConfig", "DagctlTriggerError"]
