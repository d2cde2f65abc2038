// The workbench end to end: a server on loopback, Debian's chromium, the
// pages driven as a user would. Expected outcomes follow the regulation:
// 4D004 (NS1, AT1) to Brazil needs a licence by the Country Chart (NS1 X)
// and Brazil is in no group 740.22(c)(1) excludes, so ACE authorizes it
// (740.22(b)(1)); NSO Group is on the Entity List (86 FR 60760).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, startBrowser, signIn, screenshot, axeViolations, api, root } from './harness.mjs';

let server;
let b;
const axeByPage = {};

async function axe(name) {
  axeByPage[name] = await axeViolations(b.page);
  await screenshot(b.page, name);
}

// How many line-heights the text of a cell (or part of one) takes: an id or
// a timestamp kept whole takes one, one broken at a hyphen about two.
async function lines(locator) {
  return locator.evaluate((node) => {
    const range = document.createRange();
    range.selectNodeContents(node);
    return range.getBoundingClientRect().height / parseFloat(getComputedStyle(node).lineHeight);
  });
}

// Whether the shadows on the edges of a table's scrolling box are shown.
async function edgeShadows(wrap) {
  return wrap.evaluate((w) => ({
    left: getComputedStyle(w.parentElement, '::before').opacity === '1',
    right: getComputedStyle(w.parentElement, '::after').opacity === '1',
  }));
}

before(async () => {
  server = await startServer();
  b = await startBrowser();
});

after(async () => {
  if (b) await b.browser.close();
  if (server) await server.stop();
});

