"""``python -m app``: the development server (use gunicorn ``app:server`` in production)."""

from __future__ import annotations

import argparse
import os
import signal
import sys


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description="Serve the stabgraph app.")
    parser.add_argument("--results_root", help="folder whose sub-folders hold runs")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8050")))
    parser.add_argument("--debug", action="store_true", help="Dash dev tools and reloading")
    args = parser.parse_args()
    if args.results_root:
        # The package is imported before this runs (``-m app``), so whatever reads the
        # results root reads it from the environment when it needs it, not at import.
        os.environ["STABGRAPH_RESULTS_ROOT"] = args.results_root
    from . import app

    # SIGTERM (docker stop, a supervisor, a test harness) ends the server like Ctrl-C does,
    # so the exit hooks run: the export browser is stopped and its folders are removed.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    # the dev tools' upgrade check would fetch from plotly.com, which the page's policy
    # (app/security.py) does not allow: the page talks to this server only
    app.run(host=args.host, port=args.port, debug=args.debug, dev_tools_disable_version_check=True)


if __name__ == "__main__":
    main()
