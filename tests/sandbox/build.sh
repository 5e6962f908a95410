#!/usr/bin/env bash
# Builds the sandbox control plane from Go modules and caches the binaries by version:
#   ~/.cache/kubectl-aiconf/k8s-<v>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#   ~/.cache/kubectl-aiconf/etcd-<v>/bin/etcd
#   ~/.cache/kubectl-aiconf/kwok-<v>/bin/kwok
# A second run finds every binary and does nothing. Prints the bin directories' parent on success.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${AICONF_CACHE:-$HOME/.cache/kubectl-aiconf}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

say() { printf '[sandbox-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
command -v go >/dev/null || die "Go is not installed; the sandbox binaries are built from Go modules"

build_kubernetes() {
  local dir="$cache/k8s-$KUBERNETES_VERSION" bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  local missing=0 b
  for b in "${bins[@]}"; do [ -x "$dir/bin/$b" ] || missing=1; done
  if [ $missing = 0 ]; then say "kubernetes v$KUBERNETES_VERSION: cached"; return; fi
  say "kubernetes v$KUBERNETES_VERSION: building ${bins[*]} (10-30 minutes the first time)"
  local work="$dir/src"; rm -rf "$work"; mkdir -p "$work" "$dir/bin"; cd "$work"
  printf 'module aiconf.local/k8sbins\n\ngo 1.26\n' > go.mod
  local gomod minor staging m
  gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])') || die "cannot download k8s.io/kubernetes@v$KUBERNETES_VERSION"
  minor=${KUBERNETES_VERSION#1.}
  # k8s.io/kubernetes requires its staging modules at the fake version v0.0.0; point each at its real v0.X.Y tag.
  staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod" | sort -u)
  [ -n "$staging" ] || die "no staging modules found in $gomod"
  for m in $staging; do go mod edit -replace="$m=$m@v0.$minor"; done
  say "kubernetes: resolving modules ($(echo "$staging" | wc -l) staging modules replaced)"
  go get "k8s.io/kubernetes@v$KUBERNETES_VERSION" >/dev/null 2>&1 || go get "k8s.io/kubernetes@v$KUBERNETES_VERSION"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*} \
-X k8s.io/component-base/version.gitTreeState=clean"
  for b in "${bins[@]}"; do
    say "kubernetes: go build $b"
    go build -trimpath -ldflags "$ldflags" -o "$dir/bin/$b.tmp" "k8s.io/kubernetes/cmd/$b" || die "go build $b"
    mv "$dir/bin/$b.tmp" "$dir/bin/$b"
  done
  cd "$cache"; rm -rf "$work"
}

build_etcd() {
  local dir="$cache/etcd-$ETCD_VERSION"
  if [ -x "$dir/bin/etcd" ]; then say "etcd v$ETCD_VERSION: cached"; return; fi
  say "etcd v$ETCD_VERSION: building"
  local work="$dir/src"; rm -rf "$work"; mkdir -p "$work" "$dir/bin"; cd "$work"
  printf 'module aiconf.local/etcd\n\ngo 1.26\n' > go.mod
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" || die "cannot resolve etcd v$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$dir/bin/etcd.tmp" go.etcd.io/etcd/server/v3 || die "go build etcd"
  mv "$dir/bin/etcd.tmp" "$dir/bin/etcd"
  cd "$cache"; rm -rf "$work"
}

build_kwok() {
  local dir="$cache/kwok-$KWOK_VERSION"
  if [ -x "$dir/bin/kwok" ]; then say "kwok v$KWOK_VERSION: cached"; return; fi
  say "kwok v$KWOK_VERSION: building"
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" || die "go install kwok"
}

start=$(date +%s)
build_etcd
build_kwok
build_kubernetes
say "done in $(( $(date +%s) - start ))s; binaries under $cache"
echo "$cache"
