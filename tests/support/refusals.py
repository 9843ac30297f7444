"""How a test says "refused in one line": the ConfigurationError an action raises."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scraper_core.errors import ConfigurationError


def refusal(action: Callable[[], object], match: str | None = None) -> str:
    """The message of the ConfigurationError ``action`` raises (matching ``match``), checked
    to be one line: a user sees one line per problem."""
    with pytest.raises(ConfigurationError, match=match) as caught:
        action()
    message = str(caught.value)
    assert "\n" not in message, message
    return message
