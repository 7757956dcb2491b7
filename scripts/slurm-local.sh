#!/usr/bin/env bash
# A real Slurm cluster on this machine (munge, slurmctld, slurmd), for the tests of
# `aimrun sweep submit|status`, preemption and multi-node runs. Needs root (it writes /etc/slurm).
#   scripts/slurm-local.sh start              # one node (the default); idempotent; waits until it is idle
#   scripts/slurm-local.sh start --nodes 2    # two nodes, n1 and n2, of one cluster (below)
#   scripts/slurm-local.sh start --max-array-size 11   # a smaller MaxArraySize (Slurm's default:
#                                             # 1001), for the tests of sweeps split into several
#                                             # arrays; a plain `start` restores the default
#   scripts/slurm-local.sh stop
#   scripts/slurm-local.sh status
#
# Two nodes: two slurmd daemons on ports 17001 and 17002. n2 runs in its own mount namespace
# with a private tmpfs on /tmp, as on a real second node: otherwise both nodes' PMIx would
# create the same /tmp/spmix_appdir_<uid>_<job>.<step> and every two-node step would fail.
# So a two-node job's binaries and data must live outside /tmp. Partitions: `debug` (the
# default) is n1 only, so one-node jobs see this machine's /tmp; `multi` is n1 and n2.
set -euo pipefail

host=$(hostname -s)
# Without OMP_NUM_THREADS / OMP_THREAD_LIMIT, which nproc honours: a caller that limits its
# own threads (the tests set OMP_NUM_THREADS=1) would otherwise make every node one CPU, and
# a job asking for two tasks per node would pend forever (PartitionConfig).
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
nodes=1
max_array_size=

write_config() {
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  cat <<CONF
# Written by aimrun's scripts/slurm-local.sh: a $nodes-node test cluster.
ClusterName=aimrun-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmctldPidFile=/run/slurmctld.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobRequeue=1
MinJobAge=3600
KillWait=10
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerParameters=sched_interval=2
# A requeued job waits the credential lifetime before it may start again (Slurm's default
# 120 s: two minutes of every preemption test); 10 s is ample for a launch on this machine.
AuthInfo=cred_expire=10
CONF
  [[ -z $max_array_size ]] || echo "MaxArraySize=$max_array_size"
  if [[ $nodes -eq 1 ]]; then
    cat <<CONF
SlurmdSpoolDir=/var/spool/slurmd
SlurmdPidFile=/run/slurmd.pid
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  else
    # A node that stops answering is DOWN after SlurmdTimeout, and its jobs end.
    cat <<CONF
SlurmdSpoolDir=/var/spool/slurmd-%n
SlurmdPidFile=/run/slurmd-%n.pid
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
SlurmdTimeout=20
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=17001 CPUs=$cpus RealMemory=$mem State=UNKNOWN
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=17002 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=n1 Default=YES MaxTime=INFINITE State=UP
PartitionName=multi Nodes=n1,n2 MaxTime=INFINITE State=UP
CONF
  fi
}

node_names() { if [[ $nodes -eq 1 ]]; then echo "$host"; else echo n1 n2; fi; }

