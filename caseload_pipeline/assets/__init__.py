"""Dagster assets, one module per group of the flow:
extract -> validate -> load -> metrics -> audit -> report."""
