"""personalize-mock: an offline Amazon Personalize for moto.

    from personalize_mock import mock_personalize

    @mock_personalize
    def test_something(): ...

Importing the package registers personalize, personalize-runtime and personalize-events with moto,
so moto's own `mock_aws` serves them too. Importing stays light: torch and the engines load when
a solution version trains."""
from __future__ import annotations

from typing import Any, Callable

from .plugin import install

__version__ = "0.1.0"

install()


def mock_personalize(func: Callable | None = None, config: Any = None):
    """moto's mock_aws with the Personalize plugin installed: a decorator (function or class) or a
    context manager."""
    from moto import mock_aws

    install()
    return mock_aws(func) if func is not None else mock_aws(config=config)


__all__ = ["install", "mock_personalize", "__version__"]
