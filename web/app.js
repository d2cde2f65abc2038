/*
 * acegate workbench: the pages of `acegate serve` at /, over the /v1 API.
 * The key is kept in sessionStorage and sent only in the Authorization
 * header, never in a URL. Every string that comes from the service (list
 * entries, parties, notes, names) is put into the page as text
 * (textContent / text nodes), never parsed as HTML.
 */
'use strict';

const KEY_SLOT = 'acegate.key';
const state = { key: null, me: null, tables: {}, audit: { cursors: [], records: new Map() } };

/* ---- DOM helpers: text only ---- */

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'on') {
      for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    } else if (name === 'class') {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(name, '');
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/* Replaces a node's children; arrays among them are flattened. */
function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

let uid = 0;
function nextId(prefix) { uid += 1; return `${prefix}-${uid}`; }

/* A labelled control: label text, then the control, then an optional hint. */
function field(label, control, hint) {
  if (!control.id) control.id = nextId('f');
  const parts = [el('label', { for: control.id }, label), control];
  if (hint) {
    const h = el('p', { class: 'hint', id: nextId('h') }, hint);
    control.setAttribute('aria-describedby', h.id);
    parts.push(h);
  }
  return el('div', { class: 'field' }, parts);
}

function input(name, attrs) { return el('input', Object.assign({ type: 'text', name }, attrs || {})); }

function select(name, options, attrs) {
  return el('select', Object.assign({ name }, attrs || {}),
    options.map(([value, text]) => el('option', { value }, text)));
}

function checkbox(name, text) {
  const box = el('input', { type: 'checkbox', name, id: nextId('c') });
  return el('div', { class: 'check-row' }, box, el('label', { for: box.id }, text));
}

/* A table wider than the screen scrolls in a box of its own (.table-wrap);
 * while it does, the box is a named region that takes keyboard focus, so
 * the arrow keys scroll it, and a shadow marks each edge with more of the
 * table beyond it (drawn by CSS on the box around it: nothing to announce). */
const wideTables = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    // a page left behind: its tables are no longer watched
    if (!target.isConnected) { wideTables.unobserve(target); continue; }
    const wrap = target.closest('.table-wrap');
    if (wrap.scrollWidth > wrap.clientWidth) {
      wrap.tabIndex = 0;
      wrap.setAttribute('role', 'region');
      wrap.setAttribute('aria-label', wrap.dataset.label);
    } else {
      for (const name of ['tabindex', 'role', 'aria-label']) wrap.removeAttribute(name);
    }
    markEdges(wrap);
  }
});

/* The edges of a table's box with more of the table beyond them. */
function markEdges(wrap) {
  const hidden = wrap.scrollWidth - wrap.clientWidth;
  wrap.parentElement.classList.toggle('more-left', wrap.scrollLeft > 1);
  wrap.parentElement.classList.toggle('more-right', wrap.scrollLeft < hidden - 1);
}

/* A column of ids, hashes or timestamps: its cells keep to one line, as a
 * hyphen in an id is no place to break it; a table too wide then scrolls. */
function oneLine(text) { return { text, oneLine: true }; }

function table(headers, rows, caption) {
  const cols = headers.map((h) => (typeof h === 'string' ? { text: h } : h));
  const t = el('table', {},
    caption ? el('caption', { class: 'hint' }, caption) : null,
    el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, c.text)))),
    el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c, i) =>
      el('td', { class: cols[i] && cols[i].oneLine ? 'one-line' : null }, c))))));
  const wrap = el('div', { class: 'table-wrap', 'data-label': caption || `Table: ${cols.map((c) => c.text).filter(Boolean).join(', ')}` }, t);
  wrap.addEventListener('scroll', () => markEdges(wrap), { passive: true });
  // the box resizes with the window, the table with its rows
  wideTables.observe(wrap);
  wideTables.observe(t);
  return el('div', { class: 'table-box' }, wrap);
}

function say(text) {
  const s = document.getElementById('status');
  s.textContent = '';
  s.textContent = text;
}

function errorBox(err) {
  return el('p', { class: 'error', role: 'alert' }, err.message || String(err));
}

/* ---- the API ---- */

class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? e.message : `HTTP ${status}`);
    this.status = status;
    this.code = e ? e.code : null;
    this.field = e ? e.field : null;
    this.body = body;
  }
}

