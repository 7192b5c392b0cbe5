#!/usr/bin/env bash
# Smoke test of the SLURM scripts on a real, single-node SLURM brought up on this machine.
# As root on Debian/Ubuntu: installs slurmctld, slurmd, slurm-client and munge (apt-get), writes
# a slurm.conf for this host (its name and cores) in a temporary directory, starts munged,
# slurmctld and slurmd (stopped by their PIDs on exit), submits 4-task arrays of
# `dlncheck check --quick --shard auto`, `dlncheck figures --quick --shard auto` and
# `dlncheck attack --quick --shard auto` with their dependent merges, waits, and asserts that the
# merged report, figure files and attack.yaml equal the unsharded runs' byte for byte.
#
#   sudo scripts/slurm/smoke-test.sh [path/to/dlncheck]     (default: target/release/dlncheck)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(realpath "${1:-$repo/target/release/dlncheck}")"
[ -x "$bin" ] || { echo "smoke-test: no binary $bin (cargo build --release)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "smoke-test: run as root (it installs packages and starts daemons)" >&2; exit 2; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi
tmp="$(mktemp -d /tmp/dlncheck-slurm.XXXXXX)"
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.2; done; done
}
trap cleanup EXIT
host="$(hostname -s)"
cores="$(nproc)"
mkdir -p "$tmp/munge" "$tmp/spool/ctld" "$tmp/spool/d" "$tmp/work" /run/munge
chmod 700 "$tmp/munge"
# munge: a fresh key, its socket in our own directory.
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
sock="$tmp/munge/munge.socket"
munged --key-file="$tmp/munge/munge.key" --socket="$sock" --pid-file="$tmp/munge/munged.pid" \
    --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/seed" --force
for _ in $(seq 50); do [ -s "$tmp/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/munge/munged.pid")")
cat > "$tmp/slurm.conf" <<CONF
ClusterName=dlncheck-smoke
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$tmp/spool/ctld
SlurmdSpoolDir=$tmp/spool/d
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cores State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do [ -s "$tmp/slurmctld.pid" ] && [ -s "$tmp/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmctld.pid")" "$(cat "$tmp/slurmd.pid")")
for _ in $(seq 150); do sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break; sleep 0.2; done
sinfo
cd "$tmp/work"
start=$(date +%s)
export DLNCHECK="$bin" DLNCHECK_OUT="$tmp/work/report.yaml" DLNCHECK_FIGURES="$tmp/work/figures"
jid=$(sbatch --parsable --cpus-per-task=1 --array=0-3 --chdir="$tmp/work" \
    "$repo/scripts/slurm/check-array.sbatch" --quick --properties "$repo/properties")
mid=$(sbatch --parsable --chdir="$tmp/work" --dependency=afterok:"$jid" "$repo/scripts/slurm/merge.sbatch")
echo "smoke-test: check array job $jid, merge job $mid"
# Figures (the Jacot et al. figures read the saddle spec from ./properties: run from the repository).
fjid=$(sbatch --parsable --cpus-per-task=1 --array=0-3 --chdir="$repo" \
    --output="$tmp/work/dlncheck-figures-%A_%a.log" "$repo/scripts/slurm/figures-array.sbatch" --quick)
fmid=$(sbatch --parsable --chdir="$repo" --output="$tmp/work/dlncheck-figures-merge-%j.log" \
    --dependency=afterok:"$fjid" "$repo/scripts/slurm/figures-merge.sbatch")
echo "smoke-test: figures array job $fjid, merge job $fmid"
attack=(--quick --budget 2000 --restarts 4 --properties "$repo/properties")
ajid=$(DLNCHECK_OUT="$tmp/work/attack.yaml" sbatch --parsable --cpus-per-task=1 --array=0-3 \
    --chdir="$tmp/work" "$repo/scripts/slurm/attack-array.sbatch" "${attack[@]}")
amid=$(DLNCHECK_OUT="$tmp/work/attack.yaml" sbatch --parsable --chdir="$tmp/work" \
    --output="$tmp/work/dlncheck-attack-merge-%j.log" --dependency=afterok:"$ajid" "$repo/scripts/slurm/merge.sbatch")
echo "smoke-test: attack array job $ajid, merge job $amid"
for _ in $(seq 900); do
    [ -z "$(squeue -h -j "$jid,$mid,$fjid,$fmid,$ajid,$amid" 2>/dev/null)" ] && break
    sleep 1
done
echo "smoke-test: SLURM jobs done in $(( $(date +%s) - start )) s"
cat "$tmp/work"/dlncheck-merge-*.log || true
[ -s "$tmp/work/report.yaml" ] || { echo "smoke-test: FAILED, no merged report" >&2; cat "$tmp/work"/*.log "$tmp"/slurm*.log >&2 || true; exit 1; }
mv "$tmp/work/report.yaml" "$tmp/work/merged.yaml"
"$bin" check --quick --properties "$repo/properties" --out "$tmp/work/whole.yaml" >/dev/null
if cmp "$tmp/work/merged.yaml" "$tmp/work/whole.yaml"; then
    echo "smoke-test: OK, the merged report of 4 SLURM array tasks equals the unsharded report byte for byte"
else
    echo "smoke-test: FAILED, the merged report differs from the unsharded one" >&2
    exit 1
fi
ls "$tmp/work/figures"/jgshg-escape.svg >/dev/null 2>&1 \
    || { echo "smoke-test: FAILED, no merged figures" >&2; cat "$tmp/work"/dlncheck-figures*.log >&2 || true; exit 1; }
(cd "$repo" && "$bin" figures --quick --out "$tmp/work/figures-whole" >/dev/null 2>&1)
for f in "$tmp/work/figures-whole"/*; do
    cmp "$f" "$tmp/work/figures/$(basename "$f")" \
        || { echo "smoke-test: FAILED, merged $(basename "$f") differs from the unsharded one" >&2; exit 1; }
done
echo "smoke-test: OK, the figure files merged from 4 SLURM array tasks equal the unsharded ones byte for byte"
[ -s "$tmp/work/attack.yaml" ] \
    || { echo "smoke-test: FAILED, no merged attack.yaml" >&2; cat "$tmp/work"/dlncheck-attack*.log >&2 || true; exit 1; }
"$bin" attack "${attack[@]}" --out "$tmp/work/attack-whole.yaml" >/dev/null
if cmp "$tmp/work/attack.yaml" "$tmp/work/attack-whole.yaml"; then
    echo "smoke-test: OK, the attack.yaml merged from 4 SLURM array tasks equals the unsharded one byte for byte"
else
    echo "smoke-test: FAILED, the merged attack.yaml differs from the unsharded one" >&2
    exit 1
fi
