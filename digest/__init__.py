"""digest: turn daily research-paper feeds into dated, themed, searchable static digests."""

from __future__ import annotations

__version__ = "0.1.0"
