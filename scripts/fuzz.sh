#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang and runs them one after the other.
#   scripts/fuzz.sh [--merge] [SECONDS_PER_FUZZER] [FUZZER...]   (default 600 s, all five)
# New inputs go to build/fuzz/corpus/<fuzzer>, findings to build/fuzz/artifacts/<fuzzer>,
# logs to build/fuzz/logs. With --merge, new inputs that reach new code are then copied into
# fuzz/corpus/<fuzzer>. Prints one line per fuzzer; exits 1 when any found a crash, a leak,
# a timeout or an out-of-memory.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(sip_response_fuzz stream_framer_fuzz config_fuzz probe_query_fuzz http_request_fuzz)
declare -A dict=([sip_response_fuzz]=sip.dict [stream_framer_fuzz]=sip.dict
                 [config_fuzz]=toml.dict [probe_query_fuzz]=query.dict
                 [http_request_fuzz]=http.dict)
# SIP messages are at most 64 KiB; the framer gets room for several and for oversized ones.
declare -A max_len=([sip_response_fuzz]=65536 [stream_framer_fuzz]=196608
                    [config_fuzz]=16384 [probe_query_fuzz]=4096
                    [http_request_fuzz]=40960)

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "$1"
}

merge=0
seconds=600
fuzzers=()
for arg in "$@"; do
  case "$arg" in
    --merge) merge=1 ;;
    -h | --help) usage 0 ;;
    *[!0-9]*) [ -n "${dict[$arg]:-}" ] || { echo "fuzz.sh: unknown fuzzer \"$arg\" (have: ${all[*]})" >&2; exit 2; }
              fuzzers+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done
[ "$seconds" -gt 0 ] || usage 2
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=("${all[@]}")

scripts/install-deps.sh fuzz

build=build/fuzz
# -O1 without NDEBUG: fast enough, and asserts stay on.
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DSTX_FUZZ=ON -DSTX_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target "${fuzzers[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:print_stacktrace=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# "cov: N ft: M" of the last status line libFuzzer printed.
last_field() { { grep -o "$1: [0-9]*" "$2" || true; } | tail -n 1 | awk '{print $2}'; }
# A final-stats value (printed with -print_final_stats=1 when the run ends normally).
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

lines=()
failed=0
for f in "${fuzzers[@]}"; do
  corpus="$build/corpus/$f"
  artifacts="$build/artifacts/$f"
  log="$build/logs/$f.log"
  mkdir -p "$corpus" "$artifacts" "$build/logs"
  echo "fuzz.sh: running $f for ${seconds}s (log: $log)" >&2
  set +e
  "$build/fuzz/$f" "$corpus" "fuzz/corpus/$f" -dict="fuzz/${dict[$f]}" -max_len="${max_len[$f]}" \
    -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs="$(final_stat number_of_executed_units "$log")"
  [ -n "$execs" ] || execs="$({ grep -o '^#[0-9]*' "$log" || true; } | tail -n 1 | tr -d '#')"
  rate="$(final_stat average_exec_per_sec "$log")"
  result=ok
  found="$(find "$artifacts" -type f | head -n 3 | tr '\n' ' ')"
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    result="FOUND (exit $rc) ${found:-see $log}"
    failed=1
  fi
  lines+=("$(printf '%-20s %12s %9s %7s %8s  %s' "$f" "${execs:-?}" "${rate:-?}" \
    "$(last_field cov "$log")" "$(last_field ft "$log")" "$result")")
  if [ "$merge" -eq 1 ] && [ "$result" = ok ]; then
    # Edges only (no hit counts): the checked-in corpus stays at a few hundred files.
    "$build/fuzz/$f" -set_cover_merge=1 -use_counters=0 -max_len="${max_len[$f]}" \
      "fuzz/corpus/$f" "$corpus" \
      >"$build/logs/$f.merge.log" 2>&1
    echo "fuzz.sh: merged into fuzz/corpus/$f: $(find "fuzz/corpus/$f" -type f | wc -l) files" >&2
  fi
done

printf '%-20s %12s %9s %7s %8s  %s\n' fuzzer execs execs/s cov ft result
printf '%s\n' "${lines[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: findings above; reproduce with $build/fuzz/<fuzzer> <file>" >&2
fi
exit "$failed"
