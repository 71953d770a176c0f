#!/usr/bin/env bash
# Stand-ins for the official base images the Dockerfiles start from, made offline, for the
# docker test (test/docker/mesh.test.ts) on machines that reach no image registry:
#
#   node:<NODE_VERSION>-bookworm-slim   Debian bookworm (debootstrap, minbase) + this machine's
#                                       node and npm at /usr/local, a user `node` (uid 1000), and
#                                       this machine's CA bundle for npm (NODE_EXTRA_CA_CERTS)
#   hashicorp/consul:<CONSUL_VERSION>   the same Debian + /bin/consul: the consul TEST DOUBLE of
#                                       test/doubles, or the binary $CONSUL_BIN when it is set
#   envoyproxy/envoy:v<ENVOY_VERSION>   the same Debian + /usr/local/bin/envoy: the envoy TEST
#                                       DOUBLE, or the binary $ENVOY_BIN when it is set (the
#                                       official build, glibc, dynamically linked: it needs only
#                                       libc, libm, libdl, librt and libpthread, which Debian's
#                                       minbase has; checked by running `envoy --version` in it)
#
# A real Envoy gets its listeners only over xDS (gRPC) from a real Consul agent, which the consul
# double does not serve: the docker test passes ENVOY_BIN here only together with CONSUL_BIN.
#
# They carry the official names only so that the unchanged Dockerfiles build; each has the label
# io.meshvisor.standin. Nothing here is a Consul or Envoy build (the binaries $CONSUL_BIN and
# $ENVOY_BIN are copied as they are), and nothing is downloaded except Debian packages
# (debootstrap). The Dockerfiles copy a single file out of the consul and envoy
# images (/bin/consul, and the final stage's /usr/local/bin/envoy), so each double is one
# self-extracting shell script: its test/doubles/bin wrapper and bundle as a tar after the
# script, unpacked once per user into $TMPDIR. It runs on the `node` the agent and server
# images already have.
#
#   scripts/docker-standins.sh make     makes the stand-ins; prints each tag it (re)made, one a
#                                       line; a tag that exists and is not a stand-in (a real
#                                       image) is left alone and used as it is
#   scripts/docker-standins.sh remove   removes every stand-in image (label io.meshvisor.standin)
#
# Environment: DOCKER (the docker CLI, default `docker`), DOCKER_HOST (the engine), CONSUL_BIN,
# ENVOY_BIN, CONSUL_VERSION / ENVOY_VERSION / NODE_VERSION (default: Dockerfile.agent's ARG
# defaults; CONSUL_VERSION defaults to what `$CONSUL_BIN version` says, or the consul double's
# 1.10.12 without it; with ENVOY_BIN, ENVOY_VERSION to what `$ENVOY_BIN --version` says),
# MESHVISOR_STANDIN_CACHE (where the Debian root file system is kept between runs, default
# /var/cache/meshvisor-standins; empty: keep nothing), DEBIAN_MIRROR (default: the mirror this
# machine's apt uses, scripts/debian-mirror.sh). Needs root (debootstrap) and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-docker}
LABEL=io.meshvisor.standin
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-$(bash scripts/debian-mirror.sh)}
CACHE=${MESHVISOR_STANDIN_CACHE-/var/cache/meshvisor-standins}
# A cached root file system older than this is made again (it gets Debian's updates).
CACHE_MAX_AGE_DAYS=14
# Bump when the root file system below changes shape: the cache key.
ROOTFS_REV=1

