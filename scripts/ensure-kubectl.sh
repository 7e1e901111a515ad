#!/usr/bin/env bash
# Puts Debian's kubectl (package kubernetes-client, 1.20 on bookworm) at
# .cache/kubectl/usr/bin/kubectl of the project and prints its path. Idempotent.
# The system kubectl (if any) is left alone: the tests pin Debian's 1.20 on purpose.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.cache/kubectl"
bin="$dest/usr/bin/kubectl"

if [[ -x "$bin" ]] && "$bin" version --client >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

fail() {
  echo "ensure-kubectl: $*" >&2
  exit 1
}

command -v apt-get >/dev/null || fail "apt-get not found: needs a Debian-like system (package kubernetes-client)"
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current directory; as root it drops privileges to _apt,
# which must be able to write there.
chmod 777 "$work"

download() { (cd "$work" && apt-get download kubernetes-client >"$work/apt.log" 2>&1); }

if ! download; then
  # The package lists may be missing or stale on a fresh machine: refresh once (needs root).
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; fail "apt-get update failed"; }
    download || { cat "$work/apt.log" >&2; fail "apt-get download kubernetes-client failed"; }
  else
    cat "$work/apt.log" >&2
    fail "apt-get download kubernetes-client failed (run 'apt-get update' as root first?)"
  fi
fi

deb="$(ls "$work"/kubernetes-client_*.deb 2>/dev/null | head -n 1)"
[[ -n "$deb" ]] || fail "apt-get download produced no kubernetes-client .deb"

# Unpack beside the destination and move it into place, so that concurrent callers never see half a tree.
mkdir -p "$root/.cache"
staging="$(mktemp -d "$root/.cache/kubectl.staging.XXXXXX")"
trap 'rm -rf "$work" "$staging"' EXIT
dpkg-deb -x "$deb" "$staging" || fail "dpkg-deb -x $deb failed"
[[ -x "$staging/usr/bin/kubectl" ]] || fail "no usr/bin/kubectl in $deb"
"$staging/usr/bin/kubectl" version --client >/dev/null 2>&1 || fail "the kubectl in $deb does not run"
if ! [[ -x "$bin" ]]; then
  rm -rf "$dest"
  mv -T "$staging" "$dest" 2>/dev/null || [[ -x "$bin" ]] || fail "could not move kubectl into $dest"
fi
echo "$bin"
