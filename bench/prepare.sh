#!/usr/bin/env bash
# bench/prepare.sh -- what `npm run bench…` needs on a fresh clone: the test harness's packages
# (scripts/prepare.sh --tests: npm packages, postgresql, redis, Ceph RGW) plus the peers and the meter:
# Debian's rclone, awscli (/usr/bin/aws) and GNU time (/usr/bin/time). Quiet when all are there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh --tests
missing=()
for pkg in rclone awscli time; do
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = 'install ok installed' ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=()
[ "$(id -u)" = 0 ] || SUDO=(sudo -n)
echo "[bench/prepare] installing ${missing[*]}" >&2
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -y -q)
if ! "${APT[@]}" install --no-install-recommends "${missing[@]}" >/dev/null; then
  "${APT[@]}" update >/dev/null
  "${APT[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
fi
