#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, from Debian 12's packages (slurm-wlm, slurmrestd, munge;
# Slurm 22.05), for the Slurm executor's tests and for developers: munged, slurmctld, slurmd and
# slurmrestd (local auth, OpenAPI v0.0.38) on a unix socket.
#
#   scripts/slurm-local.sh start    start what is not running; prints the slurmrestd socket path
#   scripts/slurm-local.sh status   prints the socket path if the cluster answers, else exits 1
#   scripts/slurm-local.sh stop     stops the daemons this script started
#
# Every file (config, state, logs, pid files, sockets) lives in $SELFEMD_SLURM_DIR
# (default /tmp/selfemd-slurm). Idempotent: a second `start` finds the daemons running.
# Needs root (slurmd runs jobs as other users; munged must run as the `munge` user).
# Jobs submitted through the socket run as $SELFEMD_SLURM_JOB_USER (default nobody): slurmrestd's
# local auth submits as the user it switched to, so a run's shared folder must be writable by it.
set -euo pipefail

DIR="${SELFEMD_SLURM_DIR:-/tmp/selfemd-slurm}"
JOB_USER="${SELFEMD_SLURM_JOB_USER:-nobody}"
SOCKET="$DIR/slurmrestd.socket"
MUNGE_SOCKET="$DIR/munge/munge.socket.2"
CONF="$DIR/etc/slurm.conf"
# Ports apart from Slurm's defaults (6817/6818), so a cluster already configured here is not disturbed.
CTLD_PORT="${SELFEMD_SLURM_CTLD_PORT:-16817}"
SLURMD_PORT="${SELFEMD_SLURM_SLURMD_PORT:-16818}"

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# slurmrestd answers 200 with an `errors` list when it cannot reach slurmctld: only an empty one is up.
ping_rest() {
  [ -S "$SOCKET" ] || return 1
  local body
  body="$(curl -sf --max-time 5 --unix-socket "$SOCKET" http://localhost/slurm/v0.0.38/ping 2>/dev/null)" || return 1
  printf '%s' "$body" | tr -d ' \n' | grep -q '"errors":\[\]'
}

# slurmrestd answers at all (any HTTP status): it is alive, whatever slurmctld's state.
rest_answers() {
  [ -S "$SOCKET" ] || return 1
  curl -s --max-time 10 --unix-socket "$SOCKET" -o /dev/null -w '%{http_code}' \
    http://localhost/slurm/v0.0.38/ping 2>/dev/null | grep -q '^[1-5][0-9][0-9]$'
}

node_up() {
  SLURM_CONF="$CONF" sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated|completing)'
}

wait_for() {
  local what="$1" tries="$2"
  shift 2
  for _ in $(seq "$tries"); do
    "$@" && return 0
    sleep 0.2
  done
  die "$what did not come up (logs in $DIR/log)"
}

write_conf() {
  local host node_line
  host="$(hostname -s)"
  # The node's CPUs and memory as slurmd measures them (its first line: NodeName=… CPUs=… RealMemory=…).
  node_line="$(slurmd -C | head -1 | sed -E "s/^NodeName=[^ ]+/NodeName=$host/")"
  mkdir -p "$DIR/etc"
  cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster for the Slurm executor's tests.
ClusterName=selfemd
SlurmctldHost=$host
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
# Short intervals: tests follow jobs that last seconds.
SchedulerParameters=sched_interval=1
MessageTimeout=10
KillWait=5
InactiveLimit=0
MinJobAge=600
$node_line State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  [ "$(id -u)" = 0 ] || die "must run as root (slurmd runs jobs as other users)"
  for b in munged slurmctld slurmd slurmrestd sinfo curl; do
    command -v "$b" >/dev/null 2>&1 || die "$b is missing: apt-get install -y slurm-wlm slurmrestd munge curl"
  done
  id "$JOB_USER" >/dev/null 2>&1 || die "job user $JOB_USER does not exist"
  # Test files start the cluster in parallel: one start at a time, so none restarts a slurmrestd
  # another is using (a submit then fails with "socket hang up").
  mkdir -p "$DIR"
  exec 9>"$DIR/start.lock"
  flock 9
  if ping_rest && node_up; then
    echo "$SOCKET"
    return 0
  fi
  mkdir -p "$DIR"/{etc,state,spool,run,log} "$DIR/munge"
  chmod 755 "$DIR"
  # munged refuses folders it does not own (and root-owned log folders): give it its own.
  chown munge:munge "$DIR/munge"
  # Open to every user (slurmrestd runs as the job user), as /run/munge is.
  chmod 755 "$DIR/munge"
  [ -f "$CONF" ] || write_conf

  if ! alive "$DIR/munge/munged.pid"; then
    runuser -u munge -- munged --socket="$MUNGE_SOCKET" --key-file=/etc/munge/munge.key \
      --log-file="$DIR/munge/munged.log" --pid-file="$DIR/munge/munged.pid" \
      --seed-file="$DIR/munge/munged.seed" --force 9>&-
    wait_for munged 50 test -S "$MUNGE_SOCKET"
  fi
  export SLURM_CONF="$CONF"
  # the daemons must not inherit the start lock (fd 9), or it would be held as long as they run
  alive "$DIR/run/slurmctld.pid" || slurmctld 9>&-
  alive "$DIR/run/slurmd.pid" || slurmd 9>&-
  wait_for "the node" 150 node_up
  # A live slurmrestd is replaced only when it does not answer at all: replacing one that answers
  # with slurmctld's errors (busy under a loaded test suite) cut off the requests other test files had
  # in flight ('socket hang up' on submit) and fixed nothing. Such errors are waited out below.
  if alive "$DIR/run/slurmrestd.pid"; then
    for _ in $(seq 25); do
      rest_answers && break
      sleep 0.2
    done
  fi
  if ! alive "$DIR/run/slurmrestd.pid" || ! rest_answers; then
    alive "$DIR/run/slurmrestd.pid" && kill "$(cat "$DIR/run/slurmrestd.pid")" 2>/dev/null
    rm -f "$SOCKET"
    # slurmrestd stays in the foreground: detach it. Without -s it wants slurmdbd's plugin too.
    local uid gid
    uid="$(id -u "$JOB_USER")"
    gid="$(id -g "$JOB_USER")"
    # The socket's folder must let the switched-to user create the socket.
    mkdir -p "$DIR/rest"
    chown "$uid:$gid" "$DIR/rest"
    SOCKET_REAL="$DIR/rest/slurmrestd.socket"
    setsid slurmrestd -a rest_auth/local -s openapi/v0.0.38 -u "$uid" -g "$gid" "unix:$SOCKET_REAL" \
      >>"$DIR/log/slurmrestd.log" 2>&1 </dev/null 9>&- &
    echo $! >"$DIR/run/slurmrestd.pid"
    wait_for "slurmrestd's socket" 100 test -S "$SOCKET_REAL"
    chmod 777 "$SOCKET_REAL"
    ln -sfn "$SOCKET_REAL" "$SOCKET"
  fi
  wait_for slurmrestd 300 ping_rest
  echo "$SOCKET"
}

status() {
  if ping_rest && SLURM_CONF="$CONF" node_up; then
    echo "$SOCKET"
  else
    echo "slurm-local: not running (in $DIR)" >&2
    exit 1
  fi
}

stop() {
  local pidfile pid
  for pidfile in "$DIR/run/slurmrestd.pid" "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/munge/munged.pid"; do
    if alive "$pidfile"; then
      pid="$(cat "$pidfile")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  rm -f "$SOCKET" "$DIR/rest/slurmrestd.socket"
  echo "slurm-local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
