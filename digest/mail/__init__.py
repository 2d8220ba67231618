"""The daily email: its message (view model, parts, headers), the command, SMTP delivery.

``message`` renders a day through ``templates/email/``, ``command`` is ``digest email``,
``smtp`` delivers and keeps the sent log. May import pages, site (view models, templates) and
base modules; never build or serve.
"""