# The slurmd daemons of the configuration now in /etc/slurm, by their pid files.
slurmd_pids() {
  local f
  for f in /run/slurmd.pid /run/slurmd-n1.pid /run/slurmd-n2.pid; do
    [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
  done
  return 0
}

# A node that comes back (after a kill: a lost node) has no job steps: the sockets its dead
# step daemons left would make the next launch of a requeued job's step fail
# ("pmixp_usock_create_srv: Address already in use"), so they go, as on a rebooted node.
clean_spool() {
  mkdir -p "/var/spool/slurmd-$1"
  rm -rf "/var/spool/slurmd-$1"/pmix.* "/var/spool/slurmd-$1"/stepd.* "/var/spool/slurmd-$1/$1"_*
}

start_slurmd() {
  if [[ $nodes -eq 1 ]]; then
    [[ -n $(slurmd_pids) ]] || slurmd
    return
  fi
  local pid
  pid=$( [[ -f /run/slurmd-n1.pid ]] && cat /run/slurmd-n1.pid || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || { clean_spool n1; slurmd -N n1; }
  pid=$( [[ -f /run/slurmd-n2.pid ]] && cat /run/slurmd-n2.pid || true)
  if ! { [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }; then
    clean_spool n2
    unshare -m --propagation private sh -c 'mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o mode=1777 tmpfs /dev/shm && exec slurmd -N n2'
  fi
}

# The daemons must not inherit this script's open files: started under
# `flock /tmp/aimrun-slurm.lock`, they would hold that lock for as long as they run.
close_inherited_fds() {
  local fd
  for fd in $(ls /proc/$$/fd); do
    [[ $fd -gt 2 && $fd -lt 255 ]] && eval "exec $fd>&-" 2>/dev/null || true
  done
}

start() {
  if [[ $(id -u) -ne 0 ]]; then echo "slurm-local: needs root" >&2; exit 1; fi
  close_inherited_fds
  local conf changed=0
  conf=$(write_config)
  if [[ ! -f /etc/slurm/slurm.conf ]] || [[ $conf != "$(cat /etc/slurm/slurm.conf)" ]]; then
    # Another layout (one node <-> two nodes): the daemons restart with it, the old state goes.
    changed=1
    stop
    printf '%s\n' "$conf" > /etc/slurm/slurm.conf
  fi
  if [[ ! -f /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
  if ! pgrep -x slurmctld >/dev/null; then
    if [[ $changed -eq 1 ]]; then slurmctld -c; else slurmctld; fi
  fi
  start_slurmd
  local want up n
  want=$(node_names | wc -w)
  for _ in $(seq 60); do
    up=$(sinfo -h -N -o "%N %T" 2>/dev/null | grep -cE " (idle|mixed|allocated)" || true)
    if [[ $up -ge $want ]]; then
      for n in $(node_names); do scontrol update nodename="$n" state=resume >/dev/null 2>&1 || true; done
      echo "slurm-local: $want node(s) up: $(node_names) ($cpus CPUs each)"
      return 0
    fi
    # A node left DOWN by an earlier kill comes back once its slurmd answers again.
    for n in $(node_names); do scontrol update nodename="$n" state=resume >/dev/null 2>&1 || true; done
    sleep 1
  done
  echo "slurm-local: the node(s) did not come up; see /var/log/slurm/" >&2
  sinfo >&2 || true
  exit 1
}

stop() {
  local pids
  pids=$(slurmd_pids)
  # shellcheck disable=SC2086
  [[ -z $pids ]] || kill $pids 2>/dev/null || true
  pkill -x slurmd || true
  pkill -x slurmctld || true
  pkill -x munged || true
  for _ in $(seq 20); do pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || return 0; sleep 0.5; done
}

cmd=${1:-start}
shift || true
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) nodes=${2:-}; shift 2 || { echo "slurm-local: --nodes needs 1 or 2" >&2; exit 2; } ;;
    --nodes=*) nodes=${1#--nodes=}; shift ;;
    --max-array-size) max_array_size=${2:-}; shift 2 || { echo "slurm-local: --max-array-size needs a number" >&2; exit 2; } ;;
    --max-array-size=*) max_array_size=${1#--max-array-size=}; shift ;;
    *) echo "slurm-local: unknown option '$1'" >&2; exit 2 ;;
  esac
done
if [[ $nodes != 1 && $nodes != 2 ]]; then echo "slurm-local: --nodes: expected 1 or 2, got '$nodes'" >&2; exit 2; fi
if [[ -n $max_array_size && ! $max_array_size =~ ^[1-9][0-9]{0,6}$ ]]; then
  echo "slurm-local: --max-array-size: expected a whole number from 1, got '$max_array_size'" >&2; exit 2
fi

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) sinfo; squeue ;;
  *) echo "usage: $0 start [--nodes 1|2] [--max-array-size N]|stop|status" >&2; exit 2 ;;
esac
