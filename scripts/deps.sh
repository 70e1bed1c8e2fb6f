#!/bin/sh
# Install what cairn needs from Debian's packages (and npm, for test tooling),
# once. As root it runs apt-get; otherwise it prints the exact line to run.
# Usage: scripts/deps.sh [build|test|bench]   (each includes the ones before)
set -eu
need=${1:-build}

pkgs="build-essential cmake pkg-config libuv1-dev node-llhttp libjansson-dev \
libssl-dev libpcre2-dev libcurl4-openssl-dev libsqlite3-dev libjwt-dev libwslay-dev \
libpq-dev libhiredis-dev"
case $need in
  test|bench) pkgs="$pkgs clang libclang-rt-14-dev curl nodejs npm chromium fonts-liberation \
postgresql redis-server haproxy nginx-light" ;;
esac
case $need in
  bench) pkgs="$pkgs wrk" ;;
esac

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
# A node from elsewhere (nvm, nodesource) serves as well as Debian's.
case " $missing " in *" nodejs "*) command -v node >/dev/null && missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//');; esac
case " $missing " in *" npm "*) command -v npm >/dev/null && missing=$(echo "$missing" | sed 's/ npm//');; esac

if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "cairn: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The tests start their own PostgreSQL, Redis, HAProxy and nginx (loopback,
    # ephemeral ports), so the daemons these packages would start system-wide
    # stay down: policy-rc.d refuses every start during the install (unless
    # the machine has its own), and on systemd they are not enabled for boot.
    rcd=/usr/sbin/policy-rc.d
    if [ ! -e $rcd ]; then
      trap 'rm -f $rcd' EXIT; trap 'exit 1' INT TERM
      printf '#!/bin/sh\nexit 101\n' >$rcd && chmod 755 $rcd
    fi
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    daemons=""
    for p in postgresql redis-server haproxy nginx-light; do
      case " $missing " in *" $p "*) daemons="$daemons ${p%-light}";; esac
    done
    if [ -n "$daemons" ] && [ -d /run/systemd/system ]; then
      # shellcheck disable=SC2086
      systemctl disable --now -q $daemons 2>/dev/null || true
    fi
  else
    echo "cairn: missing packages; run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi

# Test tooling from npm, kept in tests/ (package.json there pins versions).
case $need in
  test|bench)
    # again whenever the lock file changed since the last install
    if [ -f tests/package-lock.json ] && { [ ! -f tests/node_modules/.package-lock.json ] ||
       [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; }; then
      (cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi ;;
esac
exit 0