test('the page is served with a strict Content-Security-Policy and no inline script', async () => {
  const resp = await fetch(`${server.url}/`);
  assert.equal(resp.status, 200);
  assert.match(resp.headers.get('content-type'), /^text\/html/);
  const csp = resp.headers.get('content-security-policy');
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const html = await resp.text();
  for (const tag of html.match(/<script[^>]*>/g)) assert.match(tag, /\ssrc="\/ui\//);
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handler');
  const js = await fetch(`${server.url}/ui/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.doesNotMatch(await js.text(), /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  assert.equal((await fetch(`${server.url}/ui/nothing.js`)).status, 404);
});

test('sign in: a wrong key is refused, a right one shows name and role, the key stays out of the URL', async () => {
  const { page } = b;
  await page.goto(`${server.url}/`);
  await axe('sign-in');
  await page.getByLabel('API key', { exact: true }).fill('agk_000000000000_notakey');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /not valid/);
  // keyboard only: the field, Enter
  await page.getByLabel('API key', { exact: true }).fill(server.keys.checker);
  await page.getByLabel('API key', { exact: true }).press('Enter');
  await page.locator('#who').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#who').textContent(), 'Order desk (checker)');
  assert.ok(!page.url().includes(server.keys.checker));
  assert.equal(await page.evaluate(() => sessionStorage.getItem('acegate.key')), server.keys.checker);
  for (const name of ['Check', 'Screen', 'Review', 'Parties', 'Audit', 'Data']) {
    assert.ok(await page.getByRole('link', { name, exact: true }).isVisible(), name);
  }
  assert.equal(await page.getByRole('link', { name: 'Keys', exact: true }).isVisible(), false, 'Keys is for admins');
  // signing out forgets the key
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key', { exact: true }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('acegate.key')), null);
});

test('focus is visible and the navigation works with the keyboard', async () => {
  const { page } = b;
  await signIn(page, server, server.keys.checker);
  // back from the page heading (focused on arrival) to the Screen link
  for (let i = 0; i < 12; i += 1) {
    await page.keyboard.press('Shift+Tab');
    if (await page.evaluate(() => document.activeElement.textContent === 'Screen')) break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Screen');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Screen', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Screen', 'focus moves to the page heading');
  // a screening with the keyboard alone: Tab to the name, type, Enter
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'name');
  await page.keyboard.type('Hangzhou Hikvision Digital Technology');
  await page.keyboard.press('Enter');
  await page.locator('section .outcome').waitFor();
  assert.equal(await page.locator('section .outcome').textContent(), 'CONFIDENT_MATCH');
});

test('check: the outcome, its plain line and a cited paragraph linked to the eCFR', async () => {
  const { page } = b;
  await page.goto(`${server.url}/#check`);
  await page.getByLabel('ECCN', { exact: true }).selectOption('4D004');
  assert.match(await page.locator('#main').textContent(), /intrusion software/);
  await page.getByLabel('Destination', { exact: true }).fill('Brazil');
  await page.getByLabel('End user type', { exact: true }).selectOption('non_government');
  await page.getByLabel('As of', { exact: true }).fill('2026-11-24');
  await page.getByLabel('Reference', { exact: true }).fill('SO-WEB-1');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  const badge = page.locator('.decision .outcome');
  await badge.waitFor();
  assert.equal(await badge.textContent(), 'LICENSE_EXCEPTION_ACE');
  assert.match(await page.locator('.decision .plain').textContent(), /License Exception ACE/);
  const link = page.locator('.decision a[href="https://www.ecfr.gov/current/title-15/section-740.22#p-740.22(b)(1)"]').first();
  assert.equal(await link.textContent(), '740.22(b)(1)');
  assert.ok(await page.locator('.decision ol.trace li').count() >= 5);
  await axe('check');
});

test('check: the ECCN picker asks for the "for" qualifier where 740.22(b)(1) needs one', async () => {
  const { page } = b;
  await page.goto(`${server.url}/#check`);
  await page.getByLabel('ECCN', { exact: true }).selectOption('4D004');
  assert.equal(await page.getByLabel('For (the item it is for)', { exact: true }).isVisible(), false);
  await page.getByLabel('ECCN', { exact: true }).selectOption('4D001.a');
  assert.ok(await page.getByLabel('For (the item it is for)', { exact: true }).isVisible());
  const fors = await page.getByLabel('For (the item it is for)', { exact: true }).locator('option').allTextContents();
  assert.deepEqual(fors.sort(), ['for 4A005', 'for 4D004']);
});

test('screen: a listed party gives one result per entry, with list, entry and why', async () => {
  const { page } = b;
  await page.goto(`${server.url}/#screen`);
  await page.getByLabel('Party name', { exact: true }).fill('NSO Group');
  await page.getByLabel('Country', { exact: true }).fill('IL');
  await page.getByLabel('Address', { exact: true }).fill('Herzliya');
  await page.getByRole('button', { name: 'Screen', exact: true }).click();
  await page.locator('section .outcome').waitFor();
  assert.equal(await page.locator('section .outcome').textContent(), 'CONFIDENT_MATCH');
  const row = page.locator('section table tbody tr').first();
  const cells = await row.locator('td').allTextContents();
  assert.equal(cells[0], 'Entity List');
  assert.match(cells[1], /^NSO Group/);
  assert.match(cells[4], /listed name/, 'why it matched');
  await axe('screen');
});

test('the XSS fixture entry renders as its characters and no script runs', async () => {
  const { page } = b;
  const evil = '<img src=x onerror=alert(1)>';
  await page.goto(`${server.url}/#data`);
  await page.goto(`${server.url}/#screen`);
  await page.getByLabel('Party name', { exact: true }).fill(evil);
  await page.getByRole('button', { name: 'Screen', exact: true }).click();
  await page.locator('section .outcome').waitFor();
  const cells = await page.locator('section table tbody tr').first().locator('td').allTextContents();
  assert.ok(cells[1].startsWith(evil), cells[1]);
  assert.ok(cells[6].includes('<script>alert(2)</script>'), cells[6]);
  assert.equal(await page.locator('main img').count(), 0, 'no element made from the entry');
  assert.equal(await page.locator('main script').count(), 0);
  // and in a check's candidates, and the audit detail
  await page.goto(`${server.url}/#check`);
  await page.getByLabel('ECCN', { exact: true }).selectOption('4D004');
  await page.getByLabel('Destination', { exact: true }).fill('CN');
  await page.getByLabel('End user name', { exact: true }).fill(evil);
  await page.getByLabel('Reference', { exact: true }).fill('SO-WEB-XSS');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.locator('.decision .outcome').waitFor();
  assert.ok((await page.locator('.decision table').first().textContent()).includes(evil));
  assert.equal(await page.locator('main img').count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(b.dialogs, [], 'no dialog fired');
  await screenshot(page, 'xss-check');
});

test('review: a REVIEW check is resolved as cleared from the Review page', async () => {
  const { page } = b;
  // a check whose end user is a near miss of an Entity List name
  const made = await api(server, server.keys.checker, 'POST', '/v1/checks', {
    item: { eccn: '4D004' }, destination: 'DE', end_user: { type: 'non_government', name: 'NSO Grop' }, ref: 'SO-WEB-REVIEW',
  });
  assert.equal(made.status, 200, made.text);
  assert.equal(made.json.outcome, 'REVIEW');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, server, server.keys.reviewer);
  await page.goto(`${server.url}/#review`);
  const row = page.locator('tr', { hasText: 'SO-WEB-REVIEW' });
  await row.waitFor();
  await axe('review');
  await row.getByRole('link').click();
  await page.getByRole('heading', { name: 'Candidates beside the party' }).waitFor();
  assert.ok((await page.locator('.side').first().textContent()).includes('NSO Grop'));
  assert.ok((await page.locator('.side').first().textContent()).includes('NSO Group'));
  await axe('review-item');
  // with the keyboard alone: the decision with Space, the note typed, Tab to the button, Enter
  await page.getByLabel('Clear: the candidates are not this party', { exact: true }).focus();
  await page.keyboard.press('Space');
  assert.ok(await page.getByLabel('Clear: the candidates are not this party', { exact: true }).isChecked());
  // the note is required
  await page.getByRole('button', { name: 'Record review' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /Note: required/);
  assert.equal(await page.evaluate(() => document.activeElement.name), 'note', 'focus goes to the missing note');
  await page.keyboard.type('A Berlin reseller, not NSO Group (registry HRB 1234)');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Record review');
  await page.keyboard.press('Enter');
  await page.locator('text=Status: cleared').waitFor();
  const stored = await api(server, server.keys.reviewer, 'GET', `/v1/reviews/${made.json.audit_id}`);
  assert.equal(stored.json.status, 'cleared');
  assert.equal(stored.json.reviews.length, 1);
  assert.equal(stored.json.reviews[0].decision, 'cleared');
  await screenshot(page, 'review-resolved');
});

// The terms and values of the party's side of each candidate panel, by role.
async function partySides(page) {
  return page.locator('.side').evaluateAll((sides) => sides.map((side) => {
    const box = side.firstElementChild;
    const pairs = {};
    for (const dt of box.querySelectorAll('dt')) pairs[dt.textContent] = dt.nextElementSibling.textContent;
    return { heading: box.querySelector('h3').textContent, ...pairs };
  }));
}

test('review: the item shows each party as given, and says so of what was not given', async () => {
  const { page } = b;
  // to France: the clearance above was of the party in Germany. The end
  // user gives an address, city and identifier; the consignee only a name
  // (screened with the destination's country, as the end user is when it
  // gives none); the purchaser a name alone (screened with no country, so
  // a longer name stays a possible match: the entry lists IL only).
  const made = await api(server, server.keys.checker, 'POST', '/v1/checks', {
    item: { eccn: '4D004' },
    destination: 'FR',
    end_user: { name: 'NSO Grop', country: 'FR', address: '12 rue de Rivoli', city: 'Paris', ids: ['RCS 552081317'] },
    consignee: { name: 'NSO Grop' },
    purchaser: { name: 'NSO Grop Technologies' },
    ref: 'SO-WEB-ADDRESS',
  });
  assert.equal(made.status, 200, made.text);
  assert.equal(made.json.outcome, 'REVIEW');
  assert.deepEqual(made.json.screening.map((g) => [g.party, g.matches.length > 0]),
    [['end_user', true], ['consignee', true], ['purchaser', true]]);
  // a screening of one party with an address and no country
  const screened = await api(server, server.keys.checker, 'POST', '/v1/screenings',
    { name: 'NSO Grop Technologies', address: '12 rue de Rivoli', ref: 'SO-WEB-ADDRESS-S' });
  assert.equal(screened.status, 200, screened.text);
  assert.equal(screened.json.outcome, 'POSSIBLE_MATCH');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, server, server.keys.reviewer);
  const item = await api(server, server.keys.reviewer, 'GET', `/v1/reviews/${made.json.audit_id}`);
  assert.equal(item.json.request.end_user.address, '12 rue de Rivoli');
  assert.equal(item.json.request.consignee.address, undefined);

  // (a new hash on the same page: wait for this item's panels, not the last one's)
  await page.goto(`${server.url}/#review/${made.json.audit_id}`);
  await page.getByRole('heading', { name: 'Purchaser' }).waitFor();
  const sides = await partySides(page);
  const party = (title) => sides.find((s) => s.heading === title);
  assert.deepEqual(party('End user'), { heading: 'End user', Name: 'NSO Grop', Country: 'FR',
    Address: '12 rue de Rivoli', City: 'Paris', Identifiers: 'RCS 552081317' });
  assert.deepEqual(party('Consignee'), { heading: 'Consignee', Name: 'NSO Grop',
    Country: 'FR (the destination)', Address: 'none given', City: 'none given', Identifiers: 'none given' });
  assert.deepEqual(party('Purchaser'), { heading: 'Purchaser', Name: 'NSO Grop Technologies',
    Country: 'none given', Address: 'none given', City: 'none given', Identifiers: 'none given' });
  await axe('review-item-parties');

  await page.goto(`${server.url}/#review/${screened.json.audit_id}`);
  await page.getByRole('heading', { name: 'Party screened' }).waitFor();
  assert.deepEqual((await partySides(page))[0], { heading: 'Party screened', Name: 'NSO Grop Technologies',
    Country: 'none given', Address: '12 rue de Rivoli', City: 'none given', Identifiers: 'none given' });
  await axe('review-item-screening');
});

// The entry beside the candidate, as the lists in force give it now: a
// check's answer records only the entry's list, id, name and licence
// fields, so its address comes from the lists, with the state of its
// content against the content the decision was made on. Entry 7731 of the
// Entity List (tests/screen/fixtures) is added to the lists the service
// reads, then its address changed, then removed, each put in force by a
// reload; the page says which, in words.
test('review: the listed entry is beside the party, and the page says whether it changed', async () => {
  const { page } = b;
  const fx = join(root, 'tests', 'screen', 'fixtures');
  const extra = join(server.lists, 'zeltronic.csv');
  const reload = async () => {
    const r = await api(server, server.keys.admin, 'POST', '/v1/admin/reload', {});
    assert.equal(r.status, 200, r.text);
  };
  const side = () => page.locator('.side', { hasText: 'Zeltronic Surveillance Systems' });
  const state = () => side().locator('.entry-state');
  copyFileSync(join(fx, 'remember-el-7731.csv'), extra);
  await reload();
  try {
    // Malta: 4D004 goes under ACE unless the end user is listed; a
    // possible Entity List match makes it REVIEW
    const made = await api(server, server.keys.checker, 'POST', '/v1/checks', {
      item: { eccn: '4D004' }, destination: 'MT', end_user: { name: 'Zeltronic Surveillance', address: '12 Tower Road, Sliema' },
    });
    assert.equal(made.status, 200, made.text);
    assert.equal(made.json.outcome, 'REVIEW');
    // a screening records the entry's address: the page can say what it was
    const screened = await api(server, server.keys.checker, 'POST', '/v1/screenings', { name: 'Zeltronic Surveillance', country: 'MT' });
    assert.equal(screened.status, 200, screened.text);
    assert.equal(screened.json.matches[0].addresses, '1 Harbour Road, Valletta, MT');
    const m = made.json.screening[0].matches[0];
    assert.equal(m.source_id, '7731');
    assert.equal(m.addresses, undefined, 'a check records no address of the entry');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, server, server.keys.reviewer);
    await page.goto(`${server.url}/#review/${made.json.audit_id}`);
    await state().waitFor();
    const pairsOf = (box) => box.evaluate((node) => {
      const out = {};
      for (const dt of node.querySelectorAll('dt')) out[dt.textContent] = dt.nextElementSibling.textContent;
      return out;
    });
    const party = await pairsOf(side().locator('> div').first());
    assert.equal(party.Address, '12 Tower Road, Sliema');
    let entry = await pairsOf(side().locator('> div').nth(1));
    assert.equal(entry.Addresses, '1 Harbour Road, Valletta, MT');
    assert.equal(entry.Countries, 'MT');
    assert.equal(entry['Federal Register'], '89 FR 1234');
    assert.equal(entry['Licence policy'], 'Presumption of denial.');
    assert.match(await state().textContent(), /^Entry unchanged since the decision: the same content/);
    await axe('review-item-entry-same');

    // one field changed: the entry as listed now, said to have changed
    copyFileSync(join(fx, 'remember-el-7731-changed.csv'), extra);
    await reload();
    await page.reload();
    await state().filter({ hasText: 'changed' }).waitFor();
    assert.match(await state().textContent(), /^Entry changed since the decision: shown as listed now\./);
    entry = await pairsOf(side().locator('> div').nth(1));
    assert.equal(entry.Addresses, '7 Harbour Road, Valletta, MT');
    await axe('review-item-entry-changed');
    await page.goto(`${server.url}/#review/${screened.json.audit_id}`);
    await state().filter({ hasText: 'changed' }).waitFor();
    entry = await pairsOf(side().locator('> div').nth(1));
    assert.equal(entry.Addresses, '7 Harbour Road, Valletta, MT (at the decision: 1 Harbour Road, Valletta, MT)');
    assert.equal(entry.Countries, 'MT', 'what did not change is shown once');
    assert.equal(entry.Programs, undefined, 'no programs listed, none recorded');
    await screenshot(page, 'review-item-entry-changed-screening');
    await page.goto(`${server.url}/#review/${made.json.audit_id}`);

    // gone: said so, with what the record gave of the entry
    rmSync(extra);
    await reload();
    await page.reload();
    await state().filter({ hasText: 'No longer listed' }).waitFor();
    assert.equal(await state().textContent(), 'No longer listed: the lists in force have no entry 7731 on Entity List.');
    entry = await pairsOf(side().locator('> div').nth(1));
    assert.equal(entry.Addresses, undefined);
    assert.equal(entry['Licence policy'], 'Presumption of denial.');
    await axe('review-item-entry-gone');
  } finally {
    rmSync(extra, { force: true });
    await reload();
  }
});

test('audit: find the check, see the stored record, open its memo, export CSV', async () => {
  const { page } = b;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, server, server.keys.auditor);
  await page.goto(`${server.url}/#audit`);
  await page.getByLabel('Reference', { exact: true }).fill('SO-WEB-1');
  await page.getByRole('button', { name: 'Search' }).click();
  const row = page.locator('tbody tr', { hasText: 'SO-WEB-1' });
  // the page first lists the newest records; the search leaves one
  await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length === 1, null, { timeout: 10000 }).catch(() => {});
  assert.equal(await page.locator('tbody tr').count(), 1);
  assert.equal(await row.count(), 1);
  await axe('audit');
  const id = await row.locator('td').first().textContent();
  // at 1280 px the record id, its time and the id in the memo link each on one line
  assert.match(id, /^a-\d+-[0-9a-f]+$/);
  for (const [what, cell] of [['id', row.locator('td').nth(0)], ['time', row.locator('td').nth(1)],
    ['memo link id', row.locator('td').nth(7).locator('.one-line')]]) {
    const n = await lines(cell);
    assert.ok(n > 0 && n <= 1, `the ${what} takes ${n.toFixed(2)} line-heights`);
  }
  assert.deepEqual(await edgeShadows(page.locator('.table-wrap', { has: row })), { left: false, right: false },
    'a table that fits shows no scroll shadow');
  const stored = await api(server, server.keys.auditor, 'GET', `/v1/checks/${id}`);
  await row.getByRole('link', { name: id, exact: true }).click();
  await page.getByRole('heading', { name: 'The stored answer, as returned' }).waitFor();
  assert.equal(await page.locator('pre').first().textContent(), stored.text);
  await axe('audit-detail');
  // CSV export: a download made with the key in a header
  await page.goto(`${server.url}/#audit`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const csv = await (await download.createReadStream()).toArray();
  const text = Buffer.concat(csv).toString('utf8');
  assert.ok(text.includes(id));
  assert.match(text, /#end/);
  // the memo
  await page.getByLabel('Reference', { exact: true }).fill('SO-WEB-1');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: `Memo for ${id}` }).click();
  await page.getByRole('heading', { name: 'Reasoning, cited' }).waitFor();
  const memo = await page.locator('article.memo').textContent();
  const rec = (await api(server, server.keys.auditor, 'GET', '/v1/audit?ref=SO-WEB-1')).json.records[0];
  assert.ok(memo.includes(rec.hash), 'the record hash');
  assert.ok(memo.includes(rec.rules_version) && memo.includes(rec.lists_version), 'the data versions');
  assert.ok(memo.includes('LICENSE_EXCEPTION_ACE'));
  assert.ok(await page.locator('article.memo a[href^="https://www.ecfr.gov/"]').count() > 0);
  await axe('memo');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('nav').isVisible(), false, 'print: no navigation');
  assert.equal(await page.getByRole('button', { name: 'Print memo' }).isVisible(), false);
  await screenshot(page, 'memo-print');
  await page.pdf({ path: `${(await import('./harness.mjs')).artifacts}/memo.pdf` });
  await page.emulateMedia({ media: 'screen' });
  // the memo of the reviewed check lists its review for the auditor too:
  // the decision, the reviewer's note and who made it
  await page.goto(`${server.url}/#audit`);
  await page.getByLabel('Reference', { exact: true }).fill('SO-WEB-REVIEW');
  await page.getByRole('button', { name: 'Search' }).click();
  const reviewed = (await api(server, server.keys.auditor, 'GET', '/v1/audit?ref=SO-WEB-REVIEW&kind=check')).json.records[0];
  await page.getByRole('link', { name: `Memo for ${reviewed.audit_id}` }).click();
  await page.getByRole('heading', { name: 'Reasoning, cited' }).waitFor();
  const reviews = (await api(server, server.keys.auditor, 'GET', `/v1/reviews/${reviewed.audit_id}`)).json.reviews;
  assert.equal(reviews.length, 1);
  const reviewRow = page.locator('article.memo tbody tr', { hasText: reviews[0].audit_id });
  await reviewRow.waitFor();
  const cells = await reviewRow.locator('td').allTextContents();
  assert.equal(cells[1], 'cleared');
  assert.equal(cells[2], 'A Berlin reseller, not NSO Group (registry HRB 1234)');
  assert.ok(cells[3].length > 0, 'who reviewed');
  await screenshot(page, 'memo-reviewed-auditor');
});

