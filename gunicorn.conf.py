"""Gunicorn settings of the site: ``gunicorn -c gunicorn.conf.py … 'app:create_app()'``.

Command-line flags (workers, threads, bind) still apply; this file holds what every
deployment wants.
"""

import gc

#: Each open alarm console holds a thread for its event stream (README, production).
worker_class = "gthread"


def post_worker_init(worker):
    """Freeze what the worker made at start-up (the modules, the app, its mappers).

    About 180,000 objects that live as long as the process; without this, every full
    collection of the garbage collector walks them all — some 70 ms holding the interpreter,
    in the middle of whatever requests the worker is serving.
    """
    gc.freeze()
