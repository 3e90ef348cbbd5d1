"""gunicorn settings for a checkout and the Docker image.

``gunicorn -c gunicorn.conf.py app:server`` from the repository root.

The settings and the worker hooks live in ``app/gunicorn_conf.py`` (installed as
``stabgraph_app.gunicorn_conf``, which ``stabgraph serve`` uses); see its docstring for the
environment variables.
"""

import importlib

from app import gunicorn_conf as _conf

# read again: the settings come from the environment as it is when this file is read
_conf = importlib.reload(_conf)
globals().update({name: value for name, value in vars(_conf).items() if not name.startswith("_")})
