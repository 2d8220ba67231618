"""The build: one run from raw dumps to a finished site folder.

``run`` is the entry: it answers a build with nothing to do from ``stamp`` alone, else hands
over to ``full``, which wires ingest, the library and the site plan together; ``pool`` is the
one scheduler (pages and search units in two forked workers), ``writer`` stages files and
moves them into place with a manifest. May import everything below it: ingest, pages, site,
base modules.
"""