async function api(method, path, body, opts) {
  const headers = { Authorization: `Bearer ${state.key}` };
  let payload;
  if (body !== undefined) {
    if (opts && opts.contentType) {
      headers['Content-Type'] = opts.contentType;
      payload = body;
    } else {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  const resp = await fetch(path, { method, headers, body: payload, cache: 'no-store' });
  const text = await resp.text();
  if (opts && opts.raw) {
    if (!resp.ok) throw new ApiError(resp.status, safeParse(text));
    return text;
  }
  const data = safeParse(text);
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

function safeParse(text) {
  try { return JSON.parse(text); } catch (e) { return null; }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/* ---- rule tables shipped with the page (TSV, as in data/rules) ---- */

async function tsv(name) {
  if (state.tables[name]) return state.tables[name];
  const resp = await fetch(`/ui/${name}.tsv`);
  const text = await resp.text();
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const head = lines.shift().split('\t');
  const rows = lines.map((l) => {
    const cells = l.split('\t');
    const row = {};
    head.forEach((h, i) => { row[h] = cells[i] === undefined ? '' : cells[i]; });
    return row;
  });
  state.tables[name] = rows;
  return rows;
}

function inForce(row) {
  const today = new Date().toISOString().slice(0, 10);
  return (!row.from || row.from === '-' || row.from <= today) && (!row.to || row.to === '-' || row.to >= today);
}

/* ---- citations: paragraphs link to the eCFR ---- */

function citeLink(cite) {
  if (!cite) return '';
  const parts = cite.split(/;\s+/);
  if (parts.length > 1) return el('span', {}, parts.map((p, i) => [i ? '; ' : '', citeLink(p)]));
  let m = /^(\d{3})\.(\d+)((?:\([a-zA-Z0-9]+\))*)/.exec(cite);
  if (m) {
    const section = `${m[1]}.${m[2]}`;
    const anchor = m[3] ? `#p-${section}${m[3]}` : '';
    return el('a', { href: `https://www.ecfr.gov/current/title-15/section-${section}${anchor}`, class: 'cite',
      rel: 'noopener noreferrer', target: '_blank' }, cite);
  }
  m = /^Supp\. (?:No\. )?(\d+) to part (\d{3})/i.exec(cite);
  if (m) {
    return el('a', { href: `https://www.ecfr.gov/current/title-15/part-${m[2]}/appendix-Supplement%20No.%20${m[1]}%20to%20Part%20${m[2]}`,
      class: 'cite', rel: 'noopener noreferrer', target: '_blank' }, cite);
  }
  m = /^(\d+) FR (\d+)/.exec(cite);
  if (m) {
    return el('a', { href: `https://www.federalregister.gov/citation/${m[1]}-FR-${m[2]}`, class: 'cite',
      rel: 'noopener noreferrer', target: '_blank' }, cite);
  }
  return el('span', { class: 'cite' }, cite);
}

const PLAIN = {
  NLR: 'No licence is required for this export.',
  LICENSE_EXCEPTION_ACE: 'A licence would be required, but License Exception ACE (15 CFR 740.22) authorizes this export.',
  LICENSE_REQUIRED: 'A licence from BIS is required before this export.',
  PROHIBITED: 'This export may not go ahead: a party is denied or blocked.',
  REVIEW: 'A person must decide before this export: the reasoning says what needs a look.',
  OUT_OF_SCOPE: 'The item is outside what acegate determines. This is not a permission to export.',
  NO_MATCH: 'The name matches no listed entry.',
  POSSIBLE_MATCH: 'The name may be a listed entry: a reviewer must decide.',
  CONFIDENT_MATCH: 'The name matches a listed entry.',
  classified: 'The answers place the item in the paragraph(s) below.',
  not_controlled: 'The answers take the item out of these paragraphs.',
  cannot_tell: 'More answers are needed: see the questions still open.',
};

function outcomeBadge(code) {
  return el('span', { class: `outcome ${code}`, 'data-outcome': code }, code);
}

/* ---- sign in ---- */

function showSignIn(message) {
  const main = document.getElementById('main');
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  document.getElementById('sign-out').hidden = true;
  const key = el('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = el('form', { class: 'signin', novalidate: true },
    field('API key', key, 'The key you were given (agk_...). It stays in this browser tab only.'),
    message ? errorBox({ message }) : null,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = key.value.trim();
    if (!value) { showSignIn('API key: enter your key.'); return; }
    state.key = value;
    try {
      state.me = await api('GET', '/v1/whoami');
    } catch (err) {
      state.key = null;
      showSignIn(err.status === 401 ? 'API key: this key is not valid or was revoked.' : err.message);
      return;
    }
    sessionStorage.setItem(KEY_SLOT, value);
    signedIn();
  });
  replace(main, el('h1', { tabindex: '-1' }, 'Sign in'), form);
  key.focus();
}

function signedIn() {
  const who = document.getElementById('who');
  who.textContent = `${state.me.name || state.me.id} (${state.me.role})`;
  who.hidden = false;
  document.getElementById('sign-out').hidden = false;
  document.getElementById('nav').hidden = false;
  for (const li of document.querySelectorAll('[data-admin]')) li.hidden = state.me.role !== 'admin';
  if (!location.hash || location.hash === '#') location.hash = '#check';
  else route();
}

function signOut() {
  sessionStorage.removeItem(KEY_SLOT);
  state.key = null;
  state.me = null;
  state.audit = { cursors: [], records: new Map() };
  history.replaceState(null, '', '/');
  showSignIn();
}

/* ---- routing (the hash holds the page, never a secret) ---- */

const PAGES = {
  check: pageCheck, classify: pageClassify, screen: pageScreen, review: pageReview, parties: pageParties,
  audit: pageAudit, memo: pageMemo, data: pageData, keys: pageKeys,
};

function route() {
  if (!state.key) { showSignIn(); return; }
  const [name, ...rest] = location.hash.replace(/^#/, '').split('/');
  const page = PAGES[name] ? name : 'check';
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#${page === 'memo' ? 'audit' : page}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // each visit draws into a view of its own: a page still waiting for an
  // answer when the user moves on draws into its view, no longer shown
  const view = el('div', { class: 'view' });
  replace(document.getElementById('main'), view);
  say('');
  Promise.resolve(PAGES[page](view, rest.map(decodeURIComponent))).catch((err) => view.append(errorBox(err)));
}

function heading(main, text) {
  const h = el('h1', { tabindex: '-1' }, text);
  main.append(h);
  if (!main.isConnected) return h; /* a page left before it was drawn */
  h.focus();
  document.title = `${text} - acegate workbench`;
  return h;
}

/* ---- Check ---- */

const END_USER_TYPES = [['non_government', 'Non-government'], ['government', 'Government (740.22(b)(4))'],
  ['favorable_treatment_cybersecurity', 'Favorable treatment cybersecurity end user (740.22(b)(3))'],
  ['individual', 'Individual acting for no government']];
const END_USES = [['none', 'None of these'], ['vulnerability_disclosure', 'Vulnerability disclosure'],
  ['cyber_incident_response', 'Cyber incident response'],
  ['digital_artifacts_investigation', 'Investigation of digital artifacts of an incident'],
  ['incident_investigation', 'Other cybersecurity items for such an investigation']];
const TRANSACTIONS = [['export', 'Export'], ['reexport', 'Reexport'], ['transfer', 'Transfer (in-country)'],
  ['deemed_export', 'Deemed export'], ['deemed_reexport', 'Deemed reexport']];
const FAMILY = {
  intrusion: 'intrusion software: tools that deliver, command or control code that defeats a system\'s protections',
  ip_surveillance: 'IP network communications surveillance: systems that collect and analyse traffic to identify people',
  forensic: 'digital forensics and investigative tools',
  le_monitoring: 'law-enforcement monitoring',
};

async function destinationList() {
  const rows = (await tsv('destinations')).filter(inForce);
  const list = el('datalist', { id: 'destinations' },
    rows.map((r) => el('option', { value: `${r.code} - ${r.name}` })));
  return { list, rows };
}

function destinationCode(text, rows) {
  const t = text.trim();
  if (!t) return '';
  const code = t.split(/\s+-\s+/)[0];
  const byCode = rows.find((r) => r.code.toUpperCase() === code.toUpperCase());
  if (byCode) return byCode.code;
  const byName = rows.find((r) => r.name.toLowerCase() === t.toLowerCase());
  if (byName) return byName.code;
  const partial = rows.filter((r) => r.name.toLowerCase().includes(t.toLowerCase()));
  return partial.length === 1 ? partial[0].code : t;
}

async function pageCheck(main) {
  heading(main, 'Check');
  const items = (await tsv('ccl-items')).filter(inForce);
  const { list, rows: dests } = await destinationList();
  const paragraphs = [...new Set(items.map((r) => r.paragraph))];

  const eccn = select('eccn', paragraphs.map((p) => {
    const row = items.find((r) => r.paragraph === p);
    return [p, `${p} - ${FAMILY[row.family] ? FAMILY[row.family].split(':')[0] : row.family}${row.cyber_item === 'yes' ? '' : ' (not covered by ACE)'}`];
  }));
  const eccnText = el('p', { class: 'hint', id: nextId('h'), 'aria-live': 'polite' });
  const forSel = select('for', []);
  const forField = field('For (the item it is for)', forSel,
    'This paragraph is a cybersecurity item only for certain items (740.22(b)(1)): say which.');
  function describe() {
    const rows = items.filter((r) => r.paragraph === eccn.value);
    const first = rows[0];
    eccnText.textContent = `${first.text}. In plain words: ${FAMILY[first.family] || first.family}. ` +
      (first.cyber_item === 'yes' ? 'A cybersecurity item under 740.22(b)(1).' : 'Not a 740.22(b)(1) cybersecurity item: ACE does not cover it.');
    const fors = rows.map((r) => r.for).filter((f) => f && f !== '-');
    replace(forSel, ...fors.map((f) => el('option', { value: f }, `for ${f}`)));
    forField.hidden = fors.length === 0;
  }
  eccn.addEventListener('change', describe);
  eccn.setAttribute('aria-describedby', eccnText.id);
  // an ECCN the Classify page found
  const prefill = state.prefill;
  state.prefill = null;
  if (prefill && paragraphs.includes(prefill.eccn)) eccn.value = prefill.eccn;
  describe();
  if (prefill && prefill.for) forSel.value = prefill.for;

  const form = el('form', { class: 'grid', novalidate: true },
    el('div', { class: 'field wide' }, el('label', { for: (eccn.id = nextId('f')) }, 'ECCN'), eccn, eccnText),
    forField,
    field('Destination', input('destination', { list: 'destinations', required: true, autocomplete: 'off' }),
      'Country name or code, e.g. Germany or DE.'),
    field('End user name', input('end_user_name', { autocomplete: 'off' }), 'Screened against the restricted-party lists.'),
    field('End user type', select('end_user_type', END_USER_TYPES)),
    field('End user country', input('end_user_country', { list: 'destinations', autocomplete: 'off' }),
      'Where the end user is; for a government end user, whose government.'),
    field('End use', select('end_use', END_USES)),
    field('Transaction', select('transaction', TRANSACTIONS)),
    field('As of', input('as_of', { type: 'date' }), 'The date of the export; empty: today.'),
    field('Reference', input('ref', { maxlength: 128, autocomplete: 'off' }), 'Your order, shipment or customer id.'),
    el('fieldset', { class: 'wide' }, el('legend', {}, 'Government end users (740.22(c)(1)(ii))'),
      checkbox('police_or_judicial', 'The end user is a police or judicial body'),
      checkbox('national_csirt', 'The end user is a national computer security incident response team (CSIRT)')),
    el('fieldset', { class: 'wide' }, el('legend', {}, 'Knowledge (740.22(c)(2))'),
      checkbox('knows_unauthorized_use', 'I know, or have reason to know, that the item will be used to get into, ' +
        'change or disrupt someone\'s computers or data without the permission of their owner, operator or administrator')),
    await dueDiligenceFields(),
    el('div', { class: 'actions wide' }, el('button', { type: 'submit' }, 'Check')),
    list);
  const out = el('section', { 'aria-label': 'Result' });
  main.append(form, out);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const txn = { item: { eccn: eccn.value }, destination: destinationCode(f.destination.value, dests) };
    if (!forField.hidden && forSel.value) txn.item.for = forSel.value;
    const endUser = { type: f.end_user_type.value };
    if (f.end_user_name.value.trim()) endUser.name = f.end_user_name.value.trim();
    if (f.end_user_country.value.trim()) endUser.country = destinationCode(f.end_user_country.value, dests);
    if (f.police_or_judicial.checked) endUser.police_or_judicial = true;
    if (f.national_csirt.checked) endUser.national_csirt = true;
    txn.end_user = endUser;
    if (f.end_use.value !== 'none') txn.end_use = f.end_use.value;
    txn.transaction = f.transaction.value;
    if (f.as_of.value) txn.as_of = f.as_of.value;
    if (f.ref.value.trim()) txn.ref = f.ref.value.trim();
    if (f.knows_unauthorized_use.checked) txn.knows_unauthorized_use = true;
    const dd = collectDueDiligence(form);
    if (dd) txn.due_diligence = dd;
    replace(out, el('p', {}, 'Checking...'));
    try {
      const decision = await api('POST', '/v1/checks', txn);
      replace(out, renderDecision(decision));
      out.querySelector('h2').focus();
      say(`Outcome ${decision.outcome}`);
    } catch (err) {
      replace(out, errorBox(err));
      if (err.field) say(err.message);
    }
  });
}

async function dueDiligenceFields() {
  const rows = (await tsv('due-diligence')).filter(inForce);
  const choices = [['', 'Not answered'], ['true', 'Yes'], ['false', 'No'], ['unknown', 'Do not know']];
  return el('details', { class: 'wide qlist' }, el('summary', {}, `Due-diligence questions (${rows.length}, optional)`),
    el('p', { class: 'hint' }, 'BIS "Know Your Customer" red flags (Supp. No. 3 to part 732), the 740.22(c)(2) questions and the State ' +
      'Department guidance. A raised flag without a resolution note makes the outcome REVIEW.'),
    rows.map((r) => {
      const sel = select(`dd:${r.id}`, choices);
      const note = input(`ddnote:${r.id}`, { autocomplete: 'off' });
      return el('fieldset', {}, el('legend', {}, `${r.id} (${r.provenance})`),
        field(r.question, sel),
        field(`Resolution note for ${r.id}`, note, 'If the flag was raised and you resolved it, say how.'));
    }));
}

function collectDueDiligence(form) {
  const answers = {};
  const resolved = {};
  for (const node of form.querySelectorAll('select[name^="dd:"]')) {
    if (!node.value) continue;
    const id = node.name.slice(3);
    answers[id] = node.value === 'unknown' ? 'unknown' : node.value === 'true';
  }
  for (const node of form.querySelectorAll('input[name^="ddnote:"]')) {
    const id = node.name.slice(7);
    if (node.value.trim() && id in answers) resolved[id] = node.value.trim();
  }
  if (!Object.keys(answers).length) return null;
  return Object.keys(resolved).length ? { answers, resolved } : { answers };
}

function renderDecision(d) {
  const box = el('div', { class: 'decision' });
  append(box, [
    el('h2', { tabindex: '-1' }, 'Outcome'),
    el('p', {}, outcomeBadge(d.outcome), ' decided by ', citeLink(d.decided_by)),
    el('p', { class: 'plain' }, PLAIN[d.outcome] || ''),
    el('p', { class: 'hint' }, `Audit id ${d.audit_id}; rules ${d.rules_version}; lists ${d.lists_version || 'none'}`,
      d.ref ? `; reference ${d.ref}` : ''),
  ]);
  if (d.ace) {
    box.append(el('p', {}, `License Exception ACE: ${d.ace.available ? 'available' : 'not available'}`,
      d.ace.blocked_by && d.ace.blocked_by.length ? [' (blocked by ', d.ace.blocked_by.map((c, i) => [i ? ', ' : '', citeLink(c)]), ')'] : '',
      d.ace.reconstructed ? ' - rests on reconstructed text' : ''));
  }
  box.append(el('h2', {}, 'Reasoning'),
    el('ol', { class: 'trace' }, (d.trace || []).map((t) => el('li', {}, citeLink(t.cite), ' ',
      el('span', { class: 'tag' }, t.result), ' ', t.text,
      t.remembered ? el('span', { class: 'hint' }, ` (remembered ${t.remembered.decision} by ${t.remembered.reviewer} on ${t.remembered.date}, review ${t.remembered.audit_id})`) : ''))));
  if (d.screening && d.screening.length) {
    box.append(el('h2', {}, 'Screening candidates'));
    for (const s of d.screening) {
      box.append(el('h3', {}, `${s.party}: ${s.name}`));
      box.append(s.matches && s.matches.length ? table(['List', 'Entry', oneLine('Id'), 'Score', 'Level', 'Licence requirement', 'Remembered'],
        s.matches.map((m) => [m.list, m.name, m.source_id, String(m.score), m.level, m.license_requirement || '',
          m.remembered ? `${m.remembered.decision} by ${m.remembered.reviewer}, ${m.remembered.date} (${m.remembered.audit_id})` : ''])) :
        el('p', {}, 'No candidate.'));
    }
  }
  if (d.red_flags && d.red_flags.length) {
    box.append(el('h2', {}, 'Due-diligence flags'),
      table(['Id', 'Question', 'Answer', 'Effect', 'Resolved', 'Source'], d.red_flags.map((f) => [f.id, f.question,
        String(f.answer), f.effect, f.resolved ? `yes: ${f.resolution || ''}` : 'no', [citeLink(f.cite), ` (${f.provenance})`]])));
  }
  if (d.alternatives && d.alternatives.length) {
    box.append(el('h2', {}, 'Alternatives'), el('ul', {}, d.alternatives.map((a) => el('li', {}, a))));
  }
  if (d.warnings && d.warnings.length) {
    box.append(el('h2', {}, 'Warnings'), el('ul', {}, d.warnings.map((w) =>
      el('li', {}, w.code === 'lists_stale' ? `List ${w.list} is ${w.age_days} days old (${w.date})` : JSON.stringify(w)))));
  }
  return box;
}

/* ---- Classify (the classification questionnaire) ---- */

async function pageClassify(main) {
  heading(main, 'Classify');
  main.append(el('p', {}, 'Answer what you know about the item; the answers place it in a CCL paragraph, or say which ' +
    'exclusion takes it out, or which questions are still needed.'));
  const rows = (await tsv('classification')).filter((r) => r.kind === 'question' && inForce(r));
  const choices = [['', 'Not answered'], ['true', 'Yes'], ['false', 'No'], ['unknown', 'Do not know']];
  const form = el('form', { class: 'qlist', novalidate: true },
    rows.map((r) => {
      const sel = select(`q:${r.id}`, choices);
      return el('fieldset', {}, el('legend', {}, `${r.id} (${r.provenance}, ${r.cite})`), field(r.question, sel),
        el('details', {}, el('summary', {}, `Cited text for ${r.id}`), el('p', {}, r.cited_text)));
    }),
    field('Reference', input('ref', { maxlength: 128 })),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Classify')));
  const out = el('section', { 'aria-label': 'Result' });
  main.append(form, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const answers = {};
    for (const node of form.querySelectorAll('select[name^="q:"]')) {
      if (node.value) answers[node.name.slice(2)] = node.value === 'unknown' ? 'unknown' : node.value === 'true';
    }
    const body = { answers };
    if (form.elements.ref.value.trim()) body.ref = form.elements.ref.value.trim();
    try {
      const c = await api('POST', '/v1/classifications', body);
      const byId = new Map(rows.map((r) => [r.id, r.question]));
      replace(out, el('h2', {}, 'Result'), el('p', {}, outcomeBadge(c.status)), el('p', { class: 'plain' }, PLAIN[c.status] || ''),
        c.candidates && c.candidates.length ? el('ul', { class: 'candidates' }, c.candidates.map((k) => el('li', {}, k.eccn, k.for ? ` for ${k.for}` : '', ' ',
          el('button', { type: 'button', class: 'secondary', on: { click: () => { state.prefill = k; location.hash = '#check'; } } },
            `Check with ${k.eccn}${k.for ? ` for ${k.for}` : ''}`)))) : null,
        el('p', {}, `Cybersecurity item under 740.22(b)(1): ${c.cybersecurity_item === null ? 'cannot tell' : c.cybersecurity_item ? 'yes' : 'no'}`),
        c.missing && c.missing.length ? [el('h3', {}, 'Still needed'), el('ul', {}, c.missing.map((id) => el('li', {}, `${id}: ${byId.get(id) || ''}`)))] : null,
        c.ruled_out && c.ruled_out.length ? [el('h3', {}, 'Ruled out'), el('pre', {}, JSON.stringify(c.ruled_out, null, 2))] : null,
        c.reconstructed ? el('p', {}, 'This result rests on reconstructed text: ', (c.reconstructed_items || []).join(', ')) : null,
        el('p', { class: 'hint' }, `Audit id ${c.audit_id}`));
      say(`Classification ${c.status}`);
    } catch (err) {
      replace(out, errorBox(err));
    }
  });
}

/* ---- Screen ---- */

async function pageScreen(main) {
  heading(main, 'Screen');
  const { list, rows: dests } = await destinationList();
  const form = el('form', { class: 'grid', novalidate: true },
    field('Party name', input('name', { required: true, autocomplete: 'off' })),
    field('Country', input('country', { list: 'destinations', autocomplete: 'off' }), 'Evidence for the match; optional.'),
    field('Address', input('address', { autocomplete: 'off' }), 'Shown beside each entry\'s addresses to compare; names and country decide the match.'),
    el('div', { class: 'actions wide' }, el('button', { type: 'submit' }, 'Screen')), list);
  const out = el('section', { 'aria-label': 'Result' });
  main.append(form, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: form.elements.name.value.trim() };
    if (form.elements.country.value.trim()) body.country = destinationCode(form.elements.country.value, dests);
    const address = form.elements.address.value.trim();
    try {
      const s = await api('POST', '/v1/screenings', body);
      replace(out, el('h2', {}, 'Result'), el('p', {}, outcomeBadge(s.outcome)), el('p', { class: 'plain' }, PLAIN[s.outcome] || ''),
        el('p', { class: 'hint' }, `Audit id ${s.audit_id}; lists ${s.lists_version}`),
        s.matches.length ? table(['List', 'Entry', 'Matched name', 'Score', 'Why it matched', 'Countries', 'Addresses', 'Programs'],
          s.matches.map((m) => [m.list, [m.entry_name || m.name, el('br'), el('span', { class: 'hint' }, m.source_id)], m.name,
            `${m.score} (${m.level})`, m.reason, (m.countries || []).join(', '),
            [m.addresses || '', address ? [el('br'), el('span', { class: 'hint' }, `given: ${address}`)] : ''],
            (m.programs || []).join(', ')])) : el('p', {}, 'No listed entry matches.'));
      say(`Screening ${s.outcome}`);
    } catch (err) {
      replace(out, errorBox(err));
    }
  });
}

