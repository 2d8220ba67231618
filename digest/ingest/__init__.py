"""Ingest: raw dumps in, papers classified and merged into digest pages.

``parse`` reads page dumps into entries (``hf_json`` saved responses of Hugging Face's API),
``identity`` tells which entries and papers are one paper and keeps distinct papers' ids
distinct, ``themes`` reads the rules file, ``patterns`` compiles its regular expressions
safely, ``classify`` matches papers against it, ``merge`` adds entries to pages (pure),
``retheme`` re-files them when the rules change, ``run`` writes the pages, ``fetch`` asks the
API for missing days (the one module that talks HTTP), and ``evaluate`` measures the rules
against labels. May import digest's base modules (model,
errors, fsutil, yamlfile) and ``digest.pages``; never the site, build, mail or serve.
"""
