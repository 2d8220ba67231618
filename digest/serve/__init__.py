"""The preview server: rebuild on change, serve the last complete build, reload open tabs.

``state`` is what is served, ``rebuild`` builds into the folder not being served, ``http``
maps requests to files and streams events, ``watch`` filters file events, ``preview`` runs
the whole loop. May import build and everything below it.
"""
