#!/usr/bin/env bash
# start-rgw.sh [DIR] -- throwaway single-node Ceph cluster + RADOS Gateway (S3)
#
# Runs as root, without systemd. Everything lives under DIR (default: a new
# mktemp dir under /tmp). Every listener binds to 127.0.0.1 only:
#   - ceph-mon  : msgr v2 on a free loopback port
#   - ceph-osd  : msgr v2 on loopback ports from ms_bind_port_min..max
#   - radosgw   : beast frontend on a free loopback port
# Auth is disabled (auth_*_required = none); the OSD uses bluestore on a sparse
# file DIR/osd.0/block.img by default (OSD_OBJECTSTORE=memstore keeps data in RAM).
#
# Environment (all optional):
#   RGW_ACCESS_KEY, RGW_SECRET_KEY  S3 credentials to create (fixed defaults)
#   RGW_PORT                        S3 port (default: a free loopback port)
#   OSD_OBJECTSTORE                 bluestore (default) | memstore
#   MEMSTORE_BYTES                  memstore capacity   (default 8 GiB, logical)
#   BLUESTORE_BYTES                 bluestore sparse file size (default 20 GiB)
#   RGW_SKIP_INSTALL=1              do not apt-get install missing packages
#
# Output (last lines):
#   RGW_DIR=... RGW_ENDPOINT=http://127.0.0.1:PORT RGW_ACCESS_KEY=... RGW_SECRET_KEY=...
#   RGW_PIDS=...  (also written to DIR/pids, one "name pid" per line)
# Stop with: stop-rgw.sh DIR
set -euo pipefail

