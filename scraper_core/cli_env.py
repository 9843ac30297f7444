"""The environment variable of every option: ``SCRAPE_`` and the long flag, one name in every
command (``--data-dir``: ``SCRAPE_DATA_DIR`` for copy, list, verify and inventory alike).

The command line wins over the environment. ``KEY=VALUE`` options (``-o``) add up instead:
the environment's pairs first, the command line's after them (so a key given on both is the
command line's), which keeps secrets such as ``secret_key=`` off command lines while an
endpoint is still given there. Values of repeatable options are separated by whitespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click
from click.core import ParameterSource

PREFIX = "SCRAPE_"
#: Names read besides the one of the rule (kept from before it).
EXTRA_NAMES: Mapping[str, tuple[str, ...]] = {"--debug": ("REGISTRY_SCRAPER_DEBUG",)}


def env_name(flag: str) -> str:
    """``--output-dir`` -> ``SCRAPE_OUTPUT_DIR``."""
    return PREFIX + flag.lstrip("-").upper().replace("-", "_")


def _long_flag(param: click.Option) -> str | None:
    return next((flag for flag in param.opts if flag.startswith("--")), None)


def with_environment(params: Iterable[click.Parameter]) -> None:
    """Give every option of ``params`` its environment variable (shown in ``--help``)."""
    for param in params:
        if not isinstance(param, click.Option) or {"--help", "--version"} & set(param.opts):
            continue
        flag = _long_flag(param)
        if flag is None or param.envvar:
            continue
        param.envvar = [env_name(flag), *EXTRA_NAMES.get(flag, ())]
        param.show_envvar = True


def from_environment(ctx: click.Context, name: str) -> bool:
    """Whether the value of parameter ``name`` came from its environment variable."""
    return ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT


class PairsOption(click.Option):
    """A repeatable ``KEY=VALUE`` option whose environment pairs come before the command
    line's instead of being replaced by them."""

    def consume_value(
        self, ctx: click.Context, opts: Mapping[str, Any]
    ) -> tuple[Any, ParameterSource]:
        value, source = super().consume_value(ctx, opts)
        if source is ParameterSource.COMMANDLINE:
            from_env = self.value_from_envvar(ctx)
            if from_env:
                value = [*from_env, *value]
        return value, source
