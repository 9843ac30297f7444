#!/usr/bin/env bash
# Serve a storage tree with a stock registry (distribution 2.8), for trying a copy by hand.
#   scripts/serve-registry.sh local DIR [PORT]
#   scripts/serve-registry.sh s3 BUCKET[/ROOTDIRECTORY] [PORT]
#     (s3 reads AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
# Binds 127.0.0.1 only. Ctrl-C stops it.
set -euo pipefail
kind=${1:?usage: serve-registry.sh local|s3 LOCATION [PORT]}
location=${2:?usage: serve-registry.sh local|s3 LOCATION [PORT]}
port=${3:-5000}
config=$(mktemp --suffix=.yml)
trap 'rm -f "$config"' EXIT
case "$kind" in
  local)
    storage="  filesystem:
    rootdirectory: $(realpath "$location")"
    ;;
  s3)
    bucket=${location%%/*}
    root=""
    [[ "$location" == */* ]] && root="/${location#*/}"
    storage="  s3:
    bucket: $bucket
    region: ${AWS_REGION:-us-east-1}
    regionendpoint: ${AWS_ENDPOINT_URL:-}
    accesskey: ${AWS_ACCESS_KEY_ID:-}
    secretkey: ${AWS_SECRET_ACCESS_KEY:-}
    rootdirectory: ${root:-/}
    secure: false
    v4auth: true"
    ;;
  *) echo "error: unknown storage kind: $kind (local or s3)" >&2; exit 2 ;;
esac
cat > "$config" <<YAML
version: 0.1
log:
  level: info
storage:
$storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
compatibility:
  schema1:
    enabled: true
YAML
echo "serving $kind $location on http://127.0.0.1:$port (try: skopeo inspect --tls-verify=false" \
  "docker://127.0.0.1:$port/NAME:TAG)" >&2
# The Go S3 driver panics when AWS_CA_BUNDLE is set; the registry never needs it here.
env -u AWS_CA_BUNDLE docker-registry serve "$config"
