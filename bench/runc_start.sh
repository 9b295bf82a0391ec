#!/usr/bin/env bash
# Times `runc run` of a bundle equivalent to vbench's own container, for the
# side-by-side start-time comparison (bench/container_start_bench.cpp times
# vbench's). The bundle: the static vbench-agent alone in a rootfs, runc's
# default mounts (/proc, /dev, /sys read-only, ...), pid, network, ipc, uts,
# mount and cgroup namespaces, a read-only root, and `vbench-agent noop` as
# the process, so that one `runc run` is create + start + exit + delete.
#
#   bench/runc_start.sh [path/to/vbench-agent] [runs]      (root; needs runc)
set -euo pipefail
agent=$(realpath "${1:-build/vbench-agent}")
runs=${2:-20}
command -v runc >/dev/null || { echo "runc_start.sh: needs runc (apt-get install runc)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "runc_start.sh: must run as root" >&2; exit 2; }

bundle=$(mktemp -d /tmp/vbench-runc-XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs"/{proc,sys,dev,tmp}
cp "$agent" "$bundle/rootfs/vbench-agent"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/vbench-agent", "noop"]
c["root"]["readonly"] = True
ns = c["linux"]["namespaces"]
if not any(n["type"] == "cgroup" for n in ns):
    ns.append({"type": "cgroup"})
json.dump(c, open(path, "w"), indent=2)
PY

times=()
for i in $(seq 1 "$runs"); do
  t0=$(date +%s%N)
  runc run --bundle "$bundle" "vbench-runc-$$-$i" </dev/null >/dev/null
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000 )))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v runs="$runs" '
  { v[NR] = $1 }
  END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "runc run (create+start+exit+delete), %d runs: median %.1f ms, min %.1f ms, max %.1f ms\n",
           runs, m / 1000, v[1] / 1000, v[NR] / 1000
  }'
