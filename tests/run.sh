#!/bin/sh
# The whole `make test` run, once build/, build-asan/ and build-fuzz/ exist:
#   1. unit tests (CTest) in build/ and in build-asan/ (leak checking on);
#   2. the end-to-end suite (tests/e2e, node --test) against build/ and then
#      against build-asan/ (CAIRN_BUILD picks the binaries), and the cairn
#      command's suite (tests/cli) against build/;
#   3. every fuzz harness in build-fuzz/ for FUZZ_SECONDS (20) each, via
#      fuzz/run.sh.
# It ends with one line "N passed, N failed" counting every unit test case
# (each unit test prints its own "N passed, N failed"), every e2e test and
# every fuzz harness, and exits non-zero if anything failed. Logs are kept in
# a temporary directory named at the end.
# BUILD_DIR, ASAN_BUILD_DIR and FUZZ_BUILD_DIR override the three folders.
set -u
cd "$(dirname "$0")/.." || exit 2
build=${BUILD_DIR:-build}
asan=${ASAN_BUILD_DIR:-build-asan}
fuzz_secs=${FUZZ_SECONDS:-20}
export FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
log=$(mktemp -d "${TMPDIR:-/tmp}/cairn-test.XXXXXX")
passed=0
failed=0
report=""

tally() { # section passed failed
  passed=$((passed + $2))
  failed=$((failed + $3))
  report="$report$(printf '  %-28s %6s passed, %s failed' "$1" "$2" "$3")
"
}

# CTest in one build folder. A test that prints "x passed, y failed" counts
# x and y; one that fails after printing y = 0 (a crash at exit, a leak
# report) or never prints the line counts one more failure.
unit() {
  dir=$1
  tag=$(printf '%s' "$dir" | tr '/' '_')
  echo "== unit tests in $dir/"
  if [ ! -f "$dir/CTestTestfile.cmake" ]; then
    echo "cairn: $dir/ is not configured (make build build-asan)"
    tally "unit ($dir)" 0 1
    return
  fi
  (cd "$dir" && ctest -V --timeout 600) >"$log/unit-$tag.txt" 2>&1
  grep -a -E 'Test +#[0-9]+: ' "$log/unit-$tag.txt" | sed 's/^ *[0-9]*\/[0-9]* *//'
  counts=$(awk '
    /^[0-9]+: [0-9]+ passed, [0-9]+ failed\r?$/ {
      n = $1; sub(/:$/, "", n); p[n] = $2; f[n] = $4; has[n] = 1; next
    }
    / Test +#[0-9]+: / {
      s = $0; sub(/.* Test +#/, "", s); n = s; sub(/:.*/, "", n)
      seen[n] = 1; ok[n] = ($0 ~ / +Passed +[0-9.]+ sec/)
    }
    END {
      P = 0; F = 0; N = 0
      for (n in seen) {
        N++
        if (has[n]) { P += p[n]; F += f[n]; if (!ok[n] && f[n] == 0) F++ }
        else if (ok[n]) P++
        else F++
      }
      if (N == 0) F++
      print P, F
    }' "$log/unit-$tag.txt")
  # shellcheck disable=SC2086
  set -- $counts
  [ "$2" -gt 0 ] && grep -a -E '(FAIL|failed:|ERROR|runtime error)' "$log/unit-$tag.txt" | head -n 40
  tally "unit ($dir)" "$1" "$2"
}

# A node:test suite (tests/e2e: the server; tests/cli: the cairn command)
# against one build folder's binaries.
e2e() {
  dir=$1
  suite=${2:-e2e}
  tag=$suite-$(printf '%s' "$dir" | tr '/' '_')
  echo "== $suite tests against $dir/"
  (cd tests && CAIRN_BUILD="$dir" node --test --test-concurrency=1 --test-timeout=300000 \
    --test-reporter=spec "$suite/") >"$log/e2e-$tag.txt" 2>&1
  rc=$?
  # the spec reporter: one line per test, then the failures again in full
  grep -a -v -E '^ *(at |ℹ)' "$log/e2e-$tag.txt" | sed -n '1,/^✖ failing tests:/p' |
    grep -a -E '^ *(✔|✖|▶)' | grep -a -v -E '^ +✔'
  sed -n '/^✖ failing tests:/,$p' "$log/e2e-$tag.txt" | head -n 300
  get() { sed -n "s/^ℹ $1 \\([0-9]*\\)\$/\\1/p" "$log/e2e-$tag.txt" | tail -n 1; }
  p=$(get pass); f=$(get fail); c=$(get cancelled); s=$(get skipped); t=$(get todo)
  if [ -z "$p" ] || [ -z "$f" ]; then
    echo "cairn: no summary from node --test (exit $rc); see $log/e2e-$tag.txt"
    tail -n 30 "$log/e2e-$tag.txt"
    tally "$suite ($dir)" 0 1
    return
  fi
  # cancelled, skipped or todo tests are not passes
  f=$((f + ${c:-0} + ${s:-0} + ${t:-0}))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  tally "$suite ($dir)" "$p" "$f"
}

fuzz() {
  echo "== fuzz harnesses in $FUZZ_BUILD_DIR/, ${fuzz_secs}s each"
  fuzz/run.sh "$fuzz_secs" | tee "$log/fuzz.txt"
  line=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed$' "$log/fuzz.txt" | tail -n 1)
  if [ -z "$line" ]; then tally fuzz 0 1; return; fi
  # shellcheck disable=SC2086
  set -- $line
  tally fuzz "$1" "$3"
}

start=$(date +%s)
unit "$build"
unit "$asan"
e2e "$build"
e2e "$asan"
e2e "$build" cli
fuzz
echo "== summary ($(($(date +%s) - start)) s; logs in $log)"
printf '%s' "$report"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
