"""Checks of the repository's own sample project: it must stay a valid, buildable project.

The rest of the suite never reads ``content/`` (it has its own data under ``tests/data/``);
these tests exist so that the sample a fresh clone builds stays consistent with the package.
"""

from __future__ import annotations

from digest.config import DEFAULTS_DIR, load_config
from tests.conftest import REPO


def test_sample_project_ships_the_default_themes() -> None:
    """The repository's own project uses the packaged defaults; they must not drift apart."""
    assert (REPO / "content/themes.yaml").read_text() == (DEFAULTS_DIR / "themes.yaml").read_text()


def test_sample_settings_have_a_working_email_section() -> None:
    email_config = load_config(REPO / "content" / "digest.yaml").email
    assert email_config.sender and email_config.to
