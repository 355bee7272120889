#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Chromium for the real-browser test.
# R is optional (only tools/lme4_reference.R and the benchmark's lme4 column use it).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: ${need[*]} not installed and cannot install as non-root; browser tests will skip" >&2
  fi
fi