/* ---- Review ---- */

async function pageReview(main, args) {
  if (args[0]) { await reviewItem(main, args[0]); return; }
  heading(main, 'Review');
  const status = select('status', [['open', 'Open'], ['escalated', 'Escalated'], ['cleared', 'Cleared'], ['confirmed', 'Confirmed']]);
  const form = el('form', { class: 'actions', novalidate: true }, field('Status', status), el('button', { type: 'submit' }, 'Show'));
  const out = el('section', { 'aria-label': 'Queue' });
  const remembered = el('section', { 'aria-label': 'Remembered decisions' });
  main.append(form, out, remembered);
  const cursors = [];
  async function load(cursor) {
    try {
      const q = await api('GET', `/v1/reviews${query({ status: status.value, limit: 25, cursor })}`);
      const nav = el('div', { class: 'actions' });
      if (cursors.length) nav.append(el('button', { type: 'button', class: 'secondary', on: { click: () => { cursors.pop(); load(cursors[cursors.length - 1]); } } }, 'Previous page'));
      if (q.next_cursor) nav.append(el('button', { type: 'button', class: 'secondary', on: { click: () => { cursors.push(q.next_cursor); load(q.next_cursor); } } }, 'Next page'));
      replace(out, el('h2', {}, `Queue: ${status.value}`),
        q.items.length ? table([oneLine('Item'), oneLine('Time'), 'Kind', 'Outcome', 'Destination', 'ECCN', 'Reference', 'Parties', 'Cause'],
          q.items.map((it) => [el('a', { href: `#review/${encodeURIComponent(it.audit_id)}` }, it.audit_id), it.time, it.kind,
            it.outcome, it.destination || '', it.eccn || '', it.ref || '',
            (it.parties || []).map((p) => (typeof p === 'string' ? p : `${p.name || ''}${p.country ? ` (${p.country})` : ''}`)).join('; '),
            it.cause ? `${it.cause.kind} ${it.cause.lists_version || ''}` : ''])) : el('p', {}, 'Nothing in this queue.'),
        nav);
    } catch (err) {
      replace(out, errorBox(err));
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); cursors.length = 0; load(); });
  await load();
  await rememberedList(remembered);
}