T0=$(date +%s.%N)
HERE=$(dirname "$(readlink -f "$0")")
log() { echo "[start-rgw $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
READY=0
cleanup_on_failure() { # stop whatever this run started if it did not get to the end
  local rc=$?
  if [ "$READY" != 1 ] && [ -n "${DIR:-}" ] && [ -s "$DIR/pids" ]; then
    log "start failed (rc=$rc); stopping the daemons it started (logs kept in $DIR/log)"
    bash "$HERE/stop-rgw.sh" "$DIR" >&2 || true
  fi
  exit "$rc"
}
trap cleanup_on_failure EXIT

[ "$(id -u)" = 0 ] || die "must run as root"

# ---------------------------------------------------------------- packages
if [ "${RGW_SKIP_INSTALL:-0}" != 1 ]; then
  bash "$HERE/../../../scripts/ensure-system.sh" --tests || die "could not install the ceph packages"
fi
for bin in ceph-mon ceph-osd radosgw ceph radosgw-admin monmaptool ceph-authtool; do
  [ -x "/usr/bin/$bin" ] || die "missing /usr/bin/$bin (run scripts/ensure-system.sh --tests)"
done
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

# ---------------------------------------------------------------- layout
if [ $# -ge 1 ] && [ -n "$1" ]; then
  DIR=$1; mkdir -p "$DIR"
  [ ! -e "$DIR/ceph.conf" ] || die "$DIR already holds a cluster (use a fresh directory)"
else
  DIR=$(mktemp -d /tmp/pachops-test-rgw.XXXXXX)
fi
DIR=$(cd "$DIR" && pwd -P)
mkdir -p "$DIR"/{mon.a,osd.0,log,run,crash,rgw}
: >"$DIR/pids"

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
MON_PORT=$(free_port)
RGW_PORT=${RGW_PORT:-$(free_port)}
while [ "$RGW_PORT" = "$MON_PORT" ]; do RGW_PORT=$(free_port); done
AK=${RGW_ACCESS_KEY:-RGWTESTACCESSKEY0001}
SK=${RGW_SECRET_KEY:-rgwTestSecretKey0000000000000000000000001}
OBJSTORE=${OSD_OBJECTSTORE:-bluestore}
FSID=$(cat /proc/sys/kernel/random/uuid)
# fixed test-only keys for the "testing" KMS backend (the key ids testkey-1 and testkey-2)
RGW_TEST_KMS_KEY_1=$(printf 'pachops-test-kms-key-1----------' | base64)
RGW_TEST_KMS_KEY_2=$(printf 'pachops-test-kms-key-2----------' | base64)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
CONF=$DIR/ceph.conf
export CEPH_CONF=$CONF

cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.1/32
cluster network = 127.0.0.1/32
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
# radosgw defaults ms_mon_client_mode=secure, which auth=none cannot do
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon cluster mode = crc
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
keyring = $DIR/keyring
admin socket = $DIR/run/\$cluster-\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
run dir = $DIR/run
crash dir = $DIR/crash
log to stderr = false
err to stderr = false
log to syslog = false
mon cluster log to syslog = false
mon cluster log file = $DIR/log/cluster.log
debug ms = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $DIR/mon.\$id
# each map change otherwise waits up to 1 s: radosgw's start-up (pool creation) would take ~9 s
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd data = $DIR/osd.\$id
osd objectstore = $OBJSTORE
memstore device bytes = ${MEMSTORE_BYTES:-8589934592}
bluestore block path = $DIR/osd.\$id/block.img
bluestore block create = true
bluestore block size = ${BLUESTORE_BYTES:-21474836480}
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
osd memory target = 1073741824
bluestore cache autotune = true
osd op num shards = 2
osd op num threads per shard = 2
osd crush update on start = true
osd max object name len = 1024
osd max object namespace len = 256

[client.rgw.0]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw thread pool size = 64
rgw data = $DIR/rgw
rgw enable usage log = false
rgw dns name = 127.0.0.1
# SSE-KMS with RGW's built-in "testing" key store (keys below, test-only), over plain HTTP
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = testkey-1=$RGW_TEST_KMS_KEY_1 testkey-2=$RGW_TEST_KMS_KEY_2
EOF

# keyring (unused with auth=none, but some tools want the file to exist)
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
  --cap mgr 'allow *' --cap mds 'allow *' >/dev/null

start_daemon() { # name logfile cmd...
  local name=$1 out=$2; shift 2
  setsid "$@" </dev/null >>"$out" 2>&1 &
  local pid=$!
  echo "$name $pid" >>"$DIR/pids"
  log "started $name pid $pid"
}

# ---------------------------------------------------------------- mon
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
  >"$DIR/log/mon-mkfs.out" 2>&1 || { cat "$DIR/log/mon-mkfs.out" >&2; die "ceph-mon --mkfs failed"; }
start_daemon mon.a "$DIR/log/mon.a.stdout" ceph-mon -c "$CONF" -i a -f

CEPH=(ceph -c "$CONF" --connect-timeout 5)
for i in $(seq 1 60); do
  "${CEPH[@]}" mon stat >/dev/null 2>&1 && break
  [ "$i" = 60 ] && die "mon did not come up; see $DIR/log/mon.a.log"
  sleep 0.5
done
log "mon up on 127.0.0.1:$MON_PORT"

# ---------------------------------------------------------------- osd
OSD_ID=$("${CEPH[@]}" osd new "$OSD_UUID")
[ "$OSD_ID" = 0 ] || die "unexpected osd id $OSD_ID"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.out" 2>&1 \
  || { cat "$DIR/log/osd-mkfs.out" >&2; die "ceph-osd --mkfs failed"; }
start_daemon osd.0 "$DIR/log/osd.0.stdout" ceph-osd -c "$CONF" -i 0 -f
for i in $(seq 1 120); do
  "${CEPH[@]}" osd dump 2>/dev/null | grep -q '^osd\.0 up' && break
  [ "$i" = 120 ] && die "osd.0 did not come up; see $DIR/log/osd.0.log"
  sleep 0.5
done
log "osd.0 up ($OBJSTORE)"

# ---------------------------------------------------------------- rgw
start_daemon rgw.0 "$DIR/log/rgw.0.stdout" radosgw -c "$CONF" -n client.rgw.0 -f
for i in $(seq 1 240); do
  if "$PY" - "$RGW_PORT" <<'PYEOF' 2>/dev/null; then break; fi
import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2).read()
except urllib.error.HTTPError:
    pass
PYEOF
  kill -0 "$(awk '$1=="rgw.0"{print $2}' "$DIR/pids")" 2>/dev/null || die "radosgw exited; see $DIR/log/client.rgw.0.log"
  [ "$i" = 240 ] && die "radosgw did not answer on 127.0.0.1:$RGW_PORT; see $DIR/log/client.rgw.0.log"
  sleep 0.5
done
log "radosgw answering on 127.0.0.1:$RGW_PORT"

radosgw-admin -c "$CONF" user create --uid=s3test --display-name="S3 test user" \
  --access-key="$AK" --secret-key="$SK" >"$DIR/user.json" 2>"$DIR/log/user-create.err" \
  || { cat "$DIR/log/user-create.err" >&2; die "radosgw-admin user create failed"; }

T1=$(date +%s.%N)
cat >"$DIR/env" <<EOF
RGW_DIR=$DIR
RGW_ENDPOINT=http://127.0.0.1:$RGW_PORT
RGW_ACCESS_KEY=$AK
RGW_SECRET_KEY=$SK
RGW_PIDS="$(awk '{printf "%s%s", (NR>1?" ":""), $2}' "$DIR/pids")"
EOF
log "ready in $("$PY" -c "print(round($T1-$T0,1))")s; stop with: $HERE/stop-rgw.sh $DIR"
READY=1
cat "$DIR/env"
