#!/usr/bin/env bash
# Set up a fresh machine for ditto-streams: system packages, the Python venv, and the
# project itself. Safe to repeat: each step checks first and does nothing when done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ] || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]}" >&2
    echo "fix: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  say "Temurin 25 not found: the Ditto stand-in runs on it (install it, or point STREAMS_DITTO_JAVA_HOME at the JDK to use)"
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  say "installing ditto-streams into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi
# kustomize renders deploy/k8s in the tests (tests/deploy); a Go module, built once into
# the venv. v5.8.0 builds with the machine's Go as it is (no toolchain download).
KUSTOMIZE_VERSION=v5.8.0
if [ ! -x .venv/bin/kustomize ] || ! .venv/bin/kustomize version | grep -qx "$KUSTOMIZE_VERSION"; then
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  if [ ! -x "$go_bin" ]; then
    echo "go not found: kustomize $KUSTOMIZE_VERSION is built from its Go module" >&2
    echo "fix: install Go >= 1.24 (/usr/local/go) and run scripts/setup.sh again" >&2
    exit 1
  fi
  say "building kustomize $KUSTOMIZE_VERSION into .venv/bin"
  GOBIN="$PWD/.venv/bin" GOTOOLCHAIN=local "$go_bin" install \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
say "setup done"
