"""`python -m caseload_pipeline.cli ...` is the `caseload` command."""

import sys

from caseload_pipeline.cli import main

sys.exit(main())
