#!/usr/bin/env bash
# Installs everything ironlb's programs and tests need, idempotently:
# Debian packages (real routers and network tools for the labs) and a virtualenv
# in .venv with ironlb and its test extras. Safe to run again; fast when done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(frr bird2 iproute2 iputils-arping iputils-ping ndisc6 tcpdump libpcap0.8 procps python3-venv curl openssl util-linux make)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# kubectl renders the kustomize manifests; any kubectl will do (Debian's comes in kubernetes-client).
command -v kubectl >/dev/null || missing+=(kubernetes-client)

if [ ${#missing[@]} -gt 0 ]; then
  # apt needs root: as root run it directly (a minimal Debian has no sudo), otherwise through sudo.
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "setup: installing Debian packages (${missing[*]}) needs root; run this as root, or install sudo" >&2
      exit 1
    fi
    SUDO=(sudo)
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.ironlb-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing ironlb and its test extras into .venv"
  # setuptools >= 77 reads project.license as an SPDX string (tests/install builds with this one)
  .venv/bin/pip install -q --upgrade pip 'setuptools>=77'
  # setuptools reports every editable install with an information block ("Editable installation.",
  # not a deprecation or an error); filtered here so that a clean install prints nothing.
  PYTHONWARNINGS="ignore:Editable installation" .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi

# Debian 12's kubectl 1.20 (kustomize v2), unpacked, not installed (it would replace a newer kubectl):
# tests/install renders config/bfd-kubectl-1.20 with it. Best effort, tried once per .venv: that test
# is skipped where apt cannot fetch it.
OLD_KUBECTL=.venv/opt/kubectl-1.20/kubectl
if [ ! -e "$OLD_KUBECTL" ] && [ ! -e "$OLD_KUBECTL.unavailable" ] && command -v dpkg-deb >/dev/null; then
  tmp=$(mktemp -d)
  mkdir -p "$(dirname "$OLD_KUBECTL")"
  if (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root kubernetes-client) >/dev/null 2>&1 \
    && dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$tmp/x" \
    && "$tmp/x/usr/bin/kubectl" version --client -o json 2>/dev/null | grep -q '"minor": "20"'; then
    mv "$tmp/x/usr/bin/kubectl" "$OLD_KUBECTL"
  else
    touch "$OLD_KUBECTL.unavailable"
  fi
  rm -rf "$tmp"
fi
