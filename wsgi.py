"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from portal import create_app

app = create_app()

# What starting made (modules, the app, its catalogs and templates' machinery) lives as long as
# the worker. Frozen, it is left out of the collector's full passes, which otherwise walk all of
# it: pauses of 70-100 ms every few dozen requests on the largest pages (bench/README.md).
gc.collect()
gc.freeze()
