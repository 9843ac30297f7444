"""Support for end-to-end tests against the real components, without the scraper.

- components: require_binary (fail in CI, skip elsewhere), free_port, http_open, stop_process
- registry:   RegistryServer, a `docker-registry serve` process on filesystem or S3 storage
- images:     deterministic OCI image layouts built in pure Python (images, indexes, shared layers)
- skopeo:     push / inspect / pull through skopeo, with digests verified

The emulators (moto, SeaweedFS, fake-gcs-server, Azurite) live with the plugins that need them
(plugins/*/tests: s3_servers, gcs_emulator, azurite_server), each with its session fixture;
tests/conftest.py loads those as plugins and turns these modules into fixtures;
tests/test_support_smoke.py proves they work.
"""