async function rememberedList(box) {
  const which = select('decision', [['cleared', 'Cleared (false positives)'], ['confirmed', 'Confirmed matches']]);
  const body = el('div');
  const form = el('form', { class: 'actions', novalidate: true }, field('Remembered', which), el('button', { type: 'submit' }, 'List'));
  replace(box, el('h2', {}, 'Remembered decisions'), form, body);
  async function load() {
    try {
      const r = await api('GET', `/v1/reviews/remembered${query({ decision: which.value, limit: 50 })}`);
      replace(body, r.items.length ? table([oneLine('Review'), 'Party', 'Entry', 'Reviewer', oneLine('Date'), oneLine('Expires'), 'State', ''],
        r.items.map((it) => [it.audit_id, `${it.party.name}${it.party.country ? ` (${it.party.country})` : ''}`,
          `${it.entry.name} (${it.entry.list}, ${it.entry.source_id})`, it.reviewer, it.date, it.expires || 'never', it.state,
          it.state === 'active' ? revokeForm(it, load) : ''])) : el('p', {}, 'None.'));
    } catch (err) {
      replace(body, errorBox(err));
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  await load();
}

function revokeForm(item, done) {
  const note = el('input', { type: 'text', name: 'note', required: true });
  const form = el('form', { class: 'actions', novalidate: true },
    field(['Note for revoking ', el('span', { class: 'one-line' }, item.audit_id)], note), el('button', { type: 'submit', class: 'danger' }, 'Revoke'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!note.value.trim()) { say('Note: required to revoke.'); note.focus(); return; }
    try {
      await api('POST', '/v1/reviews', { audit_id: item.audit_id, decision: 'revoked', note: note.value.trim() });
      say(`Revoked ${item.audit_id}`);
      done();
    } catch (err) {
      form.append(errorBox(err));
    }
  });
  return form;
}

/* A term and its value, or nothing when the record has no value. */
function pair(term, value) {
  return value ? [el('dt', {}, term), el('dd', {}, value)] : null;
}

/* The parties a record's request names, by the role its answer gives them
 * (a screening's one party is "party"), with what was given of each. */
function partiesOf(request) {
  const out = [];
  for (const role of ['end_user', 'consignee', 'intermediate_consignee', 'purchaser']) {
    if (request && request[role] && request[role].name) out.push({ role, ...request[role] });
  }
  if (request && request.name) {
    const { name, country, address, city, ids } = request;
    out.push({ role: 'party', name, country, address, city, ids });
  }
  return out;
}

const NONE_GIVEN = 'none given';

/* The country a party was screened with: its own, else the destination a
 * check gave the end user and the consignee (the answer says which it
 * used; a record made before it did, the destination). */
function screenedCountry(party, group, rec) {
  if (party.country) return party.country;
  const used = 'country' in group ? group.country
    : ['end_user', 'consignee'].includes(group.party) ? rec.destination : null;
  return used ? `${used} (the destination)` : NONE_GIVEN;
}

/* What the entry beside a candidate is, in words: the state of its content
 * against the content the decision was made on (docs/review.md, "The
 * entries beside the parties"). The words carry it; the colour only repeats. */
function entryState(state, found, m) {
  switch (state) {
    case 'same': return 'Entry unchanged since the decision: the same content the decision was made on.';
    case 'changed': return 'Entry changed since the decision: shown as listed now.';
    case 'gone': return `No longer listed: the lists in force have no entry ${m.source_id} on ${m.list}.`;
    case 'unrecorded': return 'Entry as listed now: the record does not say which content the decision was made on.';
    default: {
      const text = found ? found.text : 'the entry could not be looked up: the service gave no entry';
      return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
    }
  }
}

/* A list of values in a term's value: one line each when there are several. */
function values(list) {
  const v = (list || []).filter(Boolean);
  if (v.length < 2) return v[0] || '';
  return el('ul', { class: 'lines' }, v.map((x) => el('li', {}, x)));
}

/* "(at the decision: X)" after a value the record gave otherwise, for an
 * entry that changed since. */
function was(now, then) {
  const t = Array.isArray(then) ? then.join('; ') : then;
  const n = Array.isArray(now) ? now.join('; ') : now;
  return t !== undefined && t !== null && t !== n ? el('span', { class: 'was' }, ` (at the decision: ${t || 'none'})`) : null;
}

/* A term and its value, with what it was at the decision when it differs. */
function entryPair(term, value, now, then) {
  const had = Array.isArray(then) ? then.length > 0 : Boolean(then);
  return value || had ? [el('dt', {}, term), el('dd', {}, value || 'none', was(now, then))] : null;
}

/* The candidate's side of a panel: what the record says of it, and the
 * entry as the lists give it now, with the state of its content. */

// a check names its parties by role; a screening has one party, the one screened
const roleTitles = { end_user: 'End user', consignee: 'Consignee',
  intermediate_consignee: 'Intermediate consignee', purchaser: 'Purchaser', party: 'Party screened' };
function roleTitle(role) {
  return roleTitles[role] || role;
}
function candidateSide(m, found) {
  const state = found ? found.state : 'not_looked_up';
  const e = found && found.entry;
  const then = state === 'changed' ? m : {}; // a changed entry: what the record said
  const url = e && /^https?:\/\//.test(e.source_url) ? e.source_url : null;
  const said = entryState(state, found, m);
  const colon = said.indexOf(':');
  return el('div', {},
    el('h3', {}, `Candidate: ${m.list}`),
    el('p', { class: `entry-state state-${state}` }, el('strong', {}, said.slice(0, colon + 1)), said.slice(colon + 1)),
    el('dl', { class: 'pairs' },
      el('dt', {}, 'Name'), el('dd', {}, (e && e.name) || m.entry_name || m.name),
      el('dt', {}, 'Id'), el('dd', {}, m.source_id),
      el('dt', {}, 'Score'), el('dd', {}, `${m.score} (${m.level})`),
      m.reason ? [el('dt', {}, 'Why'), el('dd', {}, m.reason)] : null,
      e ? [
        pair('Other names', values(e.aliases.map((a) => `${a.name} (${a.kind})`))),
        pair('Type', e.type),
        entryPair('Countries', e.countries.join(', '), e.countries, then.countries),
        entryPair('Addresses', values(e.addresses), e.addresses, then.addresses),
        pair('Identifiers', values(e.ids)),
        entryPair('Programs', e.programs.join(', '), e.programs, then.programs),
        pair('Remarks', e.remarks),
        entryPair('Licence requirement', e.license_requirement, e.license_requirement, then.license_requirement),
        entryPair('Licence policy', e.license_policy, e.license_policy, then.license_policy),
        entryPair('Federal Register', citeLink(e.federal_register_notice), e.federal_register_notice, then.federal_register_notice),
        pair('Listed since', e.start_date),
        url ? pair('Source', el('a', { href: url, rel: 'noopener noreferrer', target: '_blank' }, url)) : pair('Source', e.source_url),
      ] : [
        // no entry now: what the record gave of it
        pair('Countries', (m.countries || []).join(', ')),
        pair('Addresses', m.addresses),
        pair('Programs', [].concat(m.programs || []).join(', ')),
        pair('Licence requirement', m.license_requirement),
        pair('Licence policy', m.license_policy),
        pair('Federal Register', m.federal_register_notice ? citeLink(m.federal_register_notice) : ''),
      ]));
}

async function reviewItem(main, id) {
  heading(main, `Review ${id}`);
  main.append(el('p', {}, el('a', { href: '#review' }, 'Back to the queue')));
  const r = await api('GET', `/v1/reviews/${encodeURIComponent(id)}`);
  const rec = r.record || {};
  // the answer names a party by name and country; the request has its
  // address, city and identifiers
  const request = r.request || null;
  main.append(el('p', {}, 'Status: ', el('strong', {}, r.status)));
  main.append(el('h2', {}, 'Decision'), el('p', {}, outcomeBadge(rec.outcome), rec.decided_by ? [' decided by ', citeLink(rec.decided_by)] : ''));
  const groups = rec.screening ? rec.screening
    : rec.matches ? [{ party: 'party', name: rec.name, country: rec.country, matches: rec.matches }] : [];
  const given = partiesOf(request);
  const entries = [];
  // each candidate's entry as the lists give it now, by the candidate's
  // place in the record
  const lookup = r.candidate_entries || { items: [] };
  const found = new Map(lookup.items.map((it) => [it.candidate, it]));
  main.append(el('h2', {}, 'Candidates beside the party'));
  if (lookup.looked_up) {
    main.append(el('p', { class: 'hint' }, `Entries as the lists in force (version ${lookup.lists_version}) give them now.`));
  } else if (lookup.unavailable) {
    main.append(el('p', { class: 'hint' }, `The entries could not be looked up: ${lookup.unavailable}.`));
  }
  groups.forEach((g, gi) => {
    // by role: two parties of one check may share a name, not an address;
    // without a request, what the answer echoes (a screening echoes all)
    const party = given.find((p) => p.role === g.party) || (rec.matches ? rec : { name: g.name });
    const ids = [].concat(party.ids || []).join('; ');
    (g.matches || []).forEach((m, mi) => {
      entries.push(m.source_id);
      const at = rec.screening ? `/screening/${gi}/matches/${mi}` : `/matches/${mi}`;
      main.append(el('div', { class: 'side panel' },
        el('div', {}, el('h3', {}, roleTitle(g.party)), el('dl', { class: 'pairs' },
          el('dt', {}, 'Name'), el('dd', {}, party.name || g.name || ''),
          el('dt', {}, 'Country'), el('dd', {}, screenedCountry(party, g, rec)),
          el('dt', {}, 'Address'), el('dd', {}, party.address || NONE_GIVEN),
          el('dt', {}, 'City'), el('dd', {}, party.city || NONE_GIVEN),
          el('dt', {}, 'Identifiers'), el('dd', {}, ids || NONE_GIVEN))),
        candidateSide(m, found.get(at))));
    });
  });
  if (!entries.length) main.append(el('p', {}, 'No screening candidate: the reasoning says what needs review.'));
  if (rec.trace) {
    main.append(el('details', {}, el('summary', {}, 'Reasoning'), el('ol', { class: 'trace' },
      rec.trace.map((t) => el('li', {}, citeLink(t.cite), ' ', el('span', { class: 'tag' }, t.result), ' ', t.text)))));
  }
  if (r.reviews && r.reviews.length) {
    main.append(el('h2', {}, 'Reviews'), table([oneLine('Review'), 'Decision', 'Note', 'By', oneLine('Time')],
      r.reviews.map((v) => [v.audit_id || '', v.decision, v.note, v.key_id || v.reviewer || '', v.time || ''])));
  }
  const note = el('textarea', { name: 'note', required: true, 'aria-required': 'true' });
  const decision = el('fieldset', {}, el('legend', {}, 'Decision'),
    [['cleared', 'Clear: the candidates are not this party'], ['confirmed', 'Confirm: the party is the listed entry'],
      ['escalated', 'Escalate: hand it on, still unresolved']].map(([v, text], i) => {
      const rb = el('input', { type: 'radio', name: 'decision', value: v, id: nextId('r'), checked: i === 0 });
      return el('div', { class: 'check-row' }, rb, el('label', { for: rb.id }, text));
    }));
  const entryBoxes = el('fieldset', {}, el('legend', {}, 'Entries decided on'),
    [...new Set(entries)].map((e) => {
      const cb = el('input', { type: 'checkbox', name: 'entries', value: e, id: nextId('e'), checked: true });
      return el('div', { class: 'check-row' }, cb, el('label', { for: cb.id }, e));
    }));
  const msg = el('div');
  const form = el('form', { class: 'review-form', novalidate: true }, el('h2', {}, 'Resolve'), decision,
    entries.length ? entryBoxes : null, field('Note', note, 'Required: why you decided so.'), msg,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Record review')));
  main.append(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!note.value.trim()) { replace(msg, errorBox({ message: 'Note: required.' })); note.focus(); return; }
    const body = { audit_id: id, decision: form.querySelector('input[name=decision]:checked').value, note: note.value.trim() };
    const picked = [...form.querySelectorAll('input[name=entries]:checked')].map((c) => c.value);
    if (picked.length) body.entries = picked;
    try {
      const done = await api('POST', '/v1/reviews', body);
      say(`Recorded review ${done.audit_id}: ${body.decision}`);
      location.hash = `#review/${encodeURIComponent(id)}`;
      route();
    } catch (err) {
      replace(msg, errorBox(err));
    }
  });
}

