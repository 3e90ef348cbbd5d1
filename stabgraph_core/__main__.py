"""The ``stabgraph`` command (also ``python -m stabgraph_core``).

Chromium is launched first, before NumPy, Plotly and the rest of stabgraph are imported:
it takes most of a second to start and load its page, and those imports (a third of a
second) then happen while it does, instead of before it starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# Options that end the command without a figure (argparse also accepts unambiguous
# prefixes, such as --detect-o or --vers).
_NO_FIGURE = ("--help", "--version", "--detect-only")


def _makes_figure(args: Sequence[str]) -> bool:
    if list(args[:1]) in (["serve"], ["watch"]):
        return False
    for arg in args:
        name = arg.split("=", 1)[0]
        if name == "-h" or (len(name) > 3 and any(o.startswith(name) for o in _NO_FIGURE)):
            return False
    return True


def main() -> None:
    """Entry point of the ``stabgraph`` console script.

    However the command ends (done, a usage error, a bad folder, Ctrl-C), the Chromium it
    started is stopped before it exits, and its profile folders are removed with it.
    """
    try:
        if _makes_figure(sys.argv[1:]):
            from .export import start_renderer

            start_renderer()  # returns once Chromium is launched; it loads its page meanwhile
        from .cli import main as run

        code = run()
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (``stabgraph ... | head``): stop quietly, as Unix tools do;
        # stdout goes to /dev/null so the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    finally:
        export = sys.modules.get(f"{__package__}.export")  # loaded: a Chromium may be running
        if export is not None:
            export.stop_renderer(quick=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
