#!/usr/bin/env bash
# The false-alarm rate of vbench's regression tracking on this machine.
#
# Records N A/A runs (the same build, nothing changed) of a few CPU-bound
# workloads on bare metal in a fresh history store, then counts what the
# tools flag although nothing changed:
#   - `vbench history changes`: change points over the N runs, per series;
#   - `vbench compare`: each run against the one before it (N-1 pairs), the
#     pairs with a regression and the regressed metrics.
# Then the smallest step that is reliably found: the same N real runs,
# recorded again with every value of the second half scaled down by s%
# (s = 1, 2, 3, 5, 7, 10, 15, 20, 30: on a busy shared machine run medians
# move by 10-20%), and `history changes` asked whether it finds the step in
# every series, at the right run.
#
#   [REPS=R] bench/false_alarms.sh [BUILD_DIR] [N] [OUT_DIR]     (root: vbench runs envs)
#
# Defaults: build, 30, a temporary directory (kept, its path printed), 5
# repetitions per run. Cost: N runs of about 5 s each here (R = 5), plus
# about 10 s per step size. With R = 5, `compare` cannot call anything
# regressed: 5 against 5 samples reach p = 0.008 at best, above what Holm
# asks over the ~15 metrics of a run; use REPS=10 to measure its rate.
set -euo pipefail

build=${1:-build}
n=${2:-30}
out=${3:-$(mktemp -d /var/tmp/vbench-false-alarms-XXXXXX)}
vbench=$(readlink -f "$build/vbench")
workloads=cpu.int,cpu.fp,os.syscall
reps=${REPS:-5}
mkdir -p "$out"
db="$out/aa.db"
echo "false alarms: $n A/A runs of $workloads ($reps repetitions each) on $(hostname), in $out"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

for i in $(seq -w 1 "$n"); do
  "$vbench" run --suite smoke --env bare --workloads "$workloads" --repetitions "$reps" --out "$out/r$i" \
    --record --db "$db" --branch aa --commit "$(printf 'aa%038d' "$((10#$i))")" > "$out/r$i.log" 2>&1 ||
    { echo "run $i failed: see $out/r$i.log" >&2; exit 1; }
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

"$vbench" history changes --db "$db" --branch aa --json > "$out/changes.json"
"$vbench" history changes --db "$db" --branch aa > "$out/changes.txt"

pairs=0 flagged_pairs=0 rows=0 flagged_rows=0
for i in $(seq 2 "$n"); do
  a=$(printf '%02d' "$((i - 1))") b=$(printf '%02d' "$i")
  rc=0
  "$vbench" compare "$out/r$a" "$out/r$b" --json "$out/cmp$b.json" > "$out/cmp$b.txt" 2>&1 || rc=$?
  [ "$rc" -le 1 ] || { echo "compare $a $b failed (exit $rc): see $out/cmp$b.txt" >&2; exit 1; }
  pairs=$((pairs + 1))
  [ "$rc" -eq 1 ] && flagged_pairs=$((flagged_pairs + 1))
  read -r t f < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=j["rows"]; print(len(r), sum(x["verdict"]=="regressed" for x in r))' "$out/cmp$b.json")
  rows=$((rows + t)) flagged_rows=$((flagged_rows + f))
done

python3 - "$out/changes.json" "$pairs" "$flagged_pairs" "$rows" "$flagged_rows" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
pairs, fp, rows, fr = map(int, sys.argv[2:])
judged = [s for s in j["series"] if s["judged"]]
with_cp = [s for s in judged if s["change_points"]]
print(f"history changes: {j['change_points']} change points in {len(with_cp)} of {len(judged)} series "
      f"({len(with_cp) / max(len(judged), 1):.1%} of series; alpha {j['alpha']}, {j['permutations']} permutations)")
for s in with_cp:
    for c in s["change_points"]:
        print(f"  {s['env']} {s['workload']} {s['metric']}: at run {c['position']}, {c['change']:+.1%}, p={c['p_value']:.3g}")
print(f"compare (each run against the one before): {fp} of {pairs} pairs flagged a regression ({fp / max(pairs, 1):.1%}); "
      f"{fr} of {rows} metric comparisons regressed ({fr / max(rows, 1):.2%})")
EOF

# Steps: the same runs, the second half scaled by (1 - s).
half=$(( (n + 1) / 2 ))
echo "steps: the same $n runs re-recorded, values of runs $((half + 1))..$n scaled down"
for s in 1 2 3 5 7 10 15 20 30; do
  sdb="$out/step$s.db"
  rm -f "$sdb"
  for i in $(seq -w 1 "$n"); do
    python3 - "$out/r$i/results.json" "$out/step$s-$i.json" "$((10#$i))" "$half" "$s" <<'EOF'
import json, sys
src, dst, i, half, s = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
j = json.load(open(src))
j["run"]["run_id"] += f"-s{int(s)}"
if i > half:
    for smp in j["samples"]:
        for m in smp["metrics"]:
            if isinstance(m.get("value"), (int, float)):
                m["value"] *= 1 - s / 100
json.dump(j, open(dst, "w"))
EOF
    "$vbench" history add "$out/step$s-$i.json" --db "$sdb" --branch aa --commit "step$i" > /dev/null
  done
  "$vbench" history changes --db "$sdb" --branch aa --json > "$out/step$s.json"
  python3 - "$out/step$s.json" "$s" "$((half + 1))" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); s = sys.argv[2]; at = int(sys.argv[3])
judged = [x for x in j["series"] if x["judged"]]
found = [x for x in judged if any(c["position"] == at for c in x["change_points"])]
near = [x for x in judged if any(abs(c["position"] - at) <= 1 for c in x["change_points"])]
extra = sum(len([c for c in x["change_points"] if abs(c["position"] - at) > 1]) for x in judged)
print(f"  step -{s}%: found at run {at} in {len(found)} of {len(judged)} series ({len(near)} within one run); "
      f"{extra} other change points")
EOF
done
echo "details: $out"
