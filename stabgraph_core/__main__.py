"""``python -m stabgraph_core`` is the ``stabgraph`` command."""

import sys

from .cli import main

sys.exit(main())