test('keys: an admin adds a key, sees the secret once, and revokes it', async () => {
  const { page } = b;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, server, server.keys.admin);
  assert.ok(await page.getByRole('link', { name: 'Keys', exact: true }).isVisible());
  await page.getByRole('link', { name: 'Keys', exact: true }).click();
  await page.getByLabel('Name', { exact: true }).fill('Download portal <b>');
  await page.getByLabel('Role', { exact: true }).selectOption('checker');
  await page.getByRole('button', { name: 'Add key' }).click();
  const secret = page.locator('.secret');
  await secret.waitFor();
  const key = await secret.textContent();
  assert.match(key, /^agk_[0-9a-f]{12}_/);
  assert.ok(!page.url().includes(key));
  const who = await api(server, key, 'GET', '/v1/whoami');
  assert.equal(who.status, 200);
  assert.deepEqual({ name: who.json.name, role: who.json.role }, { name: 'Download portal <b>', role: 'checker' });
  await axe('keys');
  // shown once: not after the page is opened again
  await page.goto(`${server.url}/#data`);
  await page.goto(`${server.url}/#keys`);
  const row = page.locator('tr', { hasText: 'Download portal <b>' });
  await row.waitFor();
  assert.equal(await page.locator('.secret').count(), 0);
  assert.ok(!(await page.locator('main').textContent()).includes(key));
  await row.getByRole('button').click();
  await row.getByRole('button', { name: /^Confirm revoking key/ }).click();
  await page.locator('tr', { hasText: 'Download portal <b>' }).locator('td').nth(4).filter({ hasText: /\d{4}-/ }).waitFor();
  assert.equal((await api(server, key, 'GET', '/v1/whoami')).status, 401);
});

