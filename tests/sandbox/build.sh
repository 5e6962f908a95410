#!/usr/bin/env bash
# Builds the sandbox's binaries from Go modules (and takes a few from Debian packages), caching them by version:
#
#   build.sh [control-plane]   the control plane (what every sandbox needs):
#     ~/.cache/kubectl-aiconf/k8s-<v>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#     ~/.cache/kubectl-aiconf/etcd-<v>/bin/etcd
#     ~/.cache/kubectl-aiconf/kwok-<v>/bin/kwok
#   build.sh real-node         what a real node needs (Sandbox(real_node=True), tests/sandbox/realnode.py):
#     ~/.cache/kubectl-aiconf/k8s-<v>/bin/kubelet
#     ~/.cache/kubectl-aiconf/containerd-<v>/bin/{containerd,containerd-shim-runc-v2,ctr}
#     ~/.cache/kubectl-aiconf/cni-plugins-<v>/bin/{bridge,host-local,loopback}
#     ~/.cache/kubectl-aiconf/runc-<v>/bin/runc          (Debian's runc package, unpacked: nothing is installed)
#     ~/.cache/kubectl-aiconf/busybox-<v>/bin/busybox    (Debian's busybox-static package, unpacked)
#     ~/.cache/kubectl-aiconf/images-<v>/{pause,probe}.tar (OCI archives made by images/build_images.py)
#     ~/.cache/kubectl-aiconf/deviceplugin-<hash>/bin/deviceplugin (our test device plugin, deviceplugin/)
#     ~/.cache/kubectl-aiconf/gvisor-<v>/bin/{runsc,containerd-shim-runsc-v1}   (gVisor, the `runsc` RuntimeClass)
#     ~/.cache/kubectl-aiconf/k8s-<v>/bin/dra-test-driver (Kubernetes' DRA test driver, test/e2e/dra/test-driver)
#   build.sh components        the upstream components of components.env (tests/sandbox/components.py):
#     ~/.cache/kubectl-aiconf/controller-gen-<v>/bin/controller-gen
#     ~/.cache/kubectl-aiconf/crds-<component>-<v>/*.yaml  (CRDs generated from each component's Go API types)
#     ~/.cache/kubectl-aiconf/{kueue,kuberay,prometheus-operator}-<v>/bin/<name>
#   build.sh karpenter         Karpenter's kwok provider (tests/sandbox/karpenter.py):
#     ~/.cache/kubectl-aiconf/karpenter-kwok-<v>/bin/karpenter-kwok, crds-karpenter{,-kwok}-<v>/*.yaml
#   build.sh gpu-operator      the NVIDIA GPU Operator (tests/sandbox/gpu_operator.py):
#     ~/.cache/kubectl-aiconf/gpu-operator-<v>/{bin/gpu-operator,assets/}, crds-gpu-operator-<v>/*.yaml
#   build.sh all               both
#
# A second run finds every file and does nothing. Prints the cache directory on success.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${AICONF_CACHE:-$HOME/.cache/kubectl-aiconf}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

