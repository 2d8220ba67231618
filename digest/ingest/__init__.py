"""Ingest: raw dumps in, papers classified and merged into digest pages.

``parse`` reads page dumps into entries, ``themes`` reads the rules file, ``patterns`` compiles
its regular expressions safely, ``classify`` matches papers against it, ``identity`` keeps
distinct papers' ids distinct, ``merge`` adds entries to pages (pure), ``run`` writes the pages,
and ``evaluate`` measures the rules against labels. May import digest's base modules (model,
errors, fsutil, yamlfile) and ``digest.pages``; never the site, build, mail or serve.
"""