/* ---- Parties ---- */

async function pageParties(main, args) {
  if (args[0]) { await partyItem(main, args[0]); return; }
  heading(main, 'Parties');
  const q = input('q', { type: 'search', autocomplete: 'off' });
  const form = el('form', { class: 'actions', novalidate: true }, field('Find a party', q), el('button', { type: 'submit' }, 'Find'));
  const out = el('section', { 'aria-label': 'Registry' });
  const file = el('input', { type: 'file', name: 'file', accept: '.csv,text/csv' });
  const columns = input('columns', { autocomplete: 'off' });
  const importMsg = el('div');
  const importForm = el('form', { class: 'grid', novalidate: true }, el('h2', { class: 'wide' }, 'Import from CSV'),
    field('CSV file', file, 'A header row; columns name, country, address, ref.'),
    field('Column mapping', columns, 'Optional, when your columns have other names, e.g. name=Company,country=Ctry,ref=CustomerID,address=Addr.'),
    el('div', { class: 'actions wide' }, el('button', { type: 'submit' }, 'Import')), el('div', { class: 'wide' }, importMsg));
  main.append(form, out, importForm);
  const cursors = [];
  async function load(cursor) {
    try {
      const r = await api('GET', `/v1/parties${query({ q: q.value.trim(), limit: 50, cursor })}`);
      const nav = el('div', { class: 'actions' });
      if (cursors.length) nav.append(el('button', { type: 'button', class: 'secondary', on: { click: () => { cursors.pop(); load(cursors[cursors.length - 1]); } } }, 'Previous page'));
      if (r.next_cursor) nav.append(el('button', { type: 'button', class: 'secondary', on: { click: () => { cursors.push(r.next_cursor); load(r.next_cursor); } } }, 'Next page'));
      replace(out, r.items.length ? table(['Reference', 'Name', 'Country', 'Address', 'Source', oneLine('Last screened'), 'Open items'],
        r.items.map((p) => [el('a', { href: `#parties/${encodeURIComponent(p.ref)}` }, p.ref), p.name, p.country || '', p.address || '',
          p.source, p.last_screened || 'never', String(p.open_items)])) : el('p', {}, 'No party.'), nav);
    } catch (err) {
      replace(out, errorBox(err));
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); cursors.length = 0; load(); });
  importForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!file.files.length) { replace(importMsg, errorBox({ message: 'CSV file: choose a file.' })); return; }
    const text = await file.files[0].text();
    try {
      const r = await api('POST', `/v1/parties:import${query({ columns: columns.value.trim() })}`, text, { contentType: 'text/csv' });
      replace(importMsg, el('p', {}, `Imported ${r.imported}, updated ${r.updated}, errors ${r.errors.length}.`),
        r.errors.length ? table(['Line', 'Error'], r.errors.map((e) => [String(e.line), e.error.message])) : null);
      say(`Imported ${r.imported} parties`);
      load();
    } catch (err) {
      replace(importMsg, errorBox(err));
    }
  });
  await load();
}