say() { printf '[sandbox-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
command -v go >/dev/null || die "Go is not installed; the sandbox binaries are built from Go modules"
# one build at a time per cache (two test runs, or two sessions, would otherwise race on the same tmp dirs)
mkdir -p "$cache"
if command -v flock >/dev/null; then exec 9>"$cache/.build.lock"; flock 9; fi

# build_go_tool NAME PKG@VERSION [GOTOOLCHAIN]: the Go command PKG at VERSION as $cache/NAME-VERSION/bin/NAME
# (VERSION without its v). It is built inside a throw-away module that requires PKG's module, so the replace
# directives of that module, which make `go install PKG@VERSION` refuse, are ignored as for any dependency.
# GOTOOLCHAIN (e.g. go1.27.3, which the module proxy serves) for modules that need a newer Go than the machine's.
build_go_tool() {
  local name=$1 pkg=${2%@*} version=${2##*@} toolchain=${3:-local}
  local dir="$cache/$name-${version#v}"
  if [ -x "$dir/bin/$name" ]; then say "$name $version: cached"; return; fi
  say "$name $version: building $pkg"
  mkdir -p "$dir/bin"
  local work; work=$(mktemp -d "$dir/src.XXXXXX")
  if ! (cd "$work" && export GOTOOLCHAIN="$toolchain" \
    && printf 'module aiconf.local/%s\n\ngo 1.26\n' "$name" > go.mod \
    && go get "$pkg@$version" \
    && go build -trimpath -ldflags "-s -w" -o "$dir/bin/$name.tmp" "$pkg"); then
    rm -rf "$work"; die "go build $name ($pkg@$version)"
  fi
  mv "$dir/bin/$name.tmp" "$dir/bin/$name"
  rm -rf "$work"
}

# build_kubernetes VERSION BIN...: binaries of the k8s.io/kubernetes module at VERSION (cmd/BIN), stamped with
# that version, cached under k8s-VERSION/bin/. A BIN of the form NAME=PKG builds the module's package PKG (e.g.
# test/e2e/dra/test-driver) as NAME. The missing ones are built by one `go build`, which loads the module graph
# once and links them in parallel.
build_kubernetes() {
  local version=$1; shift
  local dir="$cache/k8s-$version" want=() pkgs=()
  local b pkg
  for b in "$@"; do
    if [[ $b == *=* ]]; then pkg=${b#*=}; b=${b%%=*}; else pkg="cmd/$b"; fi
    [ -x "$dir/bin/$b" ] && continue
    want+=("$b"); pkgs+=("k8s.io/kubernetes/$pkg")
  done
  if [ ${#want[@]} = 0 ]; then say "kubernetes v$version $*: cached"; return; fi
  say "kubernetes v$version: building ${want[*]} (6-9 minutes on 2 cores the first time)"
  mkdir -p "$dir/bin"
  local work; work=$(mktemp -d "$dir/src.XXXXXX"); cd "$work"
  printf 'module aiconf.local/k8sbins\n\ngo 1.26\n' > go.mod
  local gomod minor staging m
  gomod=$(go mod download -json "k8s.io/kubernetes@v$version" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])') || die "cannot download k8s.io/kubernetes@v$version"
  minor=${version#1.}
  # k8s.io/kubernetes requires its staging modules at the fake version v0.0.0; point each at its real v0.X.Y tag.
  staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod" | sort -u)
  [ -n "$staging" ] || die "no staging modules found in $gomod"
  for m in $staging; do go mod edit -replace="$m=$m@v0.$minor"; done
  say "kubernetes v$version: resolving modules ($(echo "$staging" | wc -l) staging modules replaced)"
  go get "k8s.io/kubernetes@v$version" >/dev/null 2>&1 || go get "k8s.io/kubernetes@v$version"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$version \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*} \
-X k8s.io/component-base/version.gitTreeState=clean"
  say "kubernetes v$version: go build ${pkgs[*]#k8s.io/kubernetes/}"
  mkdir out
  go build -trimpath -ldflags "$ldflags" -o out/ "${pkgs[@]}" || die "go build kubernetes v$version ${want[*]}"
  local i
  for i in "${!want[@]}"; do mv "out/${pkgs[$i]##*/}" "$dir/bin/${want[$i]}"; done
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

# containerd 2.x (CDI support, which the DRA test driver needs) from github.com/containerd/containerd/v2, which
# has no replace directives, so `go install` works. Static (CGO off): btrfs needs cgo and is left out with the
# other snapshotters the real node does not use (it runs overlayfs); the shim leaves out gRPC as upstream does.
build_containerd() {
  local dir="$cache/containerd-$CONTAINERD_VERSION" b missing=0
  for b in containerd containerd-shim-runc-v2 ctr; do [ -x "$dir/bin/$b" ] || missing=1; done
  if [ $missing = 0 ]; then say "containerd v$CONTAINERD_VERSION: cached"; return; fi
  say "containerd v$CONTAINERD_VERSION: building containerd, containerd-shim-runc-v2, ctr"
  local mod=github.com/containerd/containerd/v2 tags="no_btrfs no_devmapper no_zfs no_tracing urfave_cli_no_docs osusergo netgo"
  local ldflags="-s -w -X $mod/version.Version=$CONTAINERD_VERSION"
  rm -rf "$dir/tmp"; mkdir -p "$dir/tmp"
  GOBIN="$dir/tmp" go install -trimpath -tags "$tags" -ldflags "$ldflags" \
    "$mod/cmd/containerd@v$CONTAINERD_VERSION" "$mod/cmd/ctr@v$CONTAINERD_VERSION" || die "go install containerd"
  GOBIN="$dir/tmp" go install -trimpath -tags "$tags no_grpc" -ldflags "$ldflags" \
    "$mod/cmd/containerd-shim-runc-v2@v$CONTAINERD_VERSION" || die "go install containerd-shim-runc-v2"
  mkdir -p "$dir/bin"; mv "$dir"/tmp/* "$dir/bin/"; rmdir "$dir/tmp"
}

# The CNI plugins the real node's pod network uses: a bridge with host-local IPAM, and loopback (containerd sets
# up every pod's lo with it).
build_cni_plugins() {
  local dir="$cache/cni-plugins-$CNI_PLUGINS_VERSION" b missing=0
  for b in bridge host-local loopback; do [ -x "$dir/bin/$b" ] || missing=1; done
  if [ $missing = 0 ]; then say "CNI plugins v$CNI_PLUGINS_VERSION: cached"; return; fi
  say "CNI plugins v$CNI_PLUGINS_VERSION: building bridge, host-local, loopback"
  local mod=github.com/containernetworking/plugins/plugins
  rm -rf "$dir/tmp"; mkdir -p "$dir/tmp"
  GOBIN="$dir/tmp" go install -trimpath -ldflags "-s -w" "$mod/main/bridge@v$CNI_PLUGINS_VERSION" \
    "$mod/main/loopback@v$CNI_PLUGINS_VERSION" "$mod/ipam/host-local@v$CNI_PLUGINS_VERSION" || die "go install CNI plugins"
  mkdir -p "$dir/bin"; mv "$dir"/tmp/* "$dir/bin/"; rmdir "$dir/tmp"
}

# debian_binary PACKAGE VERSION PATH NAME: unpack PATH (e.g. usr/sbin/runc) of Debian's PACKAGE into
# $cache/NAME-VERSION/bin/ with `apt-get download` and `dpkg-deb -x`, installing nothing on the machine.
# VERSION is the upstream version pinned in versions.env; the candidate apt offers must be that version.
debian_binary() {
  local pkg=$1 want=$2 path=$3 name=$4
  local dir="$cache/$name-$want" bin=${path##*/}
  if [ -x "$dir/bin/$bin" ]; then say "$name $want (Debian $pkg): cached"; return; fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "$name comes from Debian's $pkg package: apt-get and dpkg-deb are needed"
  local candidate
  candidate=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" {print $2}')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    say "$pkg: not in the apt lists; running apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    candidate=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" {print $2}')
  fi
  [ -n "$candidate" ] && [ "$candidate" != "(none)" ] || die "apt offers no $pkg package"
  local upstream=${candidate#*:}; upstream=${upstream%%[-+~]*}
  [ "$upstream" = "$want" ] || die "apt offers $pkg $candidate (upstream $upstream); versions.env pins $want"
  say "$name $want: unpacking Debian's $pkg $candidate"
  local work; work=$(mktemp -d); (
    cd "$work" && apt-get download -q "$pkg=$candidate" >/dev/null 2>&1 || die "apt-get download $pkg=$candidate"
    dpkg-deb -x ./*.deb root || die "dpkg-deb -x $pkg"
  )
  [ -x "$work/root/$path" ] || die "$pkg $candidate has no $path"
  mkdir -p "$dir/bin"; cp "$work/root/$path" "$dir/bin/$bin.tmp"; mv "$dir/bin/$bin.tmp" "$dir/bin/$bin"
  rm -rf "$work"
}

# The pause and probe images as OCI archives (images/build_images.py); pause is our own static Go binary.
build_images() {
  local dir="$cache/images-$SANDBOX_IMAGES_VERSION"
  if [ -f "$dir/pause.tar" ] && [ -f "$dir/probe.tar" ]; then say "images v$SANDBOX_IMAGES_VERSION: cached"; return; fi
  say "images v$SANDBOX_IMAGES_VERSION: building pause and probe"
  mkdir -p "$dir"
  # a single file outside any module: module mode without a go.mod, so no -mod flag
  GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$dir/pause" "$here/images/pause/main.go" || die "go build pause"
  python3 "$here/images/build_images.py" --out "$dir" --tag "$SANDBOX_IMAGES_VERSION" --pause "$dir/pause" \
    --busybox "$cache/busybox-$BUSYBOX_VERSION/bin/busybox" >/dev/null || die "images/build_images.py"
}

# The test device plugin (deviceplugin/, test code), cached under a hash of its sources, computed as
# binaries.device_plugin_binary() does: sha256 of go.mod, go.sum and the *.go files in name order, 12 digits.
# (helper B: restored after an edit of mine removed helper A's version of this function; A, please check it)
build_device_plugin() {
  local src="$here/deviceplugin" hash dir
  hash=$(cd "$src" && cat go.mod go.sum $(LC_ALL=C ls -- *.go) | sha256sum | cut -c1-12)
  dir="$cache/deviceplugin-$hash"
  if [ -x "$dir/bin/deviceplugin" ]; then say "device plugin $hash: cached"; return; fi
  say "device plugin $hash: building"
  mkdir -p "$dir/bin"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$dir/bin/deviceplugin.tmp" .) || die "go build deviceplugin"
  mv "$dir/bin/deviceplugin.tmp" "$dir/bin/deviceplugin"
}

# gVisor's runsc and its containerd shim, from the Go module gvisor.dev/gvisor. Only its `go` branch builds with
# the go tool (master needs Bazel), and it has no tags: GVISOR_VERSION is a pseudo-version of that branch, which
# the module proxy serves. Static, as upstream ships it.
#
# One patch: the shim's `start` sets its own oom_score_adj to -999 and gives up when it may not; lowering a score
# needs CAP_SYS_RESOURCE, which the machines this runs on lack (containerd's CRI runs with restrict_oom_score_adj
# for the same reason). The patched shim keeps the score it inherited when the write is refused, as containerd's
# own helper does for unprivileged shims. Go refuses to patch the module cache (-overlay), so both binaries are
# built from a copy of the downloaded module.
build_gvisor() {
  local dir="$cache/gvisor-$GVISOR_VERSION" b missing=0
  for b in runsc containerd-shim-runsc-v1; do [ -x "$dir/bin/$b" ] || missing=1; done
  if [ $missing = 0 ]; then say "gVisor $GVISOR_VERSION: cached"; return; fi
  say "gVisor $GVISOR_VERSION: building runsc, containerd-shim-runsc-v1 (about 2 minutes on 2 cores the first time)"
  local mod=gvisor.dev/gvisor src
  src=$(go mod download -json "$mod@v$GVISOR_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || die "cannot download $mod@v$GVISOR_VERSION"
  rm -rf "$dir/src"; mkdir -p "$dir"
  cp -r "$src" "$dir/src"; chmod -R u+w "$dir/src"
  local manager="$dir/src/pkg/shim/v1/manager.go"
  local refuse='if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil {'
  grep -qF "$refuse" "$manager" || die "gVisor $GVISOR_VERSION: the shim's OOM score code changed; review the patch"
  sed -i 's/if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil {/if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil \&\& !os.IsPermission(err) {/' \
    "$manager"
  mkdir -p "$dir/bin"
  (cd "$dir/src" \
    && go build -trimpath -ldflags "-s -w -X $mod/runsc/version.version=$GVISOR_VERSION" -o "$dir/bin/runsc.tmp" ./runsc \
    && go build -trimpath -ldflags "-s -w" -o "$dir/bin/containerd-shim-runsc-v1.tmp" ./shim) || die "go build gVisor"
  for b in runsc containerd-shim-runsc-v1; do mv "$dir/bin/$b.tmp" "$dir/bin/$b"; done
  rm -rf "$dir/src"
}

# Karpenter with its kwok cloud provider (tests/sandbox/karpenter.py), at the version of components.env's
# KARPENTER_CRDS: the provider's main package sigs.k8s.io/karpenter/kwok as karpenter-kwok-<v>/bin/karpenter-kwok
# (built with the newer Go its go.mod asks for, a toolchain module the proxy serves), karpenter.sh's CRDs
# (KARPENTER_CRDS), and the CRDs the controller also watches, generated into crds-karpenter-kwok-<v>/:
# NodeOverlay, CapacityBuffer, and the provider's KWOKNodeClass.
build_karpenter() {
  # shellcheck source=components.env
  source "$here/components.env"
  build_go_tool controller-gen "$CONTROLLER_GEN"
  controller_gen="$cache/controller-gen-${CONTROLLER_GEN##*@v}/bin/controller-gen"
  local module=${KARPENTER_CRDS%% *}
  local KARPENTER_KWOK_CRDS="$module pkg/apis/v1alpha1 pkg/apis/autoscaling/v1beta1 kwok/apis/v1alpha1"
  local KARPENTER_KWOK_GOTOOLCHAIN=$KARPENTER_GOTOOLCHAIN KARPENTER_BUILD_GOTOOLCHAIN=go1.26.9
  generate_crds KARPENTER_CRDS
  generate_crds KARPENTER_KWOK_CRDS
  build_go_tool karpenter-kwok "${module%@*}/kwok@${module##*@}" "$KARPENTER_BUILD_GOTOOLCHAIN"
}

# The NVIDIA GPU Operator (tests/sandbox/gpu_operator.py), at the version of components.env's GPU_OPERATOR_CRDS
# (its CRDs too), as gpu-operator-<v>/bin/gpu-operator, with the manifests it renders its DaemonSets from in
# gpu-operator-<v>/assets/. Its image has those at /opt/gpu-operator/ and the host's /etc mounted at /host-etc/:
# two paths it hard-codes, so it is built from a copy of the module where they name assets/ and this machine's
# /etc instead.
build_gpu_operator() {
  # shellcheck source=components.env
  source "$here/components.env"
  build_go_tool controller-gen "$CONTROLLER_GEN"
  controller_gen="$cache/controller-gen-${CONTROLLER_GEN##*@v}/bin/controller-gen"
  generate_crds GPU_OPERATOR_CRDS
  local module=${GPU_OPERATOR_CRDS%% *}
  local version=${module##*@}
  local dir="$cache/gpu-operator-${version#v}"
  if [ -x "$dir/bin/gpu-operator" ] && [ -d "$dir/assets/manifests" ]; then
    say "gpu-operator $version: cached"; return
  fi
  say "gpu-operator $version: building (paths patched: /opt/gpu-operator, /host-etc)"
  local src
  src=$(go mod download -json "$module" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || die "cannot download $module"
  rm -rf "$dir/src" "$dir/assets"; mkdir -p "$dir/bin"
  cp -r "$src" "$dir/src"; chmod -R u+w "$dir/src"
  grep -qF '"/host-etc/os-release"' "$dir/src/controllers/object_controls.go" \
    || die "gpu-operator $version: its os-release path changed; review the patch"
  grep -rlF '"/opt/gpu-operator/' "$dir/src/controllers" "$dir/src/internal" \
    | xargs sed -i "s#\"/opt/gpu-operator/#\"$dir/assets/#g"
  sed -i 's#"/host-etc/os-release"#"/etc/os-release"#' "$dir/src/controllers/object_controls.go"
  (cd "$dir/src" && go build -trimpath -ldflags "-s -w" -o "$dir/bin/gpu-operator.tmp" ./cmd/gpu-operator) \
    || die "go build gpu-operator"
  mkdir -p "$dir/assets.tmp"
  cp -r "$dir/src/assets/." "$dir/assets.tmp/"; cp -r "$dir/src/manifests" "$dir/assets.tmp/"
  mv "$dir/assets.tmp" "$dir/assets"; mv "$dir/bin/gpu-operator.tmp" "$dir/bin/gpu-operator"
  rm -rf "$dir/src"
}

# The control plane at KUBERNETES_VERSION with kubectl (which the sandbox uses whatever the server's version),
# and without kubectl at each extra version given (the version matrix: a sandbox of another Kubernetes version).
build_control_plane() {
  build_etcd
  build_kwok
  build_kubernetes "$KUBERNETES_VERSION" kube-apiserver kube-controller-manager kube-scheduler kubectl
  local v
  for v in "$@"; do
    [ "$v" = "$KUBERNETES_VERSION" ] || build_kubernetes "$v" kube-apiserver kube-controller-manager kube-scheduler
  done
}

build_real_node() {
  debian_binary runc "$RUNC_VERSION" usr/sbin/runc runc
  debian_binary busybox-static "$BUSYBOX_VERSION" bin/busybox busybox
  build_images
  build_device_plugin
  build_cni_plugins
  build_containerd
  build_gvisor
  build_kubernetes "$KUBERNETES_VERSION" kubelet dra-test-driver=test/e2e/dra/test-driver
}

# generate_crds NAME: the CRDs of components.env's NAME_CRDS ("MODULE@VERSION API-PACKAGES...") generated by
# controller-gen from the module's Go API types into $cache/crds-<name>-VERSION/ (one file per CRD). Run inside a
# throw-away module that requires MODULE, so that the API packages and their imports resolve as dependencies.
# No descriptions (maxDescLen=0): nothing reads them, and they make up most of KubeRay's 1-MB CRD files.
generate_crds() {
  local var=$1 spec toolchain name mod version
  spec=${!var}; toolchain=${var%_CRDS}_GOTOOLCHAIN; toolchain=${!toolchain:-local}
  name=${var%_CRDS}; name=${name,,}; name=${name//_/-}
  set -- $spec
  mod=${1%@*}; version=${1##*@}; shift
  local dir="$cache/crds-$name-${version#v}"
  if [ -f "$dir/.complete" ]; then say "CRDs of $name $version: cached"; return; fi
  say "CRDs of $name $version: generating from $mod ($*)"
  local work paths=() p
  for p in "$@"; do paths+=("paths=$mod/$p"); done
  work=$(mktemp -d "$cache/crds-src.XXXXXX")
  rm -rf "$dir"; mkdir -p "$dir"
  if ! (cd "$work" && export GOTOOLCHAIN="$toolchain" \
    && printf 'module aiconf.local/crds\n\ngo 1.26\n' > go.mod \
    && go get "$mod@$version" \
    && "$controller_gen" crd:maxDescLen=0,generateEmbeddedObjectMeta=true,allowDangerousTypes=true \
      "${paths[@]}" output:crd:dir="$dir"); then
    rm -rf "$work" "$dir"; die "controller-gen: CRDs of $name ($mod@$version)"
  fi
  rm -rf "$work"
  compgen -G "$dir/*.yaml" >/dev/null || die "controller-gen made no CRD for $name ($mod@$version $*)"
  touch "$dir/.complete"
}

# The upstream components (components.env): controller-gen, the CRDs of every component generated from its Go
# types, and the controllers components.py runs against a sandbox.
build_components() {
  # shellcheck source=components.env
  source "$here/components.env"
  build_go_tool controller-gen "$CONTROLLER_GEN"
  controller_gen="$cache/controller-gen-${CONTROLLER_GEN##*@v}/bin/controller-gen"
  local var
  for var in $(compgen -v | grep '_CRDS$'); do generate_crds "$var"; done
  build_go_tool kueue "$KUEUE"
  build_go_tool kuberay "$KUBERAY"
  build_go_tool prometheus-operator "$PROMETHEUS_OPERATOR"
}

start=$(date +%s)
case ${1:-control-plane} in
  control-plane) shift || true; build_control_plane "$@" ;;
  matrix) build_control_plane $KUBERNETES_VERSIONS ;;
  real-node) build_real_node ;;
  components) build_components ;;
  karpenter) build_karpenter ;;
  gpu-operator) build_gpu_operator ;;
  all) build_control_plane $KUBERNETES_VERSIONS; build_real_node ;;
  *) die "usage: build.sh [control-plane [VERSION...]|matrix|real-node|components|all|karpenter|gpu-operator]" ;;
esac
say "done in $(( $(date +%s) - start ))s; binaries under $cache"
echo "$cache"
