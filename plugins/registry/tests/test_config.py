"""Location, options, auth files and challenges: no registry needed."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from registry_scraper_registry.challenge import parse_challenge
from registry_scraper_registry.credentials import Credentials, auth_files, find_credentials
from registry_scraper_registry.location import DEFAULT_CHUNK_SIZE, parse_location
from registry_scraper_registry.plugin import RegistryDestinationClass
from scraper_core.errors import ConfigurationError
from tests.support.cli_process import python_output


def test_location_keeps_repositories_under_the_namespace() -> None:
    where = parse_location("reg.example:5000/mirror/team", {"tls": "false"})
    assert (where.host, where.namespace, where.base_url) == (
        "reg.example:5000",
        "mirror/team",
        "http://reg.example:5000",
    )
    assert where.repository("library/alpine") == "mirror/team/library/alpine"
    assert where.chunk_size == DEFAULT_CHUNK_SIZE
    assert parse_location("reg.example", {"chunk-size": "1MiB"}).base_url == "https://reg.example"


@pytest.mark.parametrize("name", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_is_pushed_to_where_it_serves_the_api(name: str) -> None:
    where = parse_location(f"{name}/myorg", {})
    assert (where.base_url, where.host) == ("https://registry-1.docker.io", name)


@pytest.mark.parametrize(
    ("location", "options", "named"),
    [
        ("https://reg.example", {}, "no scheme"),
        ("reg.example/Upper", {}, "invalid location"),
        ("reg.example", {"tls": "maybe"}, "tls"),
        ("reg.example", {"chunk-size": "12"}, "chunk-size"),
        ("reg.example", {"ca-bundle": "/nonexistent/ca.pem"}, "ca-bundle"),
        ("reg.example", {"password": "hunter2"}, "unknown option 'password'"),
    ],
)
def test_bad_location_or_option_is_one_line_naming_it(
    location: str, options: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_location(location, options)
    assert named in str(raised.value) and "\n" not in str(raised.value)


def _auths(path: Path, entries: dict[str, object], **extra: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": entries, **extra}))
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_auth_files_in_the_order_the_ecosystem_reads_them(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    assert auth_files(env) == [
        tmp_path / "run/containers/auth.json",
        tmp_path / ".config/containers/auth.json",
        tmp_path / ".docker/config.json",
    ]
    assert auth_files({**env, "REGISTRY_AUTH_FILE": "/x/auth.json"}) == [Path("/x/auth.json")]


def test_first_file_naming_the_host_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _auths(tmp_path / "run/containers/auth.json", {"other:5000": {"auth": _b64("o:p")}})
    docker = _auths(
        tmp_path / ".docker/config.json",
        {"https://reg:5000/v1/": {"username": "d", "password": "dp"}},
    )
    assert find_credentials("reg:5000", files=[run, docker]) == Credentials("d", "dp")
    _auths(run, {"reg:5000": {"auth": _b64("u:p:with:colons")}})
    assert find_credentials("reg:5000", files=[run, docker]) == Credentials("u", "p:with:colons")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(docker))
    assert find_credentials("reg:5000") == Credentials("d", "dp")
    assert find_credentials("nowhere:1") is None


def test_most_specific_namespace_key_wins(tmp_path: Path) -> None:
    path = _auths(
        tmp_path / "auth.json",
        {"reg": {"auth": _b64("host:1")}, "reg/team": {"auth": _b64("team:2")}},
    )
    assert find_credentials("reg", "team/sub", files=[path]) == Credentials("team", "2")
    assert find_credentials("reg", "other", files=[path]) == Credentials("host", "1")


def test_credential_helpers_are_asked_with_the_host_on_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = tmp_path / "bin" / "docker-credential-fake"
    helper.parent.mkdir()
    # Answers for reg:5000 only, as a keychain helper would.
    helper.write_text(
        "#!/bin/sh\nread host\n"
        'if [ "$host" = reg:5000 ]; then\n'
        '  echo \'{"ServerURL":"reg:5000","Username":"helped","Secret":"s"}\'\n'
        "else echo 'credentials not found in native keychain'; exit 1; fi\n"
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helper.parent}{os.pathsep}{os.environ['PATH']}")
    per_host = _auths(tmp_path / "a.json", {}, credHelpers={"reg:5000": "fake"})
    assert find_credentials("reg:5000", files=[per_host]) == Credentials("helped", "s")
    store = _auths(tmp_path / "b.json", {}, credsStore="fake")
    assert find_credentials("reg:5000", files=[store]) == Credentials("helped", "s")
    assert find_credentials("other:1", files=[store]) is None


def test_a_malformed_auth_value_is_named_never_shown(tmp_path: Path) -> None:
    path = _auths(tmp_path / "auth.json", {"reg": {"auth": "bm8tY29sb24tc2VjcmV0"}})
    with pytest.raises(ConfigurationError) as raised:
        find_credentials("reg", files=[path])
    assert "reg" in str(raised.value) and "bm8tY29sb24tc2VjcmV0" not in str(raised.value)


def test_challenges_as_registries_send_them() -> None:
    bearer = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",'
        'scope="repository:a/b:pull,push repository:c:pull"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params["realm"] == "https://auth.example/token"
    assert bearer.scopes == ("repository:a/b:pull,push", "repository:c:pull")
    assert parse_challenge('Basic realm="Registry Realm"').params == {"realm": "Registry Realm"}


@pytest.mark.parametrize(
    "key", ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
)
@pytest.mark.parametrize("host", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_is_one_host_whichever_name_the_file_uses(
    tmp_path: Path, key: str, host: str
) -> None:
    path = _auths(tmp_path / "auth.json", {key: {"auth": _b64("hub:pw")}})
    assert find_credentials(host, "myorg", files=[path]) == Credentials("hub", "pw")
    assert find_credentials("quay.io", files=[path]) is None


def _helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    helper = tmp_path / "bin" / "docker-credential-fake"
    helper.parent.mkdir(exist_ok=True)
    helper.write_text("#!/bin/sh\nread server\n" + script)
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helper.parent}{os.pathsep}{os.environ['PATH']}")


def test_a_helper_is_asked_for_docker_hub_by_dockers_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As docker-credential-pass/secretservice store it after `docker login`.
    _helper(
        tmp_path,
        monkeypatch,
        'if [ "$server" = https://index.docker.io/v1/ ]; then\n'
        '  echo \'{"Username":"hub","Secret":"pw"}\'\n'
        "else echo 'credentials not found in native keychain'; exit 1; fi\n",
    )
    helpers = _auths(tmp_path / "a.json", {}, credHelpers={"https://index.docker.io/v1/": "fake"})
    assert find_credentials("registry-1.docker.io", files=[helpers]) == Credentials("hub", "pw")
    store = _auths(tmp_path / "b.json", {}, credsStore="fake")
    assert find_credentials("docker.io", files=[store]) == Credentials("hub", "pw")
    assert find_credentials("quay.io", files=[store]) is None


def test_an_identity_token_is_a_refresh_token_not_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docker login against an OAuth2 token service writes both keys; only the token counts.
    path = _auths(
        tmp_path / "auth.json",
        {"reg:5000": {"auth": _b64("<token>:"), "identitytoken": "refresh-abc"}},
    )
    found = find_credentials("reg:5000", files=[path])
    assert found is not None and found.identity_token == "refresh-abc"
    assert "refresh-abc" not in repr(found)
    # A helper says "<token>" for the username and gives the refresh token as the secret.
    _helper(tmp_path, monkeypatch, 'echo \'{"Username":"<token>","Secret":"refresh-def"}\'\n')
    store = _auths(tmp_path / "b.json", {}, credsStore="fake")
    found = find_credentials("reg:5000", files=[store])
    assert found is not None and found.identity_token == "refresh-def" and not found.password


_PLUGIN_MODULES = (
    "import sys\n"
    "from registry_scraper_registry import plugin\n"
    "found = []\n"
    "plugin.registry_scraper_register_image_destinations(found.append)\n"
    "print(found[0].name, 'urllib3' in sys.modules)\n"
)


def test_loading_the_plugin_imports_no_http_client() -> None:
    # Every scrape command loads the plugins; only a push needs urllib3.
    assert python_output(_PLUGIN_MODULES).split() == ["registry", "False"]


def test_the_registered_class_opens_the_destination() -> None:
    with pytest.raises(ConfigurationError, match="takes no scheme"):
        RegistryDestinationClass.open("https://reg.example", {})
