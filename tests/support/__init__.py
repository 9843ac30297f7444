"""Support for end-to-end tests against the real components, without the scraper.

- components: require_binary (fail in CI, skip elsewhere), free_port, http_open, stop_process
- process:    ServerProcess, the start/wait/stop lifecycle of the emulators below
- registry:   RegistryServer, a `docker-registry serve` process on filesystem or S3 storage
- images:     deterministic OCI image layouts built in pure Python (images, indexes, shared layers)
- skopeo:     push / inspect / pull through skopeo, with digests verified
- s3server:   throwaway S3 endpoints (moto, SeaweedFS) for the S3 driver and RegistryServer.s3
- gcsserver, azurite: fake-gcs-server and Azurite for the gcs and azure drivers

tests/conftest.py turns these into fixtures; tests/test_support_smoke.py proves they work.
"""
