"""Helpers for authors of bucket-like drivers (object stores: S3, GCS, Azure Blob, ...).

A driver over an object store gets here what the shipped s3, gcs and azure drivers share, so
it writes only the calls to its SDK:

- :mod:`~scraper_core.bucket.objectstore`: :class:`KeyMap` maps storage paths to object names
  exactly as distribution's object-store drivers do (``BUCKET[/ROOT]`` locations through
  :func:`parse_bucket_location`), so a registry configured with the same bucket and root
  directory reads what this tool writes, and back.
- :mod:`~scraper_core.bucket.options`: ``--storage-option KEY=VALUE`` pairs parsed into the
  driver's typed, frozen dataclass (sizes, flags, choices, URLs; secret values kept out of its
  repr); any driver may use it, bucket-like or not.
- :mod:`~scraper_core.bucket.partwriter`: :class:`PartWriter`, the atomic
  :class:`~scraper_core.contract.FileWriter` for stores that publish an object when its last
  part is committed (multipart uploads, staged blocks, resumable uploads).
- :mod:`~scraper_core.bucket.pinnedstream`: :class:`PinnedStream`, a read of one version of
  an object: replaced or deleted mid-read is an error saying so, never a missing path.
- :mod:`~scraper_core.bucket.sdkerrors`: :class:`ErrorTranslator` turns the SDK's exceptions
  into the core's error tree (one line, no secret, not-found as PathNotFoundError) without
  importing the SDK before the first error.

The wrapper (:mod:`scraper_core.checked`) already validates paths, refuses writes on a
read-only open, and turns an empty listing into PathNotFoundError: a bucket driver may return
``[]`` for a prefix with nothing below it. Import the submodules; this package imports none of
them, so loading a plugin stays cheap.
"""
