"""Benchmark: Dagster's SQLite event log, the stock class against ours.

    uv run python bench/bench_event_log.py [--events 600] [--runs 1] [--repeat 3]

Stores the same asset materialization events (`--runs` runs, `--events` in all)
through Dagster's `SqliteEventLogStorage` and through
`caseload_pipeline.defs.event_log.SqliteEventLogKeptOpen`, each into a fresh
folder, alternating, and prints milliseconds an event and their ratio (ours /
stock; lower is better). One run of many events is a `materialize --all` over
the history; many runs of few events, a test session. Results go to
bench/results/bench_event_log-*.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid

from common import machine, save_result
from dagster import AssetKey, AssetMaterialization
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage

from caseload_pipeline.defs.event_log import SqliteEventLogKeptOpen

MONTHLY_TABLES = 7


def events(runs: int, count: int) -> list[EventLogEntry]:
    """`count` materializations spread over `runs` runs, seven assets a month."""
    made = []
    for run in range(runs):
        run_id = str(uuid.uuid4())
        for i in range(count // runs):
            event = DagsterEvent(
                DagsterEventType.ASSET_MATERIALIZATION.value, "monthly_job",
                event_specific_data=StepMaterializationData(AssetMaterialization(
                    AssetKey(f"table_{i % MONTHLY_TABLES}"),
                    partition=f"month_{run}_{i // MONTHLY_TABLES}", metadata={"rows": i})))
            made.append(EventLogEntry(error_info=None, level=20, user_message="",
                                      run_id=run_id, timestamp=time.time(),
                                      dagster_event=event))
    return made


def ms_an_event(storage_class, batch: list[EventLogEntry]) -> float:
    with tempfile.TemporaryDirectory(prefix="caseload-bench-events-") as folder:
        storage = storage_class(folder)
        start = time.perf_counter()
        for event in batch:
            storage.store_event(event)
        elapsed = time.perf_counter() - start
        storage.dispose()
    return elapsed / len(batch) * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=600)
    p.add_argument("--runs", type=int, default=1, help="runs the events are spread over")
    p.add_argument("--repeat", type=int, default=3, help="rounds; the best of each counts")
    args = p.parse_args()
    times: dict[str, list[float]] = {"stock": [], "ours": []}
    for _ in range(args.repeat):
        for name, storage_class in (("stock", SqliteEventLogStorage),
                                    ("ours", SqliteEventLogKeptOpen)):
            times[name].append(ms_an_event(storage_class, events(args.runs, args.events)))
    best = {name: min(values) for name, values in times.items()}
    ratio = best["ours"] / best["stock"]
    print(f"  {args.events} events over {args.runs} run(s), best of {args.repeat}: "
          f"stock {best['stock']:.2f} ms an event, ours {best['ours']:.2f} ms; "
          f"ratio {ratio:.2f}")
    save_result("bench_event_log", {"machine": machine(), "args": vars(args),
                                    "ms_an_event": times, "best": best, "ratio": ratio})
    return 0


if __name__ == "__main__":
    sys.exit(main())
