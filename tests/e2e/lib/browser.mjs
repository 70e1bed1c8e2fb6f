// Headless Chromium for the browser tests: Debian's chromium driven by npm's
// playwright-core (tests/package.json). One browser per test file, started
// by the file's before() and closed by its after(); pages get a fresh
// context each (cookies and JavaScript settings do not leak between tests).
//
// CHROMIUM names another binary. A missing chromium or playwright-core is
// a failure that says how to install them, never a skip: the issue's
// browser checks are part of the suite.
import { existsSync } from 'node:fs';

export function chromiumPath() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`no Chromium at ${candidates.join(' or ')}: run scripts/deps.sh test ` +
      '(it installs Debian\'s chromium) or set CHROMIUM');
  }
  return found;
}

export async function launch() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed (cd tests && npm ci): ${e.message}`);
  }
  // --no-sandbox: the suite runs as root in CI containers, where Chromium's
  // sandbox cannot start; the pages it loads are our own test apps.
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 60000,
  });
}

// A page in a fresh context; opts go to newContext (javaScriptEnabled...).
// Console errors and failed page scripts are collected in page.errors, so a
// test can check that nothing went wrong in the browser.
export async function openPage(browser, opts = {}) {
  const context = await browser.newContext(opts);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  // An answer of 400 or more is recorded with its URL (the console's own
  // "Failed to load resource" line names none, so it is left out).
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) page.errors.push(`${r.status()} ${r.url()}`); });
  page.closeAll = () => context.close();
  return page;
}
