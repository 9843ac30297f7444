"""Helpers the tests share: each is written here once, never copied into a test module.

Real components, without the scraper:
- components: require_binary (fail in CI, skip elsewhere), free_port, http_open, stop_process
- registry:   RegistryServer, a `docker-registry serve` process on filesystem or S3 storage
- images:     deterministic OCI image layouts built in pure Python (images, indexes, shared layers)
- skopeo:     push / inspect / pull through skopeo, with digests verified
- mounts:     a small tmpfs or a bind mount, as root, every command bounded

The scraper and what it works on:
- cli:        scrape in this process (run_cli, scrape_ok, copy_under); cli_process: as a process
- trees:      local registry trees: write one (local_writer), read back what it holds
- archives:   an archive extracted as an operator would (cat | tar -x)
- signing:    ssh-keygen keys, allowed signers and the site's check of a signed shipment
- cloud:      a registry tree uploaded to fake-gcs-server or Azurite, and scrape's flags for it
- faultruns:  what a run through a FaultProxy (faultproxy) must end with, and its figures
- drivers:    LocalDouble, a forwarding local driver a test overrides a method of
- counting:   counting_calls, the calls a run makes on a class's methods
- plugin_site: fake installed plugin distributions

The emulators (moto, SeaweedFS, fake-gcs-server, Azurite) live with the plugins that need them
(plugins/*/tests: s3_servers, gcs_emulator, azurite_server), each with its session fixture;
tests/conftest.py loads those as plugins and turns these modules into fixtures;
tests/test_support_smoke.py proves they work.
"""
