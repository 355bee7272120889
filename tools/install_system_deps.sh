#!/usr/bin/env bash
# System packages `make test` needs beyond Python 3.11 + pip (run by .ci/run; as root on Debian/Ubuntu):
#   chromium      the real-browser test (tests/test_browser.py drives it through Playwright)
#   make          the course's two commands
#   python3-venv  `python3 -m venv` (Debian splits ensurepip out of python3)
#   bubblewrap    the sandbox `make grade` runs each submission in (bwrap; grading refuses to run without it
#                 unless GRADE_ARGS=--no-sandbox)
# R is optional (only tools/lme4_reference.R uses it; no test needs it).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v make >/dev/null 2>&1 || need+=(make)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
if [ "${#need[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "note: ${need[*]} missing and cannot be installed here (needs root and apt-get)." >&2
  echo "      Install them with your package manager; without chromium the browser tests skip," >&2
  echo "      without bubblewrap the sandbox tests skip and make grade refuses to run." >&2
  if [ "${CI:-}" = "true" ]; then
    exit 1
  fi
fi
