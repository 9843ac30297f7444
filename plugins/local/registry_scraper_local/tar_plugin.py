"""Entry-point module for the ``tar`` destination driver. Imports nothing heavy."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterDestinationOption, RegisterDriver, hookimpl
from scraper_core.shorthand import DestinationOption


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_local.tar import TarDriver

    register(TarDriver)


@hookimpl
def registry_scraper_add_destination_options(register: RegisterDestinationOption) -> None:
    # README "Shipping the copy" promises these two, their help lines included.
    register(
        DestinationOption(
            "--output-tar",
            driver="tar",
            metavar="FILE",
            path=True,
            stdout="-",
            help="Write the copy as one archive instead (.tar, .tar.gz, .tar.zst; - for stdout).",
        )
    )
    register(
        DestinationOption(
            "--split-size",
            driver="tar",
            option="split-size",
            metavar="SIZE",
            help="With --output-tar: write volumes FILE.000, FILE.001, ... of at most SIZE "
            "(4G, 100M).",
        )
    )
    register(
        DestinationOption(
            "--sign-key",
            driver="tar",
            option="sign-key",
            metavar="KEY",
            path=True,
            help="With --output-tar: sign FILE.sha256 with this OpenSSH private key, writing "
            "FILE.sha256.sig (ssh-keygen -Y, namespace registry-scraper).",
        )
    )
