// The Data page's list update (docs/api.md, POST /v1/lists:update): an
// admin picks a list file; one that would shrink the Entity List from 3
// entries to 1 is refused with those numbers and the lists in force stay;
// one that adds Candiru (Entity List, 86 FR 60760) is installed and the
// page shows one entry added. Other roles see no such form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, startBrowser, signIn, screenshot, axeViolations, api, fixtureList } from './harness.mjs';

let server;
let b;

before(async () => {
  server = await startServer([], { dataDir: true });
  b = await startBrowser();
});

after(async () => {
  if (b) await b.browser.close();
  if (server) await server.stop();
});

async function elEntries() {
  const r = await api(server, server.keys.admin, 'GET', '/v1/lists');
  return r.json.lists.find((l) => l.code === 'EL').entries;
}

test('a checker sees no list update form', async () => {
  const { page } = b;
  await signIn(page, server, server.keys.checker);
  await page.goto(`${server.url}/#data`);
  await page.getByRole('heading', { name: 'Lists in force' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Update lists' }).count(), 0);
  await page.getByRole('button', { name: 'Sign out' }).click();
});

test('admin: a shrinking file is refused with the numbers; an added entry is installed', async () => {
  const { page } = b;
  const lines = readFileSync(fixtureList, 'utf8').split('\n').filter((l) => l);
  const one = join(server.dir, 'one.csv');
  writeFileSync(one, `${lines[0]}\n${lines[1]}\n`);
  const nso = lines.find((l) => l.includes(',NSO Group,'));
  const added = join(server.dir, 'added.csv');
  writeFileSync(added, `${lines.join('\n')}\n${nso.replace(',NSO Group,', ',Candiru Ltd,')}\n`);
  assert.equal(await elEntries(), 3);
  const before = (await api(server, server.keys.admin, 'GET', '/v1/lists')).json;

  await signIn(page, server, server.keys.admin);
  await page.goto(`${server.url}/#data`);
  await page.getByLabel('List file').setInputFiles(one);
  await page.getByRole('button', { name: 'Update lists' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /EL shrinks from 3 to 1 entries/);
  assert.equal(await elEntries(), 3, 'the lists in force are unchanged');

  await page.getByLabel('List file').setInputFiles(added);
  await page.getByRole('button', { name: 'Update lists' }).click();
  await page.getByText(/^Lists updated \(audit id a-/).waitFor();
  const row = page.locator('form tr', { hasText: 'EL' });
  assert.deepEqual(await row.locator('td').allTextContents(), ['EL', 'Entity List', '3', '4', '1', '0', '0']);
  assert.equal(await elEntries(), 4);
  // without a reload, the page shows what is now in force: the new
  // version, the Entity List with its 4 entries, date and age, and the
  // record of the update (and of the reload that put it in force) as the
  // last update
  const now = (await api(server, server.keys.admin, 'GET', '/v1/lists')).json;
  assert.notEqual(now.version, before.version);
  await page.locator('.lists-version', { hasText: `Version ${now.version};` }).waitFor();
  const elNow = now.lists.find((l) => l.code === 'EL');
  const age = String(Math.floor((Date.now() - Date.parse(`${elNow.date}T00:00:00Z`)) / 86400000));
  const cells = await page.locator('.lists-in-force tr', { hasText: 'Entity List' }).first().locator('td').allTextContents();
  assert.deepEqual(cells.slice(0, 5), ['EL', elNow.name, elNow.date, age, '4']);
  const last = (await api(server, server.keys.admin, 'GET', '/v1/audit?kind=lists&order=newest&limit=2')).json.records;
  assert.deepEqual(last.map((r) => r.outcome), ['lists_reloaded', 'lists_updated']);
  await page.locator('section[aria-label="Last update"] p', { hasText: `${last[0].time}: lists_reloaded` }).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, 'lists-update');

  // forced: the same shrinking file goes in, and the page says what the guard said
  await page.getByLabel('List file').setInputFiles(one);
  await page.getByLabel('Force').check();
  await page.getByRole('button', { name: 'Update lists' }).click();
  await page.getByText(/^Forced past the guard: .*EL shrinks from 4 to 1/).waitFor();
  assert.equal(await elEntries(), 1);
  await page.locator('.lists-in-force tr', { hasText: 'Entity List' }).first().locator('td', { hasText: /^1$/ }).waitFor();
  // opened again, the page shows the lists now in force and the last update's record
  await page.reload();
  await page.getByRole('heading', { name: 'Lists in force' }).waitFor();
  assert.deepEqual(await page.locator('tr', { hasText: 'Entity List' }).first().locator('td').nth(4).textContent(), '1');
  await page.getByText(/: lists_reloaded$/).waitFor();
});

// What the page shows (the Entity List's headings, tables and forms) and
// where the status line "Lists updated" sits: in a place of its own, so
// no heading and no first content of the page lies under it, wherever the
// page is scrolled, on a desktop window and on a 375 px phone.
async function coveredByStatus(page) {
  return page.evaluate(() => {
    const status = document.querySelector('[role="status"]');
    const targets = [...document.querySelectorAll('main h1, main h2, main h3, main .view > :nth-child(2)')];
    const covered = [];
    for (const t of targets) {
      for (const block of ['start', 'end']) {
        t.scrollIntoView({ block });
        const s = status.getBoundingClientRect();
        const r = t.getBoundingClientRect();
        const overlap = s.left < r.right && r.left < s.right && s.top < r.bottom && r.top < s.bottom;
        // the point a reader looks at: the middle of the part in the window
        const hit = document.elementFromPoint((r.left + Math.min(r.right, innerWidth)) / 2, (r.top + r.bottom) / 2);
        if (overlap || !t.contains(hit)) {
          covered.push(`${t.tagName} "${t.textContent.slice(0, 30)}" at the ${block} of the window, under ${hit && hit.id ? `#${hit.id}` : hit && hit.tagName}`);
        }
      }
    }
    return covered;
  });
}

test('after "Lists updated" the status line covers no heading or content, at 1280 and 375 px', async () => {
  const lines = readFileSync(fixtureList, 'utf8').split('\n').filter((l) => l);
  const nso = lines.find((l) => l.includes(',NSO Group,'));
  for (const [width, name] of [[1280, 'Candiru Ltd'], [375, 'Saito Tech Ltd']]) {
    // a file unlike the lists in force, installed whatever they are now
    const file = join(server.dir, `status-${width}.csv`);
    writeFileSync(file, `${lines.join('\n')}\n${nso.replace(',NSO Group,', `,${name},`)}\n`);
    const context = await b.browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    try {
      await signIn(page, server, server.keys.admin);
      await page.goto(`${server.url}/#data`);
      await page.getByLabel('List file').setInputFiles(file);
      await page.getByLabel('Force').check();
      await page.getByRole('button', { name: 'Update lists' }).click();
      await page.getByText(/^Lists updated \(audit id a-/).waitFor();
      // drawn again with what is now in force
      const now = (await api(server, server.keys.admin, 'GET', '/v1/lists')).json;
      await page.locator('.lists-version', { hasText: `Version ${now.version};` }).waitFor();
      const status = page.getByRole('status');
      assert.equal(await status.textContent(), 'Lists updated');
      assert.ok(await status.isVisible(), 'the message is shown');
      assert.deepEqual(await coveredByStatus(page), [], `${width} px`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `${width} px: no sideways scrolling`);
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await screenshot(page, `lists-update-status-${width}`);
      assert.deepEqual(await axeViolations(page), [], `${width} px`);
    } finally {
      await context.close();
    }
  }
});
