"""The ``scrape`` group: what happens before a command runs.

``scrape IMAGE...`` runs ``copy`` (the default command, so the promise ``scrape --data-dir
... IMAGE`` needs no command name); the output flags may come before a command's name;
under ``--json`` a usage error click finds is an error document on stdout too; ``scrape
--<TAB>`` completes the default command's options beside the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from click.shell_completion import CompletionItem

from scraper_core.cli_output import error_document, json_asked, leading_output_flags_moved


class DefaultCommandGroup(click.Group):
    """A group whose first argument, when not a sub-command, goes to ``default_command``."""

    default_command = "copy"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = leading_output_flags_moved(args, list(self.commands))
        help_asked = bool(args) and args[0] in ctx.help_option_names
        if args and not help_asked and args[0] not in self.commands and args[0] != "--version":
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        # Imported here: `scrape --help` ends before this and scans nothing.
        from scraper_core.entrypoints import scanned_once

        # One command, one scan of the installed plugins, however many plugin hosts it builds.
        with scanned_once():
            return super().invoke(ctx)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """The commands' names, and the default command's options (``scrape --<TAB>``)."""
        items = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            command = self.commands[self.default_command]
            inner = click.Context(command, ctx, self.default_command, resilient_parsing=True)
            known = {item.value for item in items}
            items += [
                item
                for item in command.shell_complete(inner, incomplete)
                if item.value not in known
            ]
        return items

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: object,
    ) -> object:
        """As click's, and a usage error under ``--json`` is an error document on stdout too."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        given = list(sys.argv[1:] if args is None else args)
        try:
            # Not standalone, click returns the code of a ctx.exit() (--help, --version).
            code = super().main(given, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            exc.show()
            if json_asked(given):
                click.echo(error_document(exc.format_message(), exc.exit_code))
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
