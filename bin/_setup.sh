# Shared by bin/run and bin/test: a virtual environment with everything TaxDesk needs.
# Sourced, not run. Needs only Python 3.11+ on the machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "TaxDesk needs Python 3.11 or newer; none was found (set PYTHON=/path/to/python3)." >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtual environment in .venv"
  "$(find_python)" -m venv .venv
fi

stamp=.venv/.taxdesk-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> Installing TaxDesk and its packages"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # XStatic-Bootstrap ships only an sdist whose setup imports pkg_resources, which newer
  # setuptools no longer has: build it without isolation against an older setuptools.
  .venv/bin/python -m pip install --quiet "setuptools<81" wheel
  .venv/bin/python -m pip install --quiet --no-build-isolation "XStatic-Bootstrap>=5.3.3"
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
PY=.venv/bin/python
