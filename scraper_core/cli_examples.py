"""The examples each command's ``--help`` ends with (click epilogs; ``\\b`` keeps their lines
as written). Every line parses as a command line of today's CLI (tests/test_cli_examples.py).
"""

from __future__ import annotations

MAIN = """\b
Examples:
  scrape --data-dir /var/lib/registry --output-dir ./copy team/app:1.0
  scrape list --data-dir /var/lib/registry 'team/*'
  scrape verify --data-dir ./copy
  scrape COMMAND --help       (copy, list, verify, inventory, drivers)
"""

COPY = """\b
Examples:
  scrape --data-dir /var/lib/registry --output-dir ./copy team/app:1.0
  scrape --data-dir /var/lib/registry --output-tar w1.tar.zst --all-tags 'team/**'
  scrape --data-dir /var/lib/registry --output-tar w2.tar.zst --have site.json 'team/*'
  scrape --storage tar --data-dir w1.tar.zst --output-dir /var/lib/registry --all-tags '**'
  scrape --storage s3 --data-dir bucket/prod --output-dir ./copy --dry-run app:1.0
  scrape --registry-config /etc/docker/registry/config.yml --output-dir ./copy app
\b
  SCRAPE_STORAGE=s3 SCRAPE_STORAGE_OPTION='region=eu-west-1 profile=ship' \\
  SCRAPE_DATA_DIR=bucket/prod scrape --output-dir ./copy --stats 10 app:1.0
"""

LIST = """\b
Examples:
  scrape list --data-dir /var/lib/registry
  scrape list --data-dir /var/lib/registry 'team/*' '**/app'
  scrape list --storage tar --data-dir w1.tar.zst --json
"""

VERIFY = """\b
Examples:
  scrape verify --data-dir ./copy
  scrape verify --data-dir ./copy team/app:1.0 --platform linux/arm64
  scrape verify --storage tar --data-dir w2.tar.zst --have site.json --json
"""

INVENTORY = """\b
Examples:
  scrape inventory --data-dir /var/lib/registry > site.json
  scrape inventory --storage s3 --data-dir bucket/prod -o region=eu-west-1 > site.json
"""

DRIVERS = """\b
Examples:
  scrape drivers
  scrape drivers --json
"""
