"""Runs a real acryl-datahub-actions Pipeline (Pipeline.create, the same path as `datahub actions -c`)
with a file event source and dagctl's Action, and prints its figures as JSON.

    python datahub_pipeline.py EVENTS.ndjson ACTION_CONFIG_JSON

The source yields every envelope of the file at once (a backlog, as after a bulk ingestion) and
records when each was handed out and when the pipeline acked it.
"""
import json
import sys
import time
from typing import Iterable

from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline import Pipeline
from datahub_actions.pipeline.pipeline_context import PipelineContext
from datahub_actions.source.event_source import EventSource

STATS = {"yielded": {}, "acked": {}}


class FileEventSource(EventSource):
    def __init__(self, path: str):
        self.path = path

    @classmethod
    def create(cls, config_dict: dict, ctx: PipelineContext) -> "EventSource":
        return cls(config_dict["path"])

    def events(self) -> Iterable[EventEnvelope]:
        with open(self.path) as f:
            for i, line in enumerate(f):
                envelope = EventEnvelope.from_json(line)
                STATS["yielded"][i] = time.perf_counter()
                yield envelope

    def ack(self, event: EventEnvelope, processed: bool = True) -> None:
        # the pipeline is synchronous: acks come in the order the events were handed out
        STATS["acked"][len(STATS["acked"])] = time.perf_counter()

    def close(self) -> None:
        pass


def main() -> None:
    # the pipeline imports this file again by its module name (the source's type): read its figures
    import datahub_pipeline

    stats = datahub_pipeline.STATS
    events, action_config = sys.argv[1], json.loads(sys.argv[2])
    pipeline = Pipeline.create(
        {
            "name": "dagctl_bench",
            "source": {"type": "datahub_pipeline:FileEventSource", "config": {"path": events}},
            "action": {"type": "dagctl_datahub.action:DagctlAction", "config": action_config},
            "options": {"retry_count": 0, "failure_mode": "CONTINUE"},
        }
    )
    t0 = time.perf_counter()
    pipeline.run()
    end = time.perf_counter()
    pipeline.close()
    lat = sorted(stats["acked"][i] - stats["yielded"][i] for i in stats["acked"])
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0
    print(json.dumps({
        "events": len(stats["acked"]),
        "seconds": end - t0,
        "per_second": len(stats["acked"]) / (end - t0),
        "latency_median": pick(0.5),
        "latency_p99": pick(0.99),
        "failed": pipeline.stats().get_failed_event_count(),
    }))


if __name__ == "__main__":
    main()
