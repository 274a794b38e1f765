"""Dagster assets, one module per group of the flow:
extract -> validate -> load -> metrics -> audit -> report.

Each asset imports the pipeline step it runs inside its body: the step pulls
in pandas, DuckDB or Great Expectations, which loading the code location (the
UI, the daemon, every run's start) does not need.
"""