test('data and classify pages; axe finds no serious or critical violation on any page', async () => {
  const { page } = b;
  await page.goto(`${server.url}/#data`);
  await page.getByRole('heading', { name: 'Lists in force' }).waitFor();
  assert.ok((await page.locator('main').textContent()).includes('Entity List'));
  // "Rules in force": each term beside its value
  const term = await page.locator('dl.panel dt').first().boundingBox();
  const value = await page.locator('dl.panel dd').first().boundingBox();
  assert.ok(Math.abs(term.y - value.y) < 1 && value.x > term.x + term.width, JSON.stringify({ term, value }));
  await axe('data');
  await page.goto(`${server.url}/#classify`);
  await page.getByRole('button', { name: 'Classify' }).click();
  await page.locator('section .outcome').waitFor();
  // nothing answered: the questionnaire cannot tell and names what it needs
  assert.equal(await page.locator('section .outcome').textContent(), 'cannot_tell');
  assert.ok(await page.getByRole('heading', { name: 'Still needed' }).isVisible());
  await axe('classify');
  // a command-and-control framework (tests/classify/c2-framework.json): software
  // to command and control intrusion software is 4D004 on the CCL
  const answers = JSON.parse(readFileSync(new URL('../classify/c2-framework.json', import.meta.url), 'utf8'));
  for (const [id, value] of Object.entries(answers)) {
    await page.locator(`select[name="q:${id}"]`).selectOption(value === 'unknown' ? 'unknown' : String(value));
  }
  await page.getByRole('button', { name: 'Classify' }).click();
  await page.locator('section .outcome', { hasText: 'classified' }).waitFor();
  assert.deepEqual(await page.locator('ul.candidates li').allTextContents().then((t) => t.map((x) => x.split(' ')[0])), ['4D004']);
  await screenshot(page, 'classify-result');
  await page.getByRole('button', { name: 'Check with 4D004' }).click();
  await page.getByRole('heading', { name: 'Check', level: 1 }).waitFor();
  assert.equal(await page.getByLabel('ECCN', { exact: true }).inputValue(), '4D004');
  await page.goto(`${server.url}/#parties`);
  await page.getByRole('heading', { name: 'Parties', level: 1 }).waitFor();
  await page.waitForTimeout(300);
  await axe('parties');
  await page.goto(`${server.url}/#check`);
  await page.getByLabel('ECCN', { exact: true }).waitFor();
  await page.locator('details.qlist summary').click();
  await axe('check-due-diligence');
  const bad = Object.entries(axeByPage).filter(([, v]) => v.length);
  assert.deepEqual(bad, [], JSON.stringify(bad, null, 1));
  assert.deepEqual(b.dialogs, []);
});

