#!/usr/bin/env bash
# Build the Next.js 15 peer app the benchmark measures cairn against, outside
# the repository (it needs node_modules), and print its directory.
#   bench/next-app.sh [DIR]      DIR defaults to $HOME/.cache/cairn-bench/next
# It is reused while its stamp matches: change APP_VERSION below whenever the
# app's sources change, so old caches rebuild instead of measuring stale code.
# Everything it prints except the final directory goes to stderr.
set -euo pipefail

APP_VERSION=1
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${BENCH_NEXT_DIR:-$HOME/.cache/cairn-bench/next}}
export NEXT_TELEMETRY_DISABLED=1
# Next tries to patch package-lock.json over the network and fails here
# ("reading 'os'"); the patch is not needed.
export NEXT_IGNORE_INCORRECT_LOCKFILE=1

stamp="next15-app-v$APP_VERSION $(sha256sum "$here/static.html" | cut -c1-16)"
if [ -f "$dir/.next/BUILD_ID" ] && [ "$(cat "$dir/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$dir"
  exit 0
fi

echo "bench: building the Next.js 15 app in $dir (first time: npm install + next build, about a minute)" >&2
mkdir -p "$dir/app/api/hello" "$dir/pages/api" "$dir/public"
rm -f "$dir/.bench-stamp"

# Written by hand rather than `npm init -y`: npm 11 names the package "next"
# and sets "type": "commonjs", and then next build fails ("import and export
# may appear only with sourceType: module").
cat >"$dir/package.json" <<'EOF'
{
  "name": "cairn-bench-next",
  "version": "1.0.0",
  "private": true,
  "scripts": { "build": "next build", "start": "next start" }
}
EOF

# App Router route handler: the figure Next.js users get for a GET route.
cat >"$dir/app/api/hello/route.js" <<'EOF'
export function GET() {
  return Response.json({ message: "Hello" });
}
EOF
# Pages Router API route: Next's cheaper API path, for comparison.
cat >"$dir/pages/api/hello2.js" <<'EOF'
export default function handler(req, res) {
  res.status(200).json({ message: "Hello" });
}
EOF
cat >"$dir/app/layout.js" <<'EOF'
export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
EOF
cat >"$dir/app/page.js" <<'EOF'
export default function Page() {
  return <h1>cairn bench peer</h1>;
}
EOF
cp "$here/static.html" "$dir/public/static.html"

if [ ! -x "$dir/node_modules/.bin/next" ]; then
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
    next@15 react@19 react-dom@19 >&2)
fi
(cd "$dir" && node_modules/.bin/next build >&2)
echo "$stamp" >"$dir/.bench-stamp"
echo "$dir"
