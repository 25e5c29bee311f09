#!/bin/sh
# Run one batch as N shards spread over several machines with GNU parallel,
# then merge the shards into the summary.csv and batch.json one run gives.
#
#   scripts/shards-parallel.sh ROOT OUT N SSHLOGINS [ncs batch options...]
#
#   ROOT       the folder of studies, at the same path on every machine (a
#              shared file system: NFS, CephFS, ...)
#   OUT        the output folder, shared the same way; each shard writes
#              OUT/shard-I, the merge OUT/merged
#   N          the number of shards (more shards than machines evens out the
#              load; a shard is a study in N, taken in sorted order)
#   SSHLOGINS  GNU parallel's --sshlogin list, e.g. "8/node1,8/node2,:" (":"
#              is this machine; "8/" runs up to 8 shards there at once)
#
# Every shard uses all the CPUs of its machine unless -j is given. A shard
# that fails midway is simply run again with --resume (the same command with
# --resume added): it completes what is missing. Exit status: that of the
# merge (1 when some studies failed, as one run); a shard's exit 1 (some
# studies failed, recorded in its batch.json) does not stop the others.
#
# Environment: NCS, the ncs command on the machines (default: ncs on PATH).
set -eu
if [ $# -lt 4 ]; then
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
ROOT=$1 OUT=$2 N=$3 LOGINS=$4
shift 4
NCS=${NCS:-ncs}
case $N in '' | *[!0-9]*) echo "shards-parallel: N must be a number" >&2; exit 2 ;; esac
mkdir -p "$OUT"
# exit 1 from a shard means "some studies failed" and is recorded: not an error here
seq 0 $((N - 1)) | parallel --sshlogin "$LOGINS" --line-buffer --halt never \
    "$NCS" batch --no-progress "$@" --shard {}/"$N" "$ROOT" -o "$OUT"/shard-{} \
    '|| [ $? -eq 1 ]'
"$NCS" batch --merge "$OUT"/shard-* -o "$OUT/merged"