async function partyItem(main, ref) {
  heading(main, `Party ${ref}`);
  main.append(el('p', {}, el('a', { href: '#parties' }, 'Back to the registry')));
  const r = await api('GET', `/v1/parties/${encodeURIComponent(ref)}`);
  const p = r.party;
  main.append(el('dl', { class: 'panel pairs' }, el('dt', {}, 'Name'), el('dd', {}, p.name), el('dt', {}, 'Country'), el('dd', {}, p.country || ''),
    el('dt', {}, 'Address'), el('dd', {}, p.address || ''), el('dt', {}, 'Last screened'), el('dd', {}, p.last_screened || 'never')),
  el('h2', {}, 'Open items'), r.open.length ? table([oneLine('Item'), oneLine('Time'), 'Outcome', 'Cause'], r.open.map((it) => [
    el('a', { href: `#review/${encodeURIComponent(it.audit_id)}` }, it.audit_id), it.time, it.outcome,
    it.cause ? `${it.cause.kind} ${it.cause.lists_version || ''} ${(it.cause.entries || []).join(', ')}` : ''])) : el('p', {}, 'None.'),
  el('h2', {}, 'History'), r.history.length ? table([oneLine('Record'), 'Kind', oneLine('Time'), 'Outcome', 'Lists'], r.history.map((h) => [
    h.audit_id, h.kind, h.at, h.outcome, h.lists_version || ''])) : el('p', {}, 'None.'));
}

/* ---- Audit ---- */

const OUTCOMES = ['', 'NLR', 'LICENSE_EXCEPTION_ACE', 'LICENSE_REQUIRED', 'PROHIBITED', 'REVIEW', 'OUT_OF_SCOPE',
  'NO_MATCH', 'POSSIBLE_MATCH', 'CONFIDENT_MATCH'];

