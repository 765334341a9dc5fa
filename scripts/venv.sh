# Sourced by scripts/run and scripts/test: make .venv and install the project into it.
# Reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail

extra="${1:-}"  # e.g. dev; callers pass it explicitly (a bare `source` passes their own arguments)
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  exit 1
}
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed${extra:+-$extra}"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extra:+[$extra]}"
  echo "$wanted" > "$stamp"
fi
