"""Where each SDK setting comes from: an option, else the environment, else the profile, else
the driver's default.

The middle two are botocore's own chain (``AWS_MAX_ATTEMPTS``, then ``max_attempts`` in the
profile of ``AWS_CONFIG_FILE``...), left as botocore resolves them: the driver only puts its
defaults at the end of that chain and passes to the client what options say. botocore is
imported inside the functions: the plugin module stays light.
"""

from __future__ import annotations

from typing import Any

from registry_scraper_s3.config import DRIVER_NAME, S3Options
from scraper_core.errors import ConfigurationError

#: The driver's defaults, botocore's names; used where neither the environment nor the
#: profile says anything.
DRIVER_DEFAULTS: dict[str, object] = {
    # Enough to ride out a store restarting under a long copy.
    "max_attempts": 10,
    # Older botocore releases default to "legacy", which retries fewer errors.
    "retry_mode": "standard",
    # boto3 >= 1.36 adds CRC checksums to every upload by default, which many S3-compatible
    # stores reject; only send them where the API requires one.
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
}
USER_AGENT = "registry-scraper-s3"


def use_driver_defaults(session: Any) -> None:
    """End botocore's chain of each setting in ``DRIVER_DEFAULTS`` with the driver's default
    instead of botocore's, through the session's config store (botocore's advised way)."""
    from botocore.configprovider import ConfigChainFactory

    store = session.get_component("config_store")
    chains = ConfigChainFactory(session=session)
    for name, default in DRIVER_DEFAULTS.items():
        config_name, env_vars, _botocore_default, convert = session.session_var_map[name]
        chain = chains.create_config_chain(
            instance_name=name,
            env_var_names=env_vars,
            config_property_names=config_name,
            default=default,
            conversion_func=convert,
        )
        store.set_config_provider(name, chain)
        try:
            store.get_config_variable(name)
        except ValueError:
            # botocore's own message would be int()'s, naming no variable.
            raise ConfigurationError(
                f"{DRIVER_NAME}: {env_vars} or the profile's {config_name} must be a whole "
                f"number such as {default!r}"
            ) from None


def client_config(options: S3Options, region: str | None) -> Any:
    """A botocore ``Config`` holding what the options say, and nothing for what they leave
    unset: botocore then takes those from its chain (env, profile, the driver's default)."""
    from botocore.config import Config

    retries: dict[str, Any] = {}
    if options.max_attempts is not None:
        retries["total_max_attempts"] = options.max_attempts
    if options.retry_mode is not None:
        retries["mode"] = options.retry_mode
    addressing = options.addressing_style
    settings: dict[str, Any] = {
        "region_name": region,
        "retries": retries or None,
        "max_pool_connections": options.max_pool_connections,
        "s3": {"addressing_style": addressing} if addressing is not None else None,
        "request_checksum_calculation": options.checksum,
        "response_checksum_validation": options.checksum,
        "user_agent_extra": USER_AGENT,
    }
    return Config(**settings)


def attempts(client: Any) -> int:
    """Attempts per request the client resolved (its retries; the reader resumes as often)."""
    return int(client.meta.config.retries["total_max_attempts"])