async function pageAudit(main, args) {
  if (args[0]) { await auditDetail(main, args[0]); return; }
  heading(main, 'Audit');
  const f = state.audit.filters || {};
  const form = el('form', { class: 'grid', novalidate: true },
    field('From', input('from', { type: 'date', value: f.from })),
    field('To', input('to', { type: 'date', value: f.to })),
    field('Kind', select('kind', [['', 'Any'], ['check', 'Check'], ['screening', 'Screening'], ['key', 'Key'], ['lists', 'Lists']])),
    field('Destination', input('destination', { value: f.destination, autocomplete: 'off' }), 'Country code, e.g. DE.'),
    field('ECCN', input('eccn', { value: f.eccn, autocomplete: 'off' })),
    field('Outcome', select('outcome', OUTCOMES.map((o) => [o, o || 'Any']))),
    field('Reference', input('ref', { value: f.ref, autocomplete: 'off' })),
    field('Party', input('party', { value: f.party, autocomplete: 'off' }), 'A party name; spelling variants of the same name match.'),
    el('div', { class: 'actions wide' }, el('button', { type: 'submit' }, 'Search'),
      el('button', { type: 'button', class: 'secondary', id: 'export-csv' }, 'Export CSV')));
  if (f.kind) form.elements.kind.value = f.kind;
  if (f.outcome) form.elements.outcome.value = f.outcome;
  const out = el('section', { 'aria-label': 'Records' });
  const exportMsg = el('div');
  main.append(form, exportMsg, out);
  const filters = () => {
    const v = {};
    for (const k of ['from', 'to', 'kind', 'destination', 'eccn', 'outcome', 'ref', 'party']) v[k] = form.elements[k].value.trim();
    if (v.destination) v.destination = v.destination.toUpperCase();
    return v;
  };
  async function load(cursor) {
    const v = filters();
    state.audit.filters = v;
    try {
      const r = await api('GET', `/v1/audit${query({ ...v, order: 'newest', limit: 25, cursor })}`);
      for (const rec of r.records) state.audit.records.set(rec.audit_id, rec);
      const cursors = state.audit.cursors;
      const nav = el('div', { class: 'actions' });
      if (cursors.length) nav.append(el('button', { type: 'button', class: 'secondary', on: { click: () => { cursors.pop(); load(cursors[cursors.length - 1]); } } }, 'Previous page'));
      if (r.next_cursor) nav.append(el('button', { type: 'button', class: 'secondary', on: { click: () => { cursors.push(r.next_cursor); load(r.next_cursor); } } }, 'Next page'));
      replace(out, r.records.length ? table([oneLine('Record'), oneLine('Time'), 'Kind', 'Outcome', 'Destination', 'ECCN', 'Reference', 'Memo'],
        r.records.map((rec) => [el('a', { href: `#audit/${encodeURIComponent(rec.audit_id)}` }, rec.audit_id), rec.time, rec.kind,
          rec.outcome || '', rec.destination || '', rec.eccn || '', (rec.decision && rec.decision.ref) || '',
          rec.kind === 'check' || rec.kind === 'screening' ? el('a', { href: `#memo/${encodeURIComponent(rec.audit_id)}` }, 'Memo for ', el('span', { class: 'one-line' }, rec.audit_id)) : ''])) :
        el('p', {}, 'No record matches.'), nav);
    } catch (err) {
      replace(out, errorBox(err));
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); state.audit.cursors = []; load(); });
  form.querySelector('#export-csv').addEventListener('click', async () => {
    const v = filters();
    try {
      const text = await api('GET', `/v1/audit/export${query({ from: v.from, to: v.to, format: 'csv' })}`, undefined, { raw: true });
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const a = el('a', { href: url, download: `acegate-audit${v.from ? `-${v.from}` : ''}${v.to ? `-${v.to}` : ''}.csv` }, 'Download the CSV export');
      replace(exportMsg, el('p', {}, a, ` (${text.split('\n').length - 1} lines)`));
      a.click();
      say('CSV export ready');
    } catch (err) {
      replace(exportMsg, errorBox(err));
    }
  });
  await load(state.audit.cursors[state.audit.cursors.length - 1]);
}

const KIND_PATH = { check: 'checks', screening: 'screenings', classification: 'classifications' };

async function auditDetail(main, id) {
  heading(main, `Record ${id}`);
  main.append(el('p', {}, el('a', { href: '#audit' }, 'Back to the search')));
  const rec = state.audit.records.get(id);
  if (rec && KIND_PATH[rec.kind]) {
    main.append(el('p', {}, el('a', { href: `#memo/${encodeURIComponent(id)}` }, 'Printable memo')));
    const raw = await api('GET', `/v1/${KIND_PATH[rec.kind]}/${encodeURIComponent(id)}`, undefined, { raw: true });
    main.append(el('h2', {}, 'The stored answer, as returned'), el('pre', { tabindex: '0', 'aria-label': 'Stored answer' }, raw));
  }
  if (rec) {
    main.append(el('h2', {}, 'The audit record'), el('pre', { tabindex: '0', 'aria-label': 'Audit record' }, JSON.stringify(rec, null, 2)));
  } else {
    main.append(el('p', {}, 'Open the record from a search.'));
  }
}

/* A memo for an auditor: the transaction, the outcome with its cited
 * reasoning, the data versions, the reviews, the audit id and hash. */
async function pageMemo(main, args) {
  const id = args[0];
  const rec = state.audit.records.get(id);
  heading(main, `Export determination memo ${id}`);
  if (!rec) { main.append(el('p', {}, 'Open the memo from the Audit page.')); return; }
  const d = rec.decision || {};
  // every role that reads the log reads its reviews; a record no one
  // could review (a decided check, a classification) has none
  let reviews = [];
  let reviewsError = null;
  try {
    reviews = (await api('GET', `/v1/reviews/${encodeURIComponent(id)}`)).reviews;
  } catch (e) {
    if (e.status !== 400) reviewsError = e.message;
  }
  const memo = el('article', { class: 'memo' },
    el('div', { class: 'actions no-print' }, el('button', { type: 'button', on: { click: () => window.print() } }, 'Print memo'),
      el('a', { href: '#audit' }, 'Back to the search')),
    el('dl', { class: 'pairs' },
      el('dt', {}, 'Audit id'), el('dd', {}, rec.audit_id),
      el('dt', {}, 'Recorded'), el('dd', {}, rec.time),
      el('dt', {}, 'Record hash'), el('dd', {}, rec.hash),
      el('dt', {}, 'Previous hash'), el('dd', {}, rec.prev_hash),
      el('dt', {}, 'API key'), el('dd', {}, rec.key_id || 'command line'),
      el('dt', {}, 'Rules version'), el('dd', {}, rec.rules_version || ''),
      el('dt', {}, 'Lists version'), el('dd', {}, rec.lists_version || 'none'),
      el('dt', {}, 'Reference'), el('dd', {}, d.ref || '')),
    el('h2', {}, 'Transaction'), el('pre', {}, JSON.stringify(rec.request, null, 2)),
    el('h2', {}, 'Outcome'), el('p', {}, outcomeBadge(d.outcome || rec.outcome), d.decided_by ? [' decided by ', citeLink(d.decided_by)] : ''),
    el('p', { class: 'plain' }, PLAIN[d.outcome || rec.outcome] || ''),
    d.trace ? [el('h2', {}, 'Reasoning, cited'), el('ol', { class: 'trace' },
      d.trace.map((t) => el('li', {}, citeLink(t.cite), ' ', el('span', { class: 'tag' }, t.result), ' ', t.text)))] : null,
    d.matches ? [el('h2', {}, 'Candidates'), table(['List', 'Entry', 'Score', 'Why'], d.matches.map((m) => [m.list, `${m.name} (${m.source_id})`, `${m.score} (${m.level})`, m.reason || '']))] : null,
    d.screening ? [el('h2', {}, 'Screening'), d.screening.map((s) => [el('h3', {}, `${s.party}: ${s.name}`),
      s.matches.length ? table(['List', 'Entry', 'Score'], s.matches.map((m) => [m.list, `${m.name} (${m.source_id})`, `${m.score} (${m.level})`])) : el('p', {}, 'No candidate.')])] : null,
    el('h2', {}, 'Reviews'),
    reviewsError ? el('p', { role: 'alert' }, `The reviews could not be read: ${reviewsError}`) :
      reviews.length ? table([oneLine('Review'), 'Decision', 'Note', 'By', oneLine('Time')], reviews.map((v) => [v.audit_id || '', v.decision, v.note, v.key_id || v.reviewer || '', v.time || ''])) :
        el('p', {}, 'None.'));
  main.append(memo);
}

/* ---- Data ---- */

function ageDays(date) {
  if (!date) return '';
  const ms = Date.now() - Date.parse(`${date.slice(0, 10)}T00:00:00Z`);
  return Number.isFinite(ms) ? String(Math.floor(ms / 86400000)) : '';
}

