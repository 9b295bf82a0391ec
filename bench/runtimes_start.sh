#!/usr/bin/env bash
# Start time of the real runtimes beside what vbench's `oci` and `docker`
# environments record (their create_s + start_s in results.json):
#   - `runc run` of the bundle vbench wrote (OUT/oci-oci-config.json), with
#     `vbench-agent noop` as the process, so one run is create + start +
#     exit + delete; the network namespace is runc's own (vbench's prepared
#     one is gone with its run);
#   - `docker run --rm IMAGE true`-style: `docker run --rm IMAGE
#     /vbench-agent noop` of an image imported from the same agent.
# Both timed by hyperfine.
#
#   bench/runtimes_start.sh OUT [path/to/vbench-agent] [runs]   (root; runc, hyperfine; docker optional)
#   OUT: the --out directory of a `vbench run --env oci[,docker]`
set -euo pipefail
out=${1:?usage: runtimes_start.sh OUT [agent] [runs]}
agent=$(realpath "${2:-build/vbench-agent}")
runs=${3:-20}
for t in runc hyperfine python3; do
  command -v "$t" >/dev/null || { echo "runtimes_start.sh: needs $t" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "runtimes_start.sh: must run as root" >&2; exit 2; }
config=$(ls "$out"/*-oci-config.json 2>/dev/null | head -1)
[ -n "$config" ] || { echo "runtimes_start.sh: no *-oci-config.json in $out (run with --env oci)" >&2; exit 2; }

bundle=$(mktemp -d /tmp/vbench-oci-start-XXXXXX)
image=vbench/start-bench:$$
cleanup() {
  rm -rf "$bundle"
  if command -v docker >/dev/null && docker version >/dev/null 2>&1; then docker rmi -f "$image" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
mkdir -p "$bundle/rootfs"/{proc,dev,sys,tmp,scratch}
touch "$bundle/rootfs/vbench-agent"
python3 - "$config" "$bundle/config.json" "$agent" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/vbench-agent", "noop"]
for m in c["mounts"]:
    if m["destination"] == "/vbench-agent":
        m["source"] = sys.argv[3]
c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/scratch"]
for n in c["linux"]["namespaces"]:
    n.pop("path", None)  # vbench's prepared namespace died with its run
c["linux"]["cgroupsPath"] = "/vbench/start-bench"
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
hyperfine -N --warmup 3 --runs "$runs" --export-json "$bundle/runc.json" \
  "runc run --bundle $bundle vbench-start-bench-$$" 2>&1 | sed -n '1,4p'

python3 - "$out/results.json" <<'PY'
import json, sys, statistics
r = json.load(open(sys.argv[1]))
for e in r.get("envs", []):
    lc = {m["name"]: m["value"] for m in e.get("lifecycle", [])}
    if "create_s" in lc:
        print(f"vbench {e['label']}: create {lc['create_s']*1e3:.1f} ms + start (to agent ready) "
              f"{lc.get('start_s', 0)*1e3:.1f} ms; teardown {lc.get('teardown_s', 0)*1e3:.1f} ms")
PY

if command -v docker >/dev/null && docker version >/dev/null 2>&1; then
  install -m 0755 "$agent" "$bundle/rootfs/vbench-agent"
  tar -C "$bundle/rootfs" -cf "$bundle/img.tar" vbench-agent tmp scratch
  docker import "$bundle/img.tar" "$image" >/dev/null
  hyperfine --warmup 2 --runs "$runs" "docker run --rm $image /vbench-agent noop" 2>&1 | sed -n '1,4p'
fi
