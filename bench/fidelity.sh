#!/usr/bin/env bash
# Fidelity: vbench's numbers side by side with the tools people check them
# against, for the same work on the same machine, interleaved round by round
# so that drift falls on both alike. Prints one line per comparison with the
# median of each side over the rounds and vbench / reference.
#
#   bench/fidelity.sh [-r ROUNDS] [-d SECONDS] [-s SCRATCH_DIR] [-b BUILD_DIR] [-o mem,disk,net,counters]
#
# -o runs only the named groups of pairs (default: all). The memory pair runs
# twice a round, in A-B-B-A order, because memory bandwidth on shared VMs
# swings by 20% from one run to the next.
#
# Pairs (same work, same units):
#   mem.bandwidth triad (3 x 256 MiB arrays, all CPUs)   a STREAM-class reference written below
#                                                        (static arrays, OpenMP static schedule, best
#                                                        of 10, 24 B per element), built with gcc -O3
#                                                        -fopenmp: the optimisation vbench's kernels
#                                                        get in a Release build. (STREAM's own Makefile
#                                                        says -O2, which gcc 12 leaves scalar: about
#                                                        15% less triad on an EPYC VM. The row
#                                                        "triad -O2" shows that compiler effect.)
#   disk.randread 4k QD32 io_uring O_DIRECT, 1 GiB file  fio --rw=randread --bs=4k --iodepth=32
#                                                        --ioengine=io_uring --direct=1 --size=1G
#   net.tcp_stream 1 stream, 128 KiB sends, loopback     iperf3 -c 127.0.0.1 -l 128K (sender Mbit/s)
#   net.tcp_rr 14-byte request/response, loopback       sockperf ping-pong --tcp -m 14 (sockperf's
#                                                        minimum message; its latencies are RTT/2,
#                                                        so p50 is doubled here; tps = received/time)
#   (network pairs: receivers pinned to CPU 1, senders to CPU 0, when there are 2+ CPUs)
#   cpu.int with the default counter set               cpu.int without counters (cost of counting)
# Needs: gcc, jq, fio, iperf3, sockperf (ci/bootstrap installs them).

set -euo pipefail

rounds=5
dur=5
scratch=/var/tmp
build=build
only=mem,disk,net,counters
while getopts "r:d:s:b:o:" o; do
  case $o in
    r) rounds=$OPTARG ;;
    d) dur=$OPTARG ;;
    s) scratch=$OPTARG ;;
    b) build=$OPTARG ;;
    o) only=$OPTARG ;;
    *) echo "usage: $0 [-r ROUNDS] [-d SECONDS] [-s SCRATCH_DIR] [-b BUILD_DIR] [-o mem,disk,net,counters]" >&2; exit 2 ;;
  esac
done
for g in ${only//,/ }; do
  case $g in mem | disk | net | counters) ;; *) echo "fidelity: -o: unknown group \`$g\` (mem, disk, net, counters)" >&2; exit 2 ;; esac
done
agent=$build/vbench-agent
for t in gcc jq fio iperf3 sockperf "$agent"; do
  command -v "$t" >/dev/null || { echo "fidelity: \`$t\` not found (run ci/bootstrap and build first)" >&2; exit 2; }
done