async function pageData(main) {
  heading(main, 'Data');
  const [rules, lists] = await Promise.all([api('GET', '/v1/rules'), api('GET', '/v1/lists')]);
  main.append(el('h2', {}, 'Rules in force'), el('dl', { class: 'panel pairs' },
    el('dt', {}, 'Version'), el('dd', {}, rules.version), el('dt', {}, 'Edition'), el('dd', {}, rules.edition || ''),
    el('dt', {}, 'eCFR issue'), el('dd', {}, `${rules.ecfr_issue || ''} (${ageDays(rules.ecfr_issue)} days ago)`),
    el('dt', {}, 'Source'), el('dd', {}, rules.source || ''),
    el('dt', {}, '740.22 in force from'), el('dd', {}, `${rules.rule_in_force_from || ''} (${rules.rule_in_force_source || ''})`)),
  rules.tables ? table(['Table', 'Rows'], Object.entries(rules.tables).map(([k, v]) => [k, String(v)])) : null);
  const inForce = el('div', { class: 'lists-in-force' });
  main.append(inForce);
  await showLists(inForce, lists);
  // an upload or a reload changes what is in force: drawn again at once
  const refresh = () => showLists(inForce).catch((err) => inForce.append(errorBox(err)));
  if (state.me.role === 'admin') main.append(listsUpdateForm(refresh));
  if (state.me.role === 'admin') {
    const msg = el('div');
    main.append(el('h2', {}, 'Reload'), el('p', {}, 'After `acegate lists update FILE...` on the server, load the new lists (the old stay in force if a file is bad).'),
      el('button', { type: 'button', on: { click: async () => {
        try {
          const r = await api('POST', '/v1/admin/reload', {});
          replace(msg, el('pre', {}, JSON.stringify(r, null, 2)));
          say('Reloaded');
          await refresh();
        } catch (err) { replace(msg, errorBox(err)); }
      } } }, 'Reload rules and lists'), msg);
  }
}

/* The lists in force (dates, ages) and the last update's record, into
 * section; lists is GET /v1/lists, fetched when not given. */
async function showLists(section, lists) {
  const now = lists || await api('GET', '/v1/lists');
  const changes = el('section', { 'aria-label': 'Last update' });
  let last;
  try {
    const r = await api('GET', `/v1/audit${query({ kind: 'lists', order: 'newest', limit: 1 })}`);
    last = r.records.length ? [el('p', {}, `${r.records[0].time}: ${r.records[0].outcome}`),
      el('pre', { tabindex: '0', 'aria-label': 'Changes of the last update' }, JSON.stringify(r.records[0].decision, null, 2))] :
      el('p', {}, 'No list update since the log began.');
  } catch (err) {
    last = el('p', {}, err.status === 403 ? 'The log of list updates is shown to auditors, reviewers and admins.' : err.message);
  }
  append(changes, [last]);
  replace(section, el('h2', {}, 'Lists in force'),
    el('p', { class: 'lists-version' }, `Version ${now.version || 'none'}; ${now.entries || 0} entries; origin ${now.origin || ''}; built ${now.built || ''}`),
    table(['Code', 'List', oneLine('Date'), 'Age (days)', 'Entries', oneLine('SHA-256')], (now.lists || []).map((l) =>
      [l.code, l.name, l.date, ageDays(l.date), String(l.entries), (l.sha256 || '').slice(0, 16)])),
    el('h2', {}, 'Last update'), changes);
}

function changesTable(changes) {
  return table(['Code', 'List', 'Before', 'After', 'Added', 'Removed', 'Changed'], (changes || []).map((c) =>
    [c.code, c.name, String(c.before), String(c.after), String(c.added), String(c.removed), String(c.changed)]), 'Entries per source');
}

/* An admin sends a CSL file through the guarded update (POST /v1/lists:update);
 * recorded() redraws what is in force once the attempt is on record. */
function listsUpdateForm(recorded) {
  const file = el('input', { type: 'file', name: 'list_file', accept: '.csv,.json,text/csv,application/json' });
  const force = checkbox('force', 'Force');
  const msg = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'grid', novalidate: true, 'aria-label': 'Update lists' }, el('h2', { class: 'wide' }, 'Update lists'),
    field('List file', file, 'The Consolidated Screening List as CSV or JSON. An update that drops a list or shrinks one by more than 10 % is refused unless forced.'),
    el('div', { class: 'wide' }, force),
    el('div', { class: 'actions wide' }, el('button', { type: 'submit' }, 'Update lists')), el('div', { class: 'wide' }, msg));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!file.files.length) { replace(msg, errorBox({ message: 'List file: choose a file.' })); return; }
    const f = file.files[0];
    const json = f.type === 'application/json' || /\.json$/i.test(f.name);
    const forced = force.querySelector('input').checked;
    replace(msg, el('p', {}, 'Updating...'));
    try {
      const r = await api('POST', `/v1/lists:update${query({ force: forced ? 'true' : '' })}`, f,
        { contentType: json ? 'application/json' : 'text/csv' });
      replace(msg, el('p', { class: 'ok' }, `Lists updated (audit id ${r.audit_id}).`),
        r.forced_past ? el('p', {}, `Forced past the guard: ${r.forced_past}`) : null, changesTable(r.changes));
      say('Lists updated');
      await recorded();
    } catch (err) {
      const b = err.body || {};
      replace(msg, errorBox(err), b.changes ? changesTable(b.changes) : null,
        b.audit_id ? el('p', { class: 'hint' }, `Recorded as ${b.audit_id}.`) : null);
      if (b.audit_id) await recorded(); /* a refusal is the last update's record too */
    }
  });
  return form;
}

/* ---- Keys (admin) ---- */

async function pageKeys(main) {
  heading(main, 'Keys');
  if (state.me.role !== 'admin') { main.append(el('p', {}, 'Keys are managed by admins.')); return; }
  const list = el('section', { 'aria-label': 'Keys' });
  const name = input('name', { required: true, maxlength: 64, autocomplete: 'off' });
  const role = select('role', [['checker', 'Checker'], ['reviewer', 'Reviewer'], ['auditor', 'Auditor'], ['admin', 'Admin']]);
  const secret = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'grid', novalidate: true }, el('h2', { class: 'wide' }, 'Add a key'),
    field('Name', name, 'Who or what uses it.'), field('Role', role),
    el('div', { class: 'actions wide' }, el('button', { type: 'submit' }, 'Add key')), el('div', { class: 'wide' }, secret));
  main.append(form, list);
  async function load() {
    const r = await api('GET', '/v1/keys');
    replace(list, el('h2', {}, 'Keys'), table([oneLine('Id'), 'Name', 'Role', oneLine('Created'), oneLine('Revoked'), ''],
      r.keys.map((k) => [k.id, k.name || '', k.role, k.created || '', k.revoked || '',
        k.revoked ? '' : el('button', { type: 'button', class: 'danger', 'aria-label': `Revoke key ${k.id} ${k.name || ''}`,
          on: { click: async (ev) => {
            const b = ev.currentTarget;
            if (b.dataset.armed !== '1') {
              b.dataset.armed = '1';
              b.textContent = 'Confirm revoke';
              b.setAttribute('aria-label', `Confirm revoking key ${k.id} ${k.name || ''}`);
              return;
            }
            try {
              await api('DELETE', `/v1/keys/${encodeURIComponent(k.id)}`);
              say(`Revoked key ${k.id}`);
              load();
            } catch (err) { list.append(errorBox(err)); }
          } } }, 'Revoke')])));
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) { replace(secret, errorBox({ message: 'Name: required.' })); name.focus(); return; }
    try {
      const k = await api('POST', '/v1/keys', { role: role.value, name: name.value.trim() });
      replace(secret, el('p', {}, `Key ${k.id} (${k.role}) added. This is the only time it is shown: copy it now.`),
        el('p', { class: 'secret', tabindex: '0', 'aria-label': 'The new key' }, k.key));
      name.value = '';
      load();
    } catch (err) {
      replace(secret, errorBox(err));
    }
  });
  await load();
}

/* ---- start ---- */

document.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  const saved = sessionStorage.getItem(KEY_SLOT);
  if (!saved) { showSignIn(); return; }
  state.key = saved;
  try {
    state.me = await api('GET', '/v1/whoami');
    signedIn();
  } catch (err) {
    sessionStorage.removeItem(KEY_SLOT);
    state.key = null;
    showSignIn(err.status === 401 ? 'Your key is no longer valid: sign in again.' : err.message);
  }
});
