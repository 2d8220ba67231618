"""The site: view models, their keys, templates and the search index, built from the library.

``records`` are the page view models, ``views`` builds them, ``plan`` lists every file with its
key (``keys`` owns keys; ``replan`` tells a rebuild which pages keep the last build's),
``charts`` and ``related`` are the algorithms pages show, ``notes``
renders Markdown notes, ``templates`` is the Jinja environment factory, ``render`` renders
pages, ``search``, ``lunr``, ``terms``, ``assembly`` and ``index`` write the search index.
May import digest's base modules and ``digest.pages``; never ingest, build, mail or serve
(they import the site).
"""
