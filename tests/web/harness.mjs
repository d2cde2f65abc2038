// Starts `acegate serve` on loopback with a temporary database, fixture keys
// and the fixture lists, and Debian's chromium through playwright-core; each
// test file stops what it started.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
export const build = process.env.ACEGATE_BUILD || join(root, 'build');
export const acegate = join(build, 'acegate');
export const artifacts = join(build, 'web-artifacts');
export const fixtureList = join(here, 'fixtures', 'csl-2026-11-30.csv');
mkdirSync(artifacts, { recursive: true });

function addKey(db, role, name) {
  const out = execFileSync(acegate, ['keys', 'add', '--role', role, '--name', name, '--db', db],
    { encoding: 'utf8', env: { ...process.env, ACEGATE_DB: db } });
  return out.trim().split('\n').pop();
}

// A server on 127.0.0.1 with a fresh log; keys for every role. With
// opts.dataDir the fixture list is installed in a data directory the
// service screens from (--lists-dir), so lists can be updated through it.
export async function startServer(extraArgs = [], opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'acegate-web-'));
  const db = join(dir, 'audit.db');
  const lists = join(dir, 'lists');
  mkdirSync(lists);
  copyFileSync(fixtureList, join(lists, 'csl-2026-11-30.csv'));
  const keys = {
    admin: addKey(db, 'admin', 'Compliance admin'),
    reviewer: addKey(db, 'reviewer', 'Export reviewer'),
    checker: addKey(db, 'checker', 'Order desk'),
    auditor: addKey(db, 'auditor', 'Internal audit'),
  };
  const data = join(dir, 'data');
  if (opts.dataDir) {
    execFileSync(acegate, ['lists', 'update', join(lists, 'csl-2026-11-30.csv'), '--force', '--data-dir', data, '--db', db],
      { stdio: 'ignore', env: { ...process.env, ACEGATE_DB: db } });
  }
  const child = spawn(acegate, ['serve', '--no-config', '--listen', '127.0.0.1:0', '--db', db,
    ...(opts.dataDir ? ['--lists-dir', data] : ['--lists', lists]),
    '--max-list-age', 'off', '--access-log', 'off', '--threads', '2', ...extraArgs],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ACEGATE_DB: db } });
  let stderr = '';
  const port = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start: ${stderr}`)), 20000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const m = /"event":"listening".*?"port":(\d+)/.exec(stderr);
      if (m) { clearTimeout(timer); ok(Number(m[1])); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`server exited ${code}: ${stderr}`)); });
  });
  child.removeAllListeners('exit');
  const url = `http://127.0.0.1:${port}`;
  return {
    url, keys, dir, db, lists, child,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function api(server, key, method, path, body, contentType = 'application/json') {
  const resp = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await resp.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: resp.status, json, text, headers: resp.headers };
}

export async function startBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // as root (CI) chromium's sandbox cannot start
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return { browser, context, page, dialogs, consoleErrors };
}

export async function signIn(page, server, key) {
  await page.goto(server.url + '/');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who').waitFor({ state: 'visible' });
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// axe-core's serious and critical violations on the page as it is now.
export async function axeViolations(page) {
  // injected through the devtools protocol: the page's CSP forbids inline script
  await page.addScriptTag({ content: axeSource }).catch(async () => page.evaluate(axeSource));
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
