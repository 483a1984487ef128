"""Soak and chaos runs: minutes long, behind `make soak` (WAYPOINT_SOAK=1), never in `make test`."""

import os

collect_ignore_glob = [] if os.environ.get("WAYPOINT_SOAK") == "1" else ["test_*.py"]
