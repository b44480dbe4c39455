#!/usr/bin/env bash
# Build a Debian bookworm base image with python3 from Debian packages (debootstrap + docker import),
# for machines that cannot pull images. The service's Dockerfile accepts it as BASE_IMAGE.
#
# Usage: scripts/build-base-image.sh [tag]        (default tag: model-api-base:bookworm)
# Environment:
#   DEBIAN_MIRROR          Debian mirror (default http://deb.debian.org/debian)
#   BASE_IMAGE_CACHE_DIR   where the root filesystem tarball is cached between engines
#                          (default .cache/base-image in the checkout: the project's own cache,
#                          removed by `make clean`, never a folder under the user's home)
#   BASE_IMAGE_REBUILD=1   ignore the existing image and cache
set -euo pipefail

tag="${1:-model-api-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${BASE_IMAGE_CACHE_DIR:-${root}/.cache/base-image}"
# The cached root filesystem is named after this script, so a change here never reuses an old one.
script_digest="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)"
tarball="${cache_dir}/debian-bookworm-python3-${script_digest}.tar"
rebuild="${BASE_IMAGE_REBUILD:-0}"

log() { printf 'build-base-image: %s\n' "$*" >&2; }

if [[ "${rebuild}" != "1" ]] && docker image inspect "${tag}" >/dev/null 2>&1; then
  log "image ${tag} already exists; reusing it"
  exit 0
fi

if [[ "${rebuild}" == "1" || ! -s "${tarball}" ]]; then
  command -v debootstrap >/dev/null || { log "debootstrap is not installed"; exit 1; }
  [[ "$(id -u)" == "0" ]] || { log "debootstrap needs root"; exit 1; }
  mkdir -p "${cache_dir}"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "${rootfs}"' EXIT
  log "debootstrapping bookworm into ${rootfs} from ${mirror}"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "${rootfs}" "${mirror}" >&2
  # Keep the image small: package caches and lists are not needed at run time.
  rm -rf "${rootfs}"/var/cache/apt/archives/*.deb "${rootfs}"/var/lib/apt/lists/* \
    "${rootfs}"/var/log/* "${rootfs}"/usr/share/doc/* "${rootfs}"/usr/share/man/*
  tar -C "${rootfs}" --numeric-owner -cf "${tarball}.tmp" .
  mv "${tarball}.tmp" "${tarball}"
fi

log "importing ${tarball} as ${tag}"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  "${tarball}" "${tag}" >/dev/null
log "built ${tag}"
