"""Validation of a month's files: Great Expectations suites and plain-word findings."""