// On a 375 px phone every page fits the screen: nothing makes the page
// scroll sideways (a wide table scrolls in its own box, which the keyboard
// can reach), every part outside such a box lies inside the window, the
// forms' fields take the screen's width, and axe finds nothing serious.
async function narrowDefects(page) {
  return page.evaluate(() => {
    const out = [];
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width) out.push(`the page is ${document.documentElement.scrollWidth} px wide`);
    for (const node of document.querySelectorAll('body *')) {
      if (node.closest('.table-wrap, pre, .skip, [hidden]')) continue;
      const r = node.getBoundingClientRect();
      if (!r.width) continue;
      if (r.left < -0.5 || r.right > width + 0.5) out.push(`${node.tagName}.${node.className} spans ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    const main = document.querySelector('main .view').getBoundingClientRect().width;
    for (const c of document.querySelectorAll('form.grid input:not([type=checkbox]):not([type=radio]):not([type=file]), form.grid select')) {
      const r = c.getBoundingClientRect();
      if (r.width && r.width < 0.9 * main) out.push(`${c.name} is ${Math.round(r.width)} px of ${Math.round(main)}`);
    }
    for (const wrap of document.querySelectorAll('.table-wrap')) {
      if (wrap.scrollWidth > wrap.clientWidth && wrap.tabIndex !== 0) out.push(`a table that scrolls cannot be reached: ${wrap.dataset.label}`);
    }
    return out;
  });
}

test('at 375 px every page fits the screen and passes axe', async () => {
  const { page } = b;
  await page.setViewportSize({ width: 375, height: 800 });
  const found = {};
  async function look(name) {
    await page.waitForTimeout(100); // the tables' boxes are measured after layout
    found[name] = [...await narrowDefects(page), ...await axeViolations(page)];
    await screenshot(page, `narrow-${name}`);
  }
  try {
    await page.goto(`${server.url}/#check`);
    await page.getByLabel('ECCN', { exact: true }).selectOption('4D004');
    await page.getByLabel('Destination', { exact: true }).fill('Brazil');
    await page.getByLabel('End user name', { exact: true }).fill('NSO Group');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.locator('.decision .outcome').waitFor();
    await look('check');
    await page.goto(`${server.url}/#screen`);
    await page.getByLabel('Party name', { exact: true }).fill('NSO Group');
    await page.getByRole('button', { name: 'Screen', exact: true }).click();
    await page.locator('section .outcome').waitFor();
    await look('screen');
    await page.goto(`${server.url}/#review`);
    await page.getByRole('heading', { name: 'Remembered decisions' }).waitFor();
    await look('review');
    await page.goto(`${server.url}/#parties`);
    await page.locator('main tbody tr').first().waitFor();
    await look('parties');
    await page.goto(`${server.url}/#audit`);
    await page.getByLabel('Reference', { exact: true }).fill('SO-WEB-REVIEW');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('main tbody tr').first().waitFor();
    await look('audit');
    // the audit table scrolls in its box: a shadow on the edge with more beyond it
    const wrap = page.locator('main .table-wrap').first();
    assert.deepEqual(await edgeShadows(wrap), { left: false, right: true }, 'at the start');
    await wrap.evaluate((w) => { w.scrollLeft = w.scrollWidth; });
    await page.waitForFunction(() => document.querySelector('main .table-box').classList.contains('more-left'));
    assert.deepEqual(await edgeShadows(wrap), { left: true, right: false }, 'at the end');
    await page.getByRole('link', { name: /^Memo for / }).first().click();
    await page.getByRole('heading', { name: 'Reviews' }).waitFor();
    await look('memo');
    const reviewed = (await api(server, server.keys.admin, 'GET', '/v1/audit?ref=SO-WEB-REVIEW&kind=check')).json.records[0];
    await page.goto(`${server.url}/#review/${reviewed.audit_id}`);
    await page.getByRole('heading', { name: 'Candidates beside the party' }).waitFor();
    await look('review-item');
    // the candidate's terms stacked above their values
    const term = await page.locator('.side dl dt').first().boundingBox();
    const value = await page.locator('.side dl dd').first().boundingBox();
    assert.ok(value.y >= term.y + term.height - 0.5, JSON.stringify({ term, value }));
    await page.goto(`${server.url}/#data`);
    await page.getByRole('heading', { name: 'Lists in force' }).waitFor();
    await look('data');
    await page.goto(`${server.url}/#keys`);
    await page.locator('main tbody tr').first().waitFor();
    await look('keys');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  const bad = Object.entries(found).filter(([, v]) => v.length);
  assert.deepEqual(bad, [], JSON.stringify(bad, null, 1));
});
