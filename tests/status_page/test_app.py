"""The web process's wiring (``status_page/app.py``)."""

from __future__ import annotations

import pytest

from status_page import create_app
from tests.conftest import make_settings


def test_an_empty_secret_key_is_refused_naming_the_variable(
    database_url: str, redis_url: str
) -> None:
    # Every signed link and CSRF token hangs on it: better no app than forgeable ones.
    with pytest.raises(ValueError, match="FOREWARN_SECRET_KEY is empty"):
        create_app(make_settings(database_url, redis_url, secret_key=""))