log() { printf 'docker-standins: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

arg_default() { # arg_default FILE NAME: the default of `ARG NAME=value`
  sed -n "s/^ARG $2=\\([^[:space:]]*\\).*/\\1/p" "$1" | sed -n 1p
}

remove_all() {
  local ids
  ids=$("$DOCKER" images -q --filter "label=$LABEL" | sort -u)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    "$DOCKER" rmi -f $ids >/dev/null
  fi
  "$DOCKER" image prune -f --filter "label=$LABEL" >/dev/null
}

# The Debian root file system as a tar (no /dev, /proc, /sys contents), from the cache or made.
rootfs_tar() {
  local out=$1 cached=''
  if [ -n "$CACHE" ]; then
    cached="$CACHE/debian-$SUITE-minbase-r$ROOTFS_REV.tar"
    if [ -s "$cached" ] && [ -z "$(find "$cached" -mtime +"$CACHE_MAX_AGE_DAYS")" ]; then
      log "Debian $SUITE root file system from the cache ($cached)"
      ln -s "$cached" "$out"
      return
    fi
  fi
  command -v debootstrap >/dev/null || die 'debootstrap is not installed (apt-get install debootstrap)'
  local dir="$WORK/debootstrap" start=$SECONDS
  log "debootstrap --variant=minbase $SUITE from $MIRROR (about 30 s)"
  if ! debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 20 "$WORK/debootstrap.log" >&2
    die 'debootstrap failed'
  fi
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/debootstrap
  tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -C "$dir" -cf "$out.new" .
  mv "$out.new" "$out"
  rm -rf "$dir"
  log "root file system made in $((SECONDS - start)) s"
  if [ -n "$cached" ]; then
    # Root-only, written whole and then renamed: a reader never sees half a file.
    install -d -m 0700 "$CACHE"
    cp "$out" "$cached.$$" && mv "$cached.$$" "$cached"
    find "$CACHE" -maxdepth 1 -name 'debian-*.tar' ! -name "$(basename "$cached")" -delete
  fi
}

# A self-extracting copy of a test double: test/doubles/bin/NAME + test/doubles/dist/NAME.mjs.
double_script() { # double_script NAME OUT
  local name=$1 out=$2 payload="$WORK/payload-$1" hash
  mkdir -p "$payload/bin" "$payload/dist"
  cp "test/doubles/bin/$name" "$payload/bin/$name"
  cp "test/doubles/dist/$name.mjs" "$payload/dist/$name.mjs"
  chmod 0755 "$payload/bin/$name"
  chmod 0644 "$payload/dist/$name.mjs"
  tar --numeric-owner --owner=0 --group=0 -C "$payload" -cf "$payload.tar" .
  hash=$(sha256sum "$payload.tar" | cut -c 1-16)
  cat >"$out" <<EOF
#!/bin/sh
# meshvisor docker test stand-in: the $name TEST DOUBLE of test/doubles (a node script), not a
# $name build. Unpacks itself once per user into \$TMPDIR, then runs test/doubles/bin/$name.
self=\$0
case \$self in */*) ;; *) self=\$(command -v -- "\$self") ;; esac
dir="\${TMPDIR:-/tmp}/meshvisor-double-$name-$hash-\$(id -u)"
if [ ! -x "\$dir/bin/$name" ]; then
  tmp=\$(mktemp -d "\${TMPDIR:-/tmp}/meshvisor-double.XXXXXX") || exit 70
  tail -n +PAYLOAD_LINE "\$self" | tar -x -C "\$tmp" || exit 70
  mv -T "\$tmp" "\$dir" 2>/dev/null || rm -rf "\$tmp"
fi
exec "\$dir/bin/$name" "\$@"
EOF
  local line
  line=$(($(wc -l <"$out") + 1))
  sed -i "s/PAYLOAD_LINE/$line/" "$out"
  cat "$payload.tar" >>"$out"
  chmod 0755 "$out"
}

# The Debian root file system as one image that every stand-in builds on (one shared layer).
import_base() {
  BASE="meshvisor-standin-base:r$ROOTFS_REV"
  "$DOCKER" import --change "LABEL $LABEL=$BASE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$WORK/rootfs.tar" "$BASE" >/dev/null
}

# stand_in TAG OVERLAY_DIR CHANGE...: the base plus OVERLAY_DIR (owners and modes kept) as TAG.
stand_in() {
  local tag=$1 overlay=$2
  shift 2
  local changes=(--change "LABEL $LABEL=$tag") c ctr old
  for c in "$@"; do changes+=(--change "$c"); done
  old=$("$DOCKER" image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  ctr=$("$DOCKER" create "$BASE" true)
  "$DOCKER" cp --archive "$overlay/." "$ctr:/"
  "$DOCKER" commit "${changes[@]}" "$ctr" "$tag" >/dev/null
  "$DOCKER" rm "$ctr" >/dev/null
  # A stand-in left by an earlier run, now untagged: remove it (unless a container uses it).
  if [ -n "$old" ]; then "$DOCKER" rmi "$old" >/dev/null 2>&1 || true; fi
  echo "$tag"
}

# A tag that exists without our label is a real image: keep it and build on it.
wanted() {
  local tag=$1 label
  label=$("$DOCKER" image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$tag" 2>/dev/null) ||
    return 0
  if [ -z "$label" ] || [ "$label" = '<no value>' ]; then
    log "$tag exists and is not a stand-in: using it as it is"
    return 1
  fi
  return 0
}

make_all() {
  [ "$(id -u)" = 0 ] || die 'needs root (debootstrap, and files owned by root in the images)'
  local consul_version envoy_version node_version
  consul_version=${CONSUL_VERSION:-}
  if [ -n "${CONSUL_BIN:-}" ]; then
    [ -x "$CONSUL_BIN" ] || die "CONSUL_BIN=$CONSUL_BIN is not an executable"
  fi
  if [ -z "$consul_version" ]; then
    # The tag says which Consul the stand-in answers as: the binary's, or the double's (1.10.12),
    # so a spec's consul.version from the image never asks the double for a newer Consul's keys.
    consul_version=$("${CONSUL_BIN:-test/doubles/bin/consul}" version |
      sed -n 's/^Consul v\([0-9.]*\).*/\1/p' | sed -n 1p)
  fi
  envoy_version=${ENVOY_VERSION:-}
  if [ -n "${ENVOY_BIN:-}" ]; then
    [ -x "$ENVOY_BIN" ] || die "ENVOY_BIN=$ENVOY_BIN is not an executable"
    if [ -z "$envoy_version" ]; then
      # "envoy  version: <sha>/1.36.4/Clean/RELEASE/BoringSSL"
      envoy_version=$("$ENVOY_BIN" --version | sed -n 's|.*version: [0-9a-f]*/\([0-9.]*\)/.*|\1|p' | sed -n 1p)
    fi
  fi
  envoy_version=${envoy_version:-$(arg_default Dockerfile.agent ENVOY_VERSION)}
  node_version=${NODE_VERSION:-$(arg_default Dockerfile.agent NODE_VERSION)}
  if [ -z "$consul_version" ] || [ -z "$envoy_version" ] || [ -z "$node_version" ]; then
    die 'cannot read the versions from Dockerfile.agent'
  fi

  local node_tag="node:$node_version-$SUITE-slim"
  local consul_tag="hashicorp/consul:$consul_version"
  local envoy_tag="envoyproxy/envoy:v$envoy_version"
  local want=()
  local t
  for t in "$node_tag" "$consul_tag" "$envoy_tag"; do
    if wanted "$t"; then want+=("$t"); fi
  done
  ((${#want[@]})) || return 0

  WORK=$(mktemp -d /var/tmp/meshvisor-standins.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  rootfs_tar "$WORK/rootfs.tar"
  import_base

  local node npm_dir
  node=$(readlink -f "$(command -v node)")
  npm_dir=$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")
  [ -f "$npm_dir/package.json" ] || die "cannot find npm's folder (from $(command -v npm))"
  [ -f /etc/ssl/certs/ca-certificates.crt ] || die 'no CA bundle at /etc/ssl/certs/ca-certificates.crt'

  if [[ " ${want[*]} " == *" $node_tag "* ]]; then
    local o="$WORK/overlay-node"
    mkdir -p "$o/usr/local/bin" "$o/usr/local/lib/node_modules" "$o/usr/local/share/meshvisor-standin" \
      "$o/etc" "$o/home/node"
    cp "$node" "$o/usr/local/bin/node"
    cp -a "$npm_dir" "$o/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$o/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$o/usr/local/bin/npx"
    # The TLS to the npm registry may go through a proxy with its own CA: trust what this
    # machine trusts (builds only; the final images install Debian's ca-certificates).
    cp /etc/ssl/certs/ca-certificates.crt "$o/usr/local/share/meshvisor-standin/ca-certificates.crt"
    tar -C "$o" -xf "$WORK/rootfs.tar" ./etc/passwd ./etc/group ./etc/shadow
    echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$o/etc/passwd"
    echo 'node:x:1000:' >>"$o/etc/group"
    echo 'node:*:19000:0:99999:7:::' >>"$o/etc/shadow"
    chown 1000:1000 "$o/home/node"
    stand_in "$node_tag" "$o" \
      "ENV NODE_VERSION=$node_version" \
      'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/meshvisor-standin/ca-certificates.crt' \
      'CMD ["node"]'
    log "$node_tag: Debian $SUITE + node $("$node" --version) (this machine's) + npm $(node "$npm_dir/bin/npm-cli.js" --version)"
  fi

  if [[ " ${want[*]} " == *" $consul_tag "* || " ${want[*]} " == *" $envoy_tag "* ]]; then
    node scripts/build-doubles.mjs # the doubles as the work tree has them now
  fi

  if [[ " ${want[*]} " == *" $consul_tag "* ]]; then
    local o="$WORK/overlay-consul" what
    # /bin/consul, as in the official image (Debian's /bin is a link to /usr/bin).
    mkdir -p "$o/usr/bin"
    if [ -n "${CONSUL_BIN:-}" ]; then
      cp "$CONSUL_BIN" "$o/usr/bin/consul"
      # (sed, not head: head would close the pipe early, and pipefail turns SIGPIPE into a failure)
      what="$CONSUL_BIN ($("$CONSUL_BIN" version | sed -n 1p))"
    else
      double_script consul "$o/usr/bin/consul"
      what='the consul test double'
    fi
    stand_in "$consul_tag" "$o" 'CMD ["agent", "-dev"]'
    log "$consul_tag: Debian $SUITE + /bin/consul: $what"
  fi

  if [[ " ${want[*]} " == *" $envoy_tag "* ]]; then
    local o="$WORK/overlay-envoy" what out
    mkdir -p "$o/usr/local/bin" "$o/etc/envoy"
    if [ -n "${ENVOY_BIN:-}" ]; then
      cp "$ENVOY_BIN" "$o/usr/local/bin/envoy"
      chmod 0755 "$o/usr/local/bin/envoy"
      what="$ENVOY_BIN ($("$ENVOY_BIN" --version | sed -n 's/.*version: //p' | sed -n 1p))"
    else
      double_script envoy "$o/usr/local/bin/envoy"
      what='the envoy test double'
    fi
    stand_in "$envoy_tag" "$o" 'CMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]'
    # The real binary runs on this base: its shared libraries are there. (The double cannot be
    # asked here: it runs on the node that only the agent image adds.)
    if [ -n "${ENVOY_BIN:-}" ] &&
      ! out=$("$DOCKER" run --rm --network none "$envoy_tag" envoy --version 2>&1); then
      die "$envoy_tag: \`envoy --version\` does not run in the stand-in: $out"
    fi
    log "$envoy_tag: Debian $SUITE + /usr/local/bin/envoy: $what"
  fi
  # The stand-ins keep its layer; the name is not needed any more.
  "$DOCKER" rmi "$BASE" >/dev/null
}

case "${1:-}" in
  make) make_all ;;
  remove) remove_all ;;
  *)
    echo "usage: $0 make|remove" >&2
    exit 64
    ;;
esac
