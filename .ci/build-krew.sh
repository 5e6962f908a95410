#!/usr/bin/env bash
# Builds krew (the kubectl plugin manager) and its manifest validator from the Go module proxy, for the
# release tests, and caches them by version:
#   ~/.cache/kubectl-aiconf/krew-<v>/bin/{kubectl-krew,validate-krew-manifest}
# A second run finds both and does nothing. Prints the bin directory on success.
# krew's release binaries are not downloaded on purpose: everything here is built from source.
set -euo pipefail
KREW_VERSION=${KREW_VERSION:-0.4.4}
cache=${AICONF_CACHE:-$HOME/.cache/kubectl-aiconf}
dir="$cache/krew-$KREW_VERSION"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

say() { printf '[krew-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

if [ -x "$dir/bin/kubectl-krew" ] && [ -x "$dir/bin/validate-krew-manifest" ]; then
  say "krew v$KREW_VERSION: cached"
  echo "$dir/bin"
  exit 0
fi
command -v go >/dev/null || die "Go is not installed; krew is built from its Go module"
say "krew v$KREW_VERSION: building kubectl-krew and validate-krew-manifest"
work="$dir/src"
rm -rf "$work"
mkdir -p "$work" "$dir/bin"
cd "$work"
# `go install sigs.k8s.io/krew/cmd/krew@vX` needs the module's version list, which the proxy may refuse;
# a throw-away module that requires the exact version does not.
printf 'module aiconf.local/krew\n\ngo 1.26\n' > go.mod
go get "sigs.k8s.io/krew@v$KREW_VERSION" || die "cannot resolve sigs.k8s.io/krew@v$KREW_VERSION"
ldflags="-s -w -X sigs.k8s.io/krew/internal/version.gitTag=v$KREW_VERSION"
for cmd in krew validate-krew-manifest; do
  out=$cmd
  [ "$cmd" = krew ] && out=kubectl-krew
  go build -trimpath -ldflags "$ldflags" -o "$dir/bin/$out.tmp" "sigs.k8s.io/krew/cmd/$cmd" || die "go build $cmd"
  mv "$dir/bin/$out.tmp" "$dir/bin/$out"
done
cd "$cache"
rm -rf "$work"
say "krew v$KREW_VERSION: done"
echo "$dir/bin"
