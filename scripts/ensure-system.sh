#!/usr/bin/env bash
# ensure-system.sh [--tests] -- install the Debian packages pachops needs, only those missing.
#
#   always:   postgresql (pg_dump/pg_restore, and initdb for the test harness), redis-server
#   --tests:  radosgw ceph-mon ceph-osd ceph-common (the test harness's S3), rclone, openssl, and Go with
#             sprig and yaml.v3 (test/deploy/helm-render renders the Helm chart without helm)
#
# Idempotent and quiet when everything is present. Runs `apt-get install`; if that fails it runs
# `apt-get update` once and retries (a fresh machine or container has no package lists yet).
# Needs root (or sudo) only when something is missing. Exit 0 = all present.
set -euo pipefail

log() { echo "[ensure-system] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

want=(postgresql redis-server)
for arg in "$@"; do
  case $arg in
    --tests) want+=(radosgw ceph-mon ceph-osd ceph-common rclone openssl
                    golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev) ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (usage: ensure-system.sh [--tests])" ;;
  esac
done

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }

missing=()
for pkg in "${want[@]}"; do installed "$pkg" || missing+=("$pkg"); done
[ ${#missing[@]} -eq 0 ] && exit 0

command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get (Debian/Ubuntu only); install them by hand"
SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "missing packages ${missing[*]}; run as root: apt-get install ${missing[*]}"
  SUDO=(sudo -n)
fi

LOG=$(mktemp /tmp/pachops-ensure-system.XXXXXX.log)
# DPkg::Lock::Timeout: wait for another apt/dpkg run instead of failing on its lock
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -y -q)
install() { "${APT[@]}" install --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1; }

log "installing ${missing[*]} (log: $LOG)"
if ! install; then
  log "apt-get install failed; running apt-get update once and retrying"
  "${APT[@]}" update >>"$LOG" 2>&1 || log "apt-get update failed too (see $LOG)"
  install || { tail -n 20 "$LOG" >&2; die "could not install ${missing[*]}; full log: $LOG"; }
fi
for pkg in "${missing[@]}"; do installed "$pkg" || die "$pkg still not installed after apt-get; see $LOG"; done
log "installed ${missing[*]}"
rm -f "$LOG"
