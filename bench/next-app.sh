#!/usr/bin/env bash
# Build the Next.js 15 peer app the benchmark measures cairn against, outside
# the repository (it needs node_modules), and print its directory.
#   bench/next-app.sh [DIR]      DIR defaults to $HOME/.cache/cairn-bench/next
# It is reused while its stamp matches: change APP_VERSION below whenever the
# app's sources change, so old caches rebuild instead of measuring stale code.
# Everything it prints except the final directory goes to stderr.
set -euo pipefail

APP_VERSION=2
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
# Issue 5's pages, the same ones bench/gen-apps.sh writes for cairn: a root
# layout (metadata title, a header with a nav), /list/[n] rendered per
# request (force-dynamic) with 20 items computed from n, and /about, static.
# The layout is TypeScript, as create-next-app writes it; v1's layout.js
# and page.js are removed so the two cannot clash.
rm -f "$dir/app/layout.js" "$dir/app/page.js"
cat >"$dir/app/layout.tsx" <<'EOF'
import type { Metadata } from "next";

export const metadata: Metadata = {
  title: { default: "cairn bench", template: "%s | cairn bench" },
  description: "The page issue 5 measures.",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header>
          <nav><a href="/">Home</a> <a href="/list/7">List</a> <a href="/about">About</a></nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
EOF
cat >"$dir/app/page.tsx" <<'EOF'
export default function Page() {
  return <h1>cairn bench peer</h1>;
}
EOF
mkdir -p "$dir/app/list/[n]" "$dir/app/about"
# Item i of list n: the same integers as gen-apps.sh's loader (prices in
# cents, so C and JavaScript agree to the byte).
cat >"$dir/app/list/[n]/page.tsx" <<'EOF'
export const dynamic = "force-dynamic";
export const metadata = { title: "List" };

type Item = { id: number; name: string; price: string; description: string };

function items(n: number): Item[] {
  const out: Item[] = [];
  for (let i = 1; i <= 20; i++) {
    const cents = (n * 7919 + i * 104729) % 100000 + 99;
    out.push({
      id: i,
      name: `Item ${n}-${i}`,
      price: `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`,
      description: `Entry ${i} of list ${n}, computed for this request.`,
    });
  }
  return out;
}

export default async function Page({ params }: { params: Promise<{ n: string }> }) {
  const { n } = await params;
  const k = parseInt(n, 10) || 0;
  return (
    <>
      <h1>{`Items for ${k}`}</h1>
      <ul className="items">
        {items(k).map((it) => (
          <li key={it.id}>
            <span className="name">{it.name}</span> <span className="price">{it.price}</span>{" "}
            <span className="desc">{it.description}</span>
          </li>
        ))}
      </ul>
    </>
  );
}
EOF
cat >"$dir/app/about/page.tsx" <<'EOF'
export const metadata = { title: "About" };

export default function Page() {
  return (
    <>
      <h1>About this bench</h1>
      <p>This page is static: it reads nothing from the request, so it is rendered once when the app is built and then served from memory.</p>
      <p>The same page is written twice, once for Next.js as React server components and once for cairn as a Mustache template, so the two servers send the same markup.</p>
      <p>nginx serves the bytes cairn sends as a plain file, which is the least work any server can do for this page.</p>
    </>
  );
}
EOF
cp "$here/static.html" "$dir/public/static.html"

if [ ! -x "$dir/node_modules/.bin/next" ] || [ ! -d "$dir/node_modules/@types/react" ]; then
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
    next@15 react@19 react-dom@19 typescript@5 @types/react@19 @types/node@20 >&2)
fi
(cd "$dir" && node_modules/.bin/next build >&2)
echo "$stamp" >"$dir/.bench-stamp"
echo "$dir"
