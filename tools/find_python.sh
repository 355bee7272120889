#!/usr/bin/env bash
# Print the path of a Python interpreter of the given version (e.g. 3.12): on PATH as python3.12, or
# installed by pyenv. Exits 1 (printing nothing) when there is none.
#   bash tools/find_python.sh 3.13
set -euo pipefail
version="${1:?usage: find_python.sh VERSION (e.g. 3.12)}"
# (a pyenv shim is on PATH for every installed version but fails when that version is not active, so each
# candidate must actually run and report the version asked for)
works() {
  "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$version' else 1)" >/dev/null 2>&1
}
root="${PYENV_ROOT:-$HOME/.pyenv}"
for candidate in "$(command -v "python$version" 2>/dev/null || true)" "$root"/versions/"$version".*/bin/python"$version"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && works "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
exit 1
