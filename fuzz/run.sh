#!/bin/sh
# Run every libFuzzer harness built in build-fuzz/ (the fuzz_* executables)
# for SECONDS each, over a scratch copy of its seed corpus fuzz/corpus/<name>/
# (so the repository's corpus is not churned; the copy, the log and any
# crash artifacts stay in fuzz/corpus-run/<name>/, which git ignores).
# Ends with "N passed, N failed" (one per harness); non-zero if any crashed.
#   fuzz/run.sh [SECONDS]          (default 60; FUZZ_BUILD_DIR overrides build-fuzz)
set -u
cd "$(dirname "$0")/.." || exit 2
secs=${1:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
scratch=fuzz/corpus-run
passed=0
failed=0

case $secs in
  ''|*[!0-9]*) echo "usage: fuzz/run.sh SECONDS" >&2; exit 2 ;;
esac

harnesses=$(find "$build" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort)
if [ -z "$harnesses" ]; then
  echo "fuzz: no harness in $build/ (build it with: make build-fuzz)"
  echo "0 passed, 1 failed"
  exit 1
fi

for bin in $harnesses; do
  name=${bin##*/fuzz_}
  work=$scratch/$name
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  if [ -d "fuzz/corpus/$name" ]; then
    cp -R "fuzz/corpus/$name/." "$work/corpus/"
  else
    echo "fuzz_$name: no seed corpus in fuzz/corpus/$name/, starting empty"
  fi
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" >"$work/log.txt" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt" | tail -n 1)
  cov=$(grep -a -o 'cov: [0-9]*' "$work/log.txt" | tail -n 1)
  units=$(find "$work/corpus" -type f | wc -l | tr -d ' ')
  if [ "$rc" -eq 0 ] && [ -z "$(ls -A "$work/artifacts")" ]; then
    passed=$((passed + 1))
    echo "fuzz_$name: ok, ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}, corpus $units"
  else
    failed=$((failed + 1))
    echo "fuzz_$name: FAILED (exit $rc); last lines of $work/log.txt:"
    tail -n 40 "$work/log.txt" | sed 's/^/  /'
    for a in "$work"/artifacts/*; do
      [ -e "$a" ] && echo "  reproduce: $bin $a"
    done
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
