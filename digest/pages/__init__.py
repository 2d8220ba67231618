"""Digest pages: the Markdown format, the cache of parsed pages, and the library built from them.

``format`` writes and reads one page, ``cache`` reads every page of a project (reusing parsed
pages while unchanged), ``library`` joins them into the records every output reads. May import
digest's base modules only: the pages know nothing of ingest, the site, build, mail or serve.
"""