work=$(mktemp -d "$scratch/vbench-fidelity.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

ncpu=$(nproc)
want() { [[ ",$only," == *",$1,"* ]]; }
metric() {  # metric NAME < sample.json
  jq -r --arg n "$1" '.metrics[] | select(.name == $n) | .value'
}
vb() {  # vb WORKLOAD PARAM... : the agent's sample as JSON
  local w=$1; shift
  local args=()
  for p in "$@"; do args+=(--param "$p"); done
  "$agent" run "$w" "${args[@]}" --scratch "$work" --json
}

# The STREAM-class reference: STREAM's triad as stream.c does it (OpenMP
# parallel for, static schedule, each thread first-touching its part), best
# time of 10 after a first untimed pass.
cat > "$work/triad.c" <<'C'
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#define N (256L * 1024 * 1024 / 8)
static double a[N], b[N], c[N];
static double now(void) { struct timeval t; gettimeofday(&t, 0); return t.tv_sec + t.tv_usec * 1e-6; }
int main(void) {
  const double s = 3.0;
  double best = 1e30;
#pragma omp parallel for schedule(static)
  for (long j = 0; j < N; j++) { a[j] = 1.0; b[j] = 2.0; c[j] = 0.0; }
  for (int k = 0; k < 11; k++) {
    double t = now();
#pragma omp parallel for schedule(static)
    for (long j = 0; j < N; j++) a[j] = b[j] + s * c[j];
    t = now() - t;
    if (k > 0 && t < best) best = t;
  }
  if (a[N / 2] != 2.0) { fprintf(stderr, "triad: wrong result\n"); return 1; }
  printf("%.1f\n", 3.0 * sizeof(double) * N / best / 1e6);
  return 0;
}
C
gcc -O3 -fopenmp -o "$work/triad" "$work/triad.c"
gcc -O2 -fopenmp -o "$work/triad-O2" "$work/triad.c"

# Network pairs: every receiver (iperf3 -s, sockperf sr, vbench-agent serve)
# on CPU 1 and every sender on CPU 0, as iperf3 -A would do. Unpinned,
# single-stream loopback throughput on a 2-CPU VM moves by 10-20% with where
# the scheduler happens to put the two ends.
tx=() rx=()
if [ "$ncpu" -ge 2 ]; then tx=(taskset -c 0) rx=(taskset -c 1); fi
iperf_port=15201
sock_port=15202
vb_port=15203
"${rx[@]}" iperf3 -s -B 127.0.0.1 -p $iperf_port >/dev/null 2>&1 & pids+=($!)
"${rx[@]}" sockperf sr --tcp -i 127.0.0.1 -p $sock_port >/dev/null 2>&1 & pids+=($!)
"${rx[@]}" "$agent" serve --listen 127.0.0.1:$vb_port >/dev/null 2>&1 & pids+=($!)
vbnet() {  # vbnet WORKLOAD PARAM... : like vb, pinned, against the pinned vbench peer
  local w=$1; shift
  local args=()
  for p in "$@"; do args+=(--param "$p"); done
  "${tx[@]}" "$agent" run "$w" "${args[@]}" --peer 127.0.0.1:$vb_port --json
}
sleep 1

declare -A v r
add() { v[$1]+="$2 "; r[$1]+="$3 "; }

for ((i = 1; i <= rounds; i++)); do
  echo "round $i/$rounds" >&2
  if want mem; then
    for order in ab ba; do
      if [ $order = ab ]; then a=$(vb mem.bandwidth size=256MiB threads=$ncpu ntimes=11 | metric triad); fi
      b=$(OMP_NUM_THREADS=$ncpu "$work/triad")
      if [ $order = ba ]; then a=$(vb mem.bandwidth size=256MiB threads=$ncpu ntimes=11 | metric triad); fi
      add "mem.bandwidth triad MB/s | STREAM-class triad, gcc -O3" "$a" "$b"
    done
    b=$(OMP_NUM_THREADS=$ncpu "$work/triad-O2")
    add "mem.bandwidth triad MB/s | STREAM-class triad, gcc -O2 (compiler effect, not a target)" "$a" "$b"
  fi

  if want disk; then
    a=$(vb disk.randread bs=4k qd=32 file_size=1GiB duration=${dur}s direct=true | metric iops)
    b=$(fio --name=rr --directory="$work" --filename=fio.dat --rw=randread --bs=4k --iodepth=32 \
          --ioengine=io_uring --direct=1 --size=1G --runtime="$dur" --time_based --output-format=json |
        jq '.jobs[0].read.iops')
    rm -f "$work/fio.dat"
    add "disk.randread QD32 IOPS | fio io_uring" "$a" "$b"
  fi

  if want net; then
    a=$(vbnet net.tcp_stream streams=1 msg_size=128KiB duration=${dur}s | metric throughput)
    b=$("${tx[@]}" iperf3 -c 127.0.0.1 -p $iperf_port -t "$dur" -l 128K --json | jq '.end.sum_sent.bits_per_second / 1e6')
    add "net.tcp_stream Mbit/s | iperf3" "$a" "$b"

    s=$(vbnet net.tcp_rr size=14 duration=${dur}s)
    out=$("${tx[@]}" sockperf pp --tcp -i 127.0.0.1 -p $sock_port -t "$dur" -m 14 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
    a=$(metric tps <<<"$s")
    b=$(awk '/\[Valid Duration\]/ { for (i = 1; i <= NF; i++) { if ($i ~ /^RunTime=/) { sub("RunTime=", "", $i); t = $i }
                                     if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i } } }
             END { printf "%.1f", n / t }' <<<"$out")
    add "net.tcp_rr transactions/s | sockperf pp" "$a" "$b"
    a=$(metric lat_p50 <<<"$s")
    b=$(awk '/percentile 50.000/ {printf "%.3f", 2 * $NF}' <<<"$out")
    add "net.tcp_rr p50 RTT us | sockperf pp (2 x p50)" "$a" "$b"
  fi

  if want counters; then
    # Cost of counting: the same cpu.int with the default counter set around
    # its region and with none (the agent counts only when asked).
    a=$("$agent" run cpu.int --param duration=${dur}s --counters default --json | metric ops)
    b=$("$agent" run cpu.int --param duration=${dur}s --json | metric ops)
    add "cpu.int ops/s, default counters | no counters" "$a" "$b"
  fi
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{x[NR] = $1} END {print (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2}'; }
printf "%-60s %12s %12s %8s\n" "vbench | reference" "vbench" "reference" "ratio"
for k in "mem.bandwidth triad MB/s | STREAM-class triad, gcc -O3" \
         "mem.bandwidth triad MB/s | STREAM-class triad, gcc -O2 (compiler effect, not a target)" "disk.randread QD32 IOPS | fio io_uring" \
         "net.tcp_stream Mbit/s | iperf3" "net.tcp_rr transactions/s | sockperf pp" \
         "net.tcp_rr p50 RTT us | sockperf pp (2 x p50)" "cpu.int ops/s, default counters | no counters"; do
  [ -n "${v[$k]:-}" ] || continue
  mv=$(median <<<"${v[$k]}")
  mr=$(median <<<"${r[$k]}")
  printf "%-60s %12.1f %12.1f %8.3f\n" "$k" "$mv" "$mr" "$(awk -v a="$mv" -v b="$mr" 'BEGIN {print a / b}')"
done
echo "($rounds rounds, interleaved, timed pairs ${dur}s each; medians; $(nproc) CPUs, $(uname -r), $(date -u +%F))"
