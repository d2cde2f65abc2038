// The workbench over the party registry and the remembered decisions
// (docs/review.md): a clearance applies to the next check of the same party
// against the same, unchanged entry and is lost when the entry changes; an
// imported party base is re-screened when the lists change, the new hit is a
// queue item naming the change, and the webhook receives it, signed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, startBrowser, signIn, screenshot, axeViolations, api } from './harness.mjs';

const SECRET = 'web-test-webhook-secret';
let server;
let b;
let receiver;
const deliveries = [];

before(async () => {
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
  const secretFile = join(process.env.TMPDIR || '/tmp', `acegate-web-hook-${process.pid}`);
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
  server = await startServer(['--webhook-url', `http://127.0.0.1:${receiver.address().port}/hook`,
    '--webhook-secret-file', secretFile]);
  b = await startBrowser();
});

after(async () => {
  if (b) await b.browser.close();
  if (server) await server.stop();
  if (receiver) await new Promise((ok) => receiver.close(ok));
});

function listFile() { return join(server.lists, 'csl-2026-11-30.csv'); }

async function reload() {
  const r = await api(server, server.keys.admin, 'POST', '/v1/admin/reload', {});
  assert.equal(r.status, 200, r.text);
}

async function checkInPage(page, party, ref) {
  await page.goto(`${server.url}/#data`);
  await page.goto(`${server.url}/#check`);
  await page.getByLabel('ECCN', { exact: true }).selectOption('4D004');
  await page.getByLabel('Destination', { exact: true }).fill('DE');
  await page.getByLabel('End user name', { exact: true }).fill(party);
  await page.getByLabel('Reference', { exact: true }).fill(ref);
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.locator('.decision .outcome').waitFor();
  return { outcome: await page.locator('.decision .outcome').textContent(), text: await page.locator('.decision').textContent() };
}

test('a clearance is used by the next check of the same party, and lost when the entry changes', async () => {
  const { page } = b;
  const first = await api(server, server.keys.reviewer, 'POST', '/v1/checks', {
    item: { eccn: '4D004' }, destination: 'DE', end_user: { type: 'non_government', name: 'NSO Grop' }, ref: 'R-1',
  });
  assert.equal(first.json.outcome, 'REVIEW');
  await signIn(page, server, server.keys.reviewer);
  await page.goto(`${server.url}/#review`);
  await page.locator('tr', { hasText: 'R-1' }).getByRole('link').click();
  await page.getByLabel('Clear: the candidates are not this party').check();
  await page.getByLabel('Note', { exact: true }).fill('A Munich reseller; not NSO Group');
  await page.getByRole('button', { name: 'Record review' }).click();
  await page.locator('text=Status: cleared').waitFor();
  const review = (await api(server, server.keys.reviewer, 'GET', `/v1/reviews/${first.json.audit_id}`)).json.reviews[0];

  // the same party, the same entry: the clearance decides, and says whose it is
  const again = await checkInPage(page, 'NSO Grop', 'R-2');
  assert.equal(again.outcome, 'LICENSE_EXCEPTION_ACE');
  assert.ok(/remembered/i.test(again.text) && again.text.includes(review.audit_id), again.text);
  await screenshot(page, 'parties-check-remembered');

  await page.goto(`${server.url}/#review`);
  const row = page.locator('tr', { hasText: review.audit_id });
  await row.waitFor();
  assert.ok((await row.textContent()).includes('active'));

  // the entry changes (a new address): the hit comes back
  const before = readFileSync(listFile(), 'utf8');
  writeFileSync(listFile(), before.replace(',NSO Group,,IL,', ',NSO Group,,"Herzliya, IL",'));
  await reload();
  const changed = await checkInPage(page, 'NSO Grop', 'R-3');
  assert.equal(changed.outcome, 'REVIEW');
  assert.ok(!changed.text.includes(review.audit_id));
  await page.goto(`${server.url}/#review`);
  await page.locator('tr', { hasText: review.audit_id }).waitFor();
  assert.ok((await page.locator('tr', { hasText: review.audit_id }).textContent()).includes('entry_changed'));
});

test('imported parties are re-screened after a list update: a queue item naming the change, and a signed webhook', async () => {
  const { page } = b;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, server, server.keys.admin);
  await page.goto(`${server.url}/#parties`);
  await page.getByLabel('CSV file', { exact: true }).setInputFiles({
    name: 'customers.csv', mimeType: 'text/csv',
    buffer: Buffer.from('CustomerID,Company,Ctry,Addr\nC-100,Blue Harbor Logistics,CN,"12 Harbour Rd, Shanghai"\nC-101,Acme GmbH,DE,Berlin\n'),
  });
  await page.getByLabel('Column mapping', { exact: true }).fill('name=Company,country=Ctry,ref=CustomerID,address=Addr');
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported 2, updated 0, errors 0.').waitFor();
  await page.locator('tr', { hasText: 'C-100' }).waitFor();
  assert.deepEqual(await page.locator('tr', { hasText: 'C-100' }).locator('td').allTextContents().then((c) => c.slice(0, 3)),
    ['C-100', 'Blue Harbor Logistics', 'CN']);
  await screenshot(page, 'parties');
  const axe = await axeViolations(page);
  assert.deepEqual(axe, []);

  // a list update adds an entry matching C-100; the admin reloads from the Data page
  appendFileSync(listFile(), ',Entity List (EL) - Bureau of Industry and Security,,,,Blue Harbour Logistics Co.,,"Shanghai, CN",91 FR 12345,,,,All items subject to the EAR. (See §744.11 of the EAR),Presumption of denial.,,,,,,,,https://www.bis.gov/regulations/ear/744#supplement-4-744,,,,,,,\n');
  await page.goto(`${server.url}/#data`);
  await page.getByRole('button', { name: 'Reload rules and lists' }).click();
  await page.locator('main pre').first().waitFor();

  await page.goto(`${server.url}/#review`);
  const item = page.locator('tr', { hasText: 'list_change' }).filter({ hasText: 'Blue Harbor Logistics' });
  await item.waitFor();
  await page.goto(`${server.url}/#parties/C-100`);
  await page.getByRole('heading', { name: 'Open items' }).waitFor();
  assert.ok((await page.locator('main').textContent()).includes('list_change'));
  await screenshot(page, 'party-detail');

  // the webhook: one delivery naming C-100, signed with HMAC-SHA256
  for (let i = 0; i < 50 && !deliveries.length; i += 1) await new Promise((ok) => setTimeout(ok, 100));
  assert.ok(deliveries.length >= 1, 'a webhook delivery');
  const d = deliveries.find((x) => x.body.includes('C-100'));
  assert.ok(d, 'the delivery names the party');
  const mac = createHmac('sha256', SECRET).update(d.body).digest('hex');
  assert.ok(Object.values(d.headers).some((v) => String(v).includes(mac)), 'signed with the shared secret');
});
