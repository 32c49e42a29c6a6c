#!/usr/bin/env bash
# Installs everything ironlb's programs and tests need, idempotently:
# Debian packages (real routers and network tools for the labs) and a virtualenv
# in .venv with ironlb and its test extras. Safe to run again; fast when done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(frr bird2 iproute2 iputils-arping iputils-ping ndisc6 tcpdump libpcap0.8 procps python3-venv curl openssl util-linux)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# kubectl renders the kustomize manifests; any kubectl will do (Debian's comes in kubernetes-client).
command -v kubectl >/dev/null || missing+=(kubernetes-client)

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.ironlb-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing ironlb and its test extras into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi
