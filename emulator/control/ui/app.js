/* app.js - the chsm-emulator dashboard (docs/dashboard.md).
 *
 * Every piece of data comes from a documented call a script could make:
 * ARM (subscriptions, resource groups, clusters, storage accounts,
 * identities, role assignments and definitions) and /_emulator/ (inventory,
 * operations, faults, requests, snapshots, fixtures, clock, info). All text
 * from the server is put in the page with textContent, never as HTML. */
'use strict';

(function () {
  const API = {
    resources: '2021-04-01',
    subscriptions: '2022-12-01',
    cloudhsm: '2025-03-31',
    storage: '2023-05-01',
    msi: '2023-01-31',
    authorization: '2022-04-01',
  };
  const TOKEN_KEY = 'chsm-dashboard-token';
  /* The page reloads everything only when something changed: every SLOW_MS it
   * reads the request journal and reloads when someone else made a request other
   * than GET; while an operation runs (and no fault rule stalls it) it also reads
   * the operations every FAST_MS and reloads when one starts or ends; and it
   * reloads every FULL_MS regardless. A poll is one call, not a dozen, so the
   * page does not crowd the journal out. */
  const FAST_MS = 1500;
  const SLOW_MS = 5000;
  const FULL_MS = 300000;
  const JOURNAL_LIMIT = 200;

  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let info = null;
  let timer = null;
  let refreshing = false;
  let lastFull = 0;
  let lastJournal = 0;
  let lastOpsSignature = '';
  let opsRunning = false;
  let bannerFromRefresh = false;
  const seenRequests = new Set(); /* journal entries already looked at */
  let clockSkewMs = 0; /* emulator's now - this browser's now */
  const lastRender = {}; /* section -> JSON of what it last showed */
  let journalData = [];
  const ownRequests = new Set(); /* x-ms-request-id of this page's own calls */
  let fixtures = []; /* the built-in fixtures, loaded once */
  const roleNames = {}; /* role definition guid (lowercase) -> role name */

  /* ---- small DOM helpers ---- */

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  /* replace swaps a section's content, keeping keyboard focus on the control
   * with the same data-key when there is one. */
  function replace(container, ...nodes) {
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.getAttribute('data-key') : null;
    container.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined));
    if (key) {
      const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) again.focus();
    }
  }

  /* changed tells whether a section's data differs from what it shows. */
  function changed(section, data) {
    const text = JSON.stringify(data);
    if (lastRender[section] === text) return false;
    lastRender[section] = text;
    return true;
  }

  function badge(text, kind) {
    return el('span', { class: `badge ${kind}`, text });
  }

  function statusKind(s) {
    const v = String(s || '').toLowerCase();
    if (['succeeded', 'active', 'running', 'ready', 'ok'].includes(v)) return 'ok';
    if (['failed', 'canceled', 'notconnected', 'deleting'].includes(v)) return 'bad';
    if (['inprogress', 'provisioning', 'updating', 'accepted', 'notactivated'].includes(v)) return 'warn';
    return 'info';
  }

  function httpKind(status) {
    if (status === null || status === undefined) return 'bad';
    if (status >= 500 || status === 0) return 'bad';
    if (status >= 400) return 'warn';
    return 'ok';
  }

  function table(caption, headers, rows, emptyText) {
    if (!rows.length) return el('p', { class: 'empty', text: emptyText });
    return el('div', { class: 'table-wrap' },
      el('table', {},
        caption ? el('caption', { text: caption }) : null,
        el('thead', {}, el('tr', {}, headers.map((h) =>
          el('th', { scope: 'col', class: h.num ? 'num' : null, text: h.text || h })))),
        el('tbody', {}, rows)));
  }

  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function fmtDuration(ms) {
    if (ms === undefined || ms === null || isNaN(ms)) return '';
    if (ms < 10) return `${Number(ms).toFixed(1)} ms`;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    const m = Math.floor(ms / 60000);
    return `${m} min ${Math.round((ms % 60000) / 1000)} s`;
  }

  function fmtSize(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1048576).toFixed(1)} MiB`;
  }

  function lastSegment(id) {
    const parts = String(id || '').split('/').filter(Boolean);
    return parts.length ? parts[parts.length - 1] : '';
  }

  /* segmentAfter returns the segment after a (case-insensitive) name in an ARM id. */
  function segmentAfter(id, name) {
    const parts = String(id || '').split('/');
    for (let i = 0; i + 1 < parts.length; i++)
      if (parts[i].toLowerCase() === name.toLowerCase()) return parts[i + 1];
    return '';
  }

  /* ---- messages ---- */

  function showError(text, fromRefresh) {
    $('banner').textContent = text;
    bannerFromRefresh = Boolean(fromRefresh);
    if (!fromRefresh) $('notice').textContent = '';
  }

  function showNotice(text) {
    $('notice').textContent = text;
    $('banner').textContent = '';
    bannerFromRefresh = false;
  }

  /* ---- calls ---- */

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function call(method, path, body) {
    const headers = { Authorization: `Bearer ${token || 'emulator-dashboard'}` };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'Unreachable', 'The emulator cannot be reached.');
    }
    const rid = res.headers.get('x-ms-request-id');
    if (rid) {
      if (ownRequests.size > 5000) ownRequests.clear();
      ownRequests.add(rid);
    }
    const text = await res.text();
    let json = null;
    if (text) {
      try { json = JSON.parse(text); } catch (e) { json = null; }
    }
    if (!res.ok) {
      const err = json && json.error ? json.error : {};
      throw new ApiError(res.status, err.code || `HTTP${res.status}`,
        err.message || `${method} ${path} answered ${res.status}.`);
    }
    return json;
  }

  /* list follows nextLink (same origin) up to a bound. */
  async function list(path) {
    let out = [];
    let next = path;
    for (let page = 0; next && page < 50; page++) {
      const body = await call('GET', next);
      out = out.concat((body && body.value) || []);
      next = body && body.nextLink ? new URL(body.nextLink, location.href) : null;
      if (next && next.origin !== location.origin) break;
      if (next) next = next.pathname + next.search;
    }
    return out;
  }

  function describe(e) {
    if (e instanceof ApiError) {
      if (e.status === 401 || e.status === 403)
        return `${e.message} (${e.code}). Open "Access token" to give an emulator-admin token.`;
      return `${e.message} (${e.code}${e.status ? `, HTTP ${e.status}` : ''})`;
    }
    return String(e && e.message ? e.message : e);
  }

  /* ---- data ---- */

  async function loadArm() {
    const subs = await list(`/subscriptions?api-version=${API.subscriptions}`);
    const out = { subscriptions: [] };
    await Promise.all(subs.map(async (s) => {
      const sid = s.subscriptionId || lastSegment(s.id);
      const base = `/subscriptions/${encodeURIComponent(sid)}`;
      const [groups, clusters, accounts, identities, assignments, definitions] = await Promise.all([
        list(`${base}/resourcegroups?api-version=${API.resources}`),
        list(`${base}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters?api-version=${API.cloudhsm}`),
        list(`${base}/providers/Microsoft.Storage/storageAccounts?api-version=${API.storage}`),
        list(`${base}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=${API.msi}`),
        list(`${base}/providers/Microsoft.Authorization/roleAssignments?api-version=${API.authorization}`),
        Object.keys(roleNames).length ? Promise.resolve(null)
          : list(`${base}/providers/Microsoft.Authorization/roleDefinitions?api-version=${API.authorization}`),
      ]);
      for (const d of definitions || [])
        if (d.name && d.properties) roleNames[d.name.toLowerCase()] = d.properties.roleName;
      out.subscriptions.push({ id: sid, name: s.displayName || sid, groups, clusters, accounts,
        identities, assignments });
    }));
    out.subscriptions.sort((a, b) => a.id.localeCompare(b.id));
    return out;
  }

  /* runningOps tells whether an operation is moving on its own (not held by a stall rule). */
  function runningOps(ops) {
    return (ops || []).some((o) => o.status === 'InProgress' && !(o.fault && o.fault.type === 'stall'));
  }

  /* opsSignature is what makes a reload worth it: which operations exist and their status. */
  function opsSignature(ops) {
    return (ops || []).map((o) => `${o.id}:${o.status}`).join(',');
  }

  /* tickDurations moves the duration of running operations on, without a call. */
  function tickDurations() {
    const now = Date.now() + clockSkewMs;
    for (const cell of document.querySelectorAll('td[data-since]')) {
      const since = Number(cell.getAttribute('data-since'));
      cell.textContent = `${fmtDuration(now - since)} …`;
    }
  }

  /* ---- views ---- */

  function renderClusters(arm, inv) {
    const body = $('clusters-body');
    if (!changed('clusters', [arm, inv && inv.clusters])) return;
    const hsmById = {};
    for (const c of (inv && inv.clusters) || []) hsmById[c.id.toLowerCase()] = c.hsm;
    const blocks = [];
    for (const s of arm.subscriptions) {
      const idNames = {};
      for (const i of s.identities) idNames[i.id.toLowerCase()] = i;
      for (const g of s.groups.slice().sort((a, b) => a.name.localeCompare(b.name))) {
        const inGroup = (r) => segmentAfter(r.id, 'resourceGroups').toLowerCase() === g.name.toLowerCase();
        const clusters = s.clusters.filter(inGroup);
        const identities = s.identities.filter(inGroup);
        const cards = clusters.map((c) => clusterCard(c, hsmById[c.id.toLowerCase()], idNames));
        blocks.push(el('section', { class: 'rg', 'aria-label': `Resource group ${g.name}` },
          el('h3', {}, `Resource group ${g.name} `,
            el('span', { class: 'muted', text: `${g.location || ''} · subscription ${s.id}` })),
          identities.length ? el('p', {}, el('span', { class: 'muted', text: 'Managed identities: ' }),
            identities.map((i, n) => [n ? ', ' : '', `${i.name} (principal ${(i.properties || {}).principalId || '?'})`])) : null,
          cards.length ? el('div', { class: 'cards wide' }, cards)
            : el('p', { class: 'empty', text: 'No Cloud HSM clusters in this resource group.' })));
      }
    }
    replace(body, blocks.length ? blocks : el('p', { class: 'empty', text: 'No resource groups.' }));
  }

  function clusterCard(c, hsm, idNames) {
    const p = c.properties || {};
    const sku = c.sku ? [c.sku.family, c.sku.name].filter(Boolean).join(' / ') : '';
    const ident = c.identity || {};
    const uai = Object.keys(ident.userAssignedIdentities || {});
    const identityText = [ident.type || 'None']
      .concat(uai.map((k) => {
        const known = idNames[k.toLowerCase()];
        const v = ident.userAssignedIdentities[k] || {};
        return `${known ? known.name : lastSegment(k)} (principal ${v.principalId || '?'})`;
      }))
      .concat(ident.principalId ? [`system (principal ${ident.principalId})`] : []);
    const nodes = (p.hsms || []).map((h, i) =>
      el('li', {}, el('span', { text: `Node ${i + 1}` }), badge(h.state || '?', statusKind(h.state)),
        el('span', { class: 'muted mono fqdn', text: h.fqdn || '' })));
    let keys = 'not known';
    let users = [];
    if (hsm) {
      const by = (hsm.keys && hsm.keys.byType) || {};
      const parts = Object.keys(by).sort().map((t) => `${t} ${by[t]}`);
      keys = `${(hsm.keys && hsm.keys.handles) || 0} handles${parts.length ? `: ${parts.join(', ')}` : ''}`;
      users = hsm.users || [];
    }
    const activation = p.activationState || (hsm && hsm.activationState) || '?';
    return el('article', { class: 'card', 'aria-labelledby': `cluster-${c.name}`, 'data-cluster': c.name },
      el('h4', { id: `cluster-${c.name}`, text: c.name }),
      el('dl', { class: 'kv' },
        el('dt', { text: 'Provisioning' }), el('dd', {}, badge(p.provisioningState || '?', statusKind(p.provisioningState))),
        el('dt', { text: 'Activation' }), el('dd', { 'data-field': 'activation' }, badge(activation, statusKind(activation))),
        el('dt', { text: 'SKU' }), el('dd', { text: sku }),
        el('dt', { text: 'Location' }), el('dd', { text: c.location || '' }),
        el('dt', { text: 'Identity' }), el('dd', { text: identityText.join('; ') }),
        el('dt', { text: 'Keys' }), el('dd', { text: keys }),
        el('dt', { text: 'Users' }), el('dd', {}, users.length ? users.map((u, i) =>
          [i ? ', ' : '', `${u.username} (${u.userType}${u.locked ? ', locked' : ''})`]) : 'none'),
        p.statusMessage ? [el('dt', { text: 'Status' }), el('dd', { text: p.statusMessage })] : null),
      el('h5', { class: 'muted', text: 'HSM nodes' }),
      nodes.length ? el('ul', { class: 'nodes' }, nodes) : el('p', { class: 'empty', text: 'No nodes yet.' }));
  }

  function renderStorage(arm, inv) {
    const body = $('storage-body');
    if (!changed('storage', [arm.subscriptions.map((s) => s.accounts), inv && inv.storageAccounts])) return;
    const blobInfo = {};
    for (const a of (inv && inv.storageAccounts) || []) blobInfo[a.name.toLowerCase()] = a;
    const out = [];
    for (const s of arm.subscriptions) {
      for (const a of s.accounts) {
        const bi = blobInfo[a.name.toLowerCase()];
        const p = a.properties || {};
        const containers = (bi && bi.containers) || [];
        out.push(el('article', { class: 'card rg', 'aria-labelledby': `account-${a.name}` },
          el('h3', { id: `account-${a.name}` }, `Storage account ${a.name} `,
            el('span', { class: 'muted', text: `resource group ${segmentAfter(a.id, 'resourceGroups')} · ${a.location || ''}` })),
          el('p', { class: 'muted', text: `Shared key access ${p.allowSharedKeyAccess === false ? 'disabled' : 'allowed'} · ${containers.length} container(s)` }),
          containers.length ? containers.map((c) => containerTable(a.name, c))
            : el('p', { class: 'empty', text: 'No containers.' })));
      }
    }
    replace(body, out.length ? out : el('p', { class: 'empty', text: 'No storage accounts.' }));
  }

  function containerTable(account, c) {
    const rows = (c.blobs || []).map((b) => el('tr', {},
      el('td', { class: 'wrap mono', text: b.name }),
      el('td', { class: 'num', text: fmtSize(b.size) }),
      el('td', { class: 'mono', text: b.backupId || '—' }),
      el('td', { text: b.sourceCluster || '—' }),
      el('td', { class: 'time', text: fmtTime(b.lastModified || b.createdAt) })));
    return el('div', { class: 'row-block' },
      table(`Container ${c.name}${c.truncated ? ' (first 200 blobs)' : ''}`,
        ['Blob', { text: 'Size', num: true }, 'Backup id', 'Source cluster', 'Time'], rows,
        `Container ${c.name}: no blobs.`));
  }

  function renderOperations(ops) {
    const body = $('operations-body');
    const now = Date.now() + clockSkewMs;
    if (!changed('operations', ops)) return;
    const rows = (ops || []).map((o) => {
      const started = Date.parse(o.startTime);
      const dur = o.durationMs !== undefined ? o.durationMs : (isNaN(started) ? null : now - started);
      const err = o.error ? `${o.error.code}: ${o.error.message}` : '';
      const running = o.status === 'InProgress';
      const fault = o.fault ? (o.fault.id || o.fault.rule || JSON.stringify(o.fault)) : '';
      return el('tr', { 'data-op': o.id },
        el('td', {}, o.kind, el('br'), el('span', { class: 'id mono muted', text: o.id })),
        el('td', { 'data-field': 'status' }, badge(o.status, statusKind(o.status)),
          running && o.percentComplete ? ` ${o.percentComplete}%` : ''),
        el('td', { class: 'wrap', title: o.resourceId || '', text: lastSegment(o.resourceId) }),
        el('td', { class: 'time', text: fmtTime(o.startTime) }),
        el('td', { class: 'num', 'data-since': running && !isNaN(started) ? started : null,
          text: fmtDuration(dur) + (running ? ' …' : '') }),
        el('td', { class: 'wrap', 'data-field': 'error', text: err || o.statusDetails || '' }),
        el('td', { text: fault }),
        el('td', {}, running ? el('div', { class: 'row' },
          el('button', { type: 'button', class: 'secondary', 'data-key': `complete-${o.id}`,
            'aria-label': `Complete operation ${o.kind} ${o.id}`, onclick: () => opAction(o, 'complete') }, 'Complete'),
          el('button', { type: 'button', class: 'secondary', 'data-key': `fail-${o.id}`,
            'aria-label': `Fail operation ${o.kind} ${o.id}`, onclick: () => opAction(o, 'fail') }, 'Fail')) : ''));
    });
    replace(body, table('Long-running operations, newest first',
      ['Kind', 'Status', 'Resource', 'Started', { text: 'Duration', num: true }, 'Error or details',
        'Fault rule', 'Actions'], rows, 'No operations yet.'));
  }

  async function opAction(o, what) {
    try {
      if (what === 'fail')
        await call('POST', `/_emulator/operations/${encodeURIComponent(o.id)}/fail`,
          { code: 'FailedFromDashboard', message: 'Failed by hand from the dashboard.' });
      else await call('POST', `/_emulator/operations/${encodeURIComponent(o.id)}/complete`);
      showNotice(`Operation ${o.kind} ${o.id}: ${what === 'fail' ? 'failed' : 'completed'}.`);
    } catch (e) {
      showError(describe(e));
    }
    refreshSoon();
  }

  function renderRoles(arm) {
    const body = $('roles-body');
    const data = arm.subscriptions.map((s) => [s.assignments, s.identities.map((i) => i.id)]);
    if (!changed('roles', [data, Object.keys(roleNames).length])) return;
    const principals = {};
    for (const s of arm.subscriptions)
      for (const i of s.identities)
        if (i.properties && i.properties.principalId) principals[i.properties.principalId] = `identity ${i.name}`;
    const rows = [];
    for (const s of arm.subscriptions) {
      for (const a of s.assignments) {
        const p = a.properties || {};
        const guid = lastSegment(p.roleDefinitionId).toLowerCase();
        const who = principals[p.principalId];
        rows.push(el('tr', {},
          el('td', { text: roleNames[guid] || guid }),
          el('td', { class: 'wrap' }, who ? `${who} ` : '', el('span', { class: 'mono muted', text: p.principalId || '' })),
          el('td', { text: p.principalType || '' }),
          el('td', { class: 'wrap mono', text: p.scope || '' }),
          el('td', { class: 'id mono muted', text: a.name })));
      }
    }
    replace(body, table('Role assignments (listed at each subscription)',
      ['Role', 'Principal', 'Type', 'Scope', 'Name'], rows, 'No role assignments.'));
  }

  function actionSummary(a) {
    if (!a) return '';
    const extra = Object.entries(a).filter(([k]) => k !== 'type')
      .filter(([, v]) => v !== '' && v !== 0 && v !== null)
      .map(([k, v]) => `${k}=${v}`);
    return extra.length ? `${a.type} (${extra.join(', ')})` : a.type;
  }

  function renderFaults(faults) {
    const body = $('faults-body');
    if (!changed('faults', faults)) return;
    const rows = (faults || []).map((f) => el('tr', { 'data-fault': f.id },
      el('td', { class: 'mono', text: f.id }),
      el('td', { text: f.operation || '*' }),
      el('td', { text: f.method || 'any' }),
      el('td', { class: 'wrap mono', text: f.resource || '*' }),
      el('td', { class: 'wrap', text: actionSummary(f.action) }),
      el('td', { text: [f.probability !== undefined && f.probability !== 1 ? `p=${f.probability}` : '',
        f.nth ? `nth=${f.nth}` : '', f.count ? `count=${f.count}` : ''].filter(Boolean).join(' ') || 'always' }),
      el('td', { class: 'num', text: `${f.matched || 0} / ${f.fired || 0}` }),
      el('td', {}, f.expired ? badge('expired', 'info') : badge('armed', 'warn')),
      el('td', {}, el('div', { class: 'row' },
        f.action && f.action.type === 'stallOperation'
          ? el('button', { type: 'button', class: 'secondary', 'data-key': `release-${f.id}`,
            'aria-label': `Release operations held by fault rule ${f.id}`, onclick: () => faultAction(f, 'release') }, 'Release')
          : null,
        el('button', { type: 'button', class: 'secondary', 'data-key': `remove-${f.id}`,
          'aria-label': `Remove fault rule ${f.id}`, onclick: () => faultAction(f, 'remove') }, 'Remove')))));
    const clearAll = (faults || []).length ? el('div', { class: 'row' },
      el('button', { type: 'button', class: 'danger', 'data-key': 'faults-clear', onclick: clearFaults },
        'Remove all fault rules')) : null;
    replace(body, table('Fault rules', ['Id', 'Operation', 'Method', 'Resource', 'Action', 'When',
      { text: 'Matched / fired', num: true }, 'State', 'Actions'], rows, 'No fault rules armed.'), clearAll);
  }

  async function faultAction(f, what) {
    try {
      if (what === 'release') {
        const r = await call('POST', `/_emulator/faults/${encodeURIComponent(f.id)}/release`);
        showNotice(`Fault rule ${f.id}: released ${(r && r.released) || 0} operation(s).`);
      } else {
        await call('DELETE', `/_emulator/faults/${encodeURIComponent(f.id)}`);
        showNotice(`Fault rule ${f.id} removed.`);
      }
    } catch (e) {
      showError(describe(e));
    }
    refreshSoon();
  }

  async function clearFaults() {
    if (!window.confirm('Remove every fault rule?')) return;
    try {
      await call('DELETE', '/_emulator/faults');
      showNotice('All fault rules removed.');
    } catch (e) {
      showError(describe(e));
    }
    refreshSoon();
  }

  function renderJournal() {
    const body = $('journal-body');
    const filter = $('journal-filter').value.trim().toLowerCase();
    const showOwn = $('journal-own').checked;
    const own = (e) => ownRequests.has(e.requestId) || String(e.path).startsWith('/_emulator/ui');
    const entries = journalData.filter((e) => showOwn || !own(e))
      .filter((e) => !filter || [e.path, e.operation, e.status, e.fault, e.method, e.listener]
        .some((v) => String(v === undefined || v === null ? '' : v).toLowerCase().includes(filter)));
    if (!changed('journal', [entries, filter, showOwn])) return;
    const rows = entries.map((e) => el('tr', {},
      el('td', { class: 'time', text: fmtTime(e.time) }),
      el('td', {}, badge(e.status === null ? 'dropped' : String(e.status), httpKind(e.status))),
      el('td', {}, `${e.listener} ${e.method}`, el('br'), el('span', { class: 'id mono muted', text: e.requestId })),
      el('td', { class: 'wrap path mono', text: e.path }),
      el('td', { class: 'num', text: fmtDuration(e.durationMs) }),
      el('td', { text: e.operation || '' }),
      el('td', { text: e.fault || '' })));
    replace(body, table(`Last ${JOURNAL_LIMIT} requests, newest first${showOwn ? '' : ' (this page\'s own calls hidden)'}`,
      ['Time', 'Status', 'Request and id', 'Path', { text: 'Duration', num: true }, 'Operation',
        'Fault rule'], rows, 'No requests recorded (or none match the filter).'));
  }

  function setOptions(select, items, valueOf, labelOf) {
    const want = items.map(valueOf);
    const have = Array.from(select.options).map((o) => o.value);
    if (JSON.stringify(want) === JSON.stringify(have)) return;
    const keep = select.value;
    select.replaceChildren(...items.map((i) => el('option', { value: valueOf(i), text: labelOf(i) })));
    if (want.includes(keep)) select.value = keep;
  }

  function renderSnapshots(snaps) {
    const select = $('snapshot-select');
    setOptions(select, snaps || [], (s) => s.name, (s) => s.name);
    const none = !(snaps || []).length;
    select.disabled = none;
    $('snapshot-restore').disabled = none;
    $('snapshot-delete').disabled = none;
  }

  /* ---- refresh loop ---- */

  const STRICT_MESSAGE = 'This emulator runs with --strict-auth: give the page an emulator-admin token (Access token).';

  /* needsToken tells whether calls would all be refused for want of a token. */
  function needsToken() {
    if (!(info && info.strictAuth) || token) return false;
    $('token-box').open = true;
    showError(STRICT_MESSAGE, true);
    return true;
  }

  async function refresh() {
    if (refreshing) return;
    clearTimeout(timer);
    if (needsToken()) return; /* nothing to poll until there is a token */
    refreshing = true;
    let running = false;
    const problems = [];
    const settle = async (what, fn) => {
      try { return await fn(); } catch (e) { problems.push(`${what}: ${describe(e)}`); return null; }
    };
    try {
      if (!fixtures.length) await loadFixtures();
      const [arm, inv, ops, faults, journal, snaps, clock] = await Promise.all([
        settle('ARM', loadArm),
        settle('inventory', () => call('GET', '/_emulator/inventory')),
        settle('operations', () => call('GET', '/_emulator/operations').then((b) => b.value)),
        settle('fault rules', () => call('GET', '/_emulator/faults').then((b) => b.value)),
        settle('requests', () => call('GET', `/_emulator/requests?limit=${JOURNAL_LIMIT}`).then((b) => b.value)),
        settle('snapshots', () => call('GET', '/_emulator/snapshots').then((b) => b.value)),
        settle('clock', () => call('GET', '/_emulator/clock')),
      ]);
      if (clock && clock.now) {
        clockSkewMs = Date.parse(clock.now) - Date.now();
        $('version').textContent = `${info ? `v${info.version} · ` : ''}emulator time ${fmtTime(clock.now)}${clock.frozen ? ' (frozen)' : ''}`;
      }
      if (arm) {
        renderClusters(arm, inv);
        renderStorage(arm, inv);
        renderRoles(arm);
      }
      if (ops) renderOperations(ops);
      if (faults) renderFaults(faults);
      if (journal) takeJournal(journal);
      if (snaps) renderSnapshots(snaps);
      running = runningOps(ops);
      if (ops) lastOpsSignature = opsSignature(ops);
      lastFull = lastJournal = Date.now();
      if (problems.length) showError(problems.join(' · '), true);
      else if (bannerFromRefresh) showError('', true);
      $('refresh-state').textContent = `Updated ${new Date().toLocaleTimeString()}${running ? ' · operations running' : ''}`;
      document.body.setAttribute('data-refreshed', String(Date.now()));
    } finally {
      refreshing = false;
      schedule(running);
    }
  }

  /* takeJournal shows the journal and tells whether it holds a change made by
   * someone else since the last look (or lost entries in between). */
  function takeJournal(journal) {
    const fresh = journal.filter((e) => !seenRequests.has(e.requestId));
    const overflow = seenRequests.size > 0 && journal.length >= JOURNAL_LIMIT &&
      !journal.some((e) => seenRequests.has(e.requestId));
    seenRequests.clear();
    for (const e of journal) seenRequests.add(e.requestId);
    journalData = journal;
    renderJournal();
    return overflow || fresh.some((e) => e.method !== 'GET' && !ownRequests.has(e.requestId));
  }

  /* poll reads the operations (while one runs) or the journal, and reloads
   * everything when they show a change. */
  async function poll() {
    if (refreshing) return;
    clearTimeout(timer);
    if (needsToken()) return;
    let full = Date.now() - lastFull >= FULL_MS;
    let running = opsRunning;
    try {
      if (opsRunning) {
        const ops = (await call('GET', '/_emulator/operations')).value || [];
        if (opsSignature(ops) !== lastOpsSignature) full = true;
        else renderOperations(ops);
        running = runningOps(ops);
      }
      if (!full && Date.now() - lastJournal >= SLOW_MS) {
        lastJournal = Date.now();
        const journal = (await call('GET', `/_emulator/requests?limit=${JOURNAL_LIMIT}`)).value || [];
        if (takeJournal(journal)) full = true;
      }
      if (bannerFromRefresh) showError('', true);
    } catch (e) {
      showError(describe(e), true);
    }
    if (full) refresh();
    else schedule(running);
  }

  function schedule(running) {
    clearTimeout(timer);
    opsRunning = running;
    if (!$('auto-refresh').checked || document.hidden) return;
    timer = setTimeout(poll, running ? FAST_MS : SLOW_MS);
  }

  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 50);
  }

  /* ---- actions ---- */

  async function onReset(ev) {
    ev.preventDefault();
    const keep = $('reset-keep-faults').checked;
    if (!window.confirm(`Reset the emulator? All state goes${keep ? ' (fault rules are kept)' : ''}.`)) return;
    try {
      await call('POST', `/_emulator/reset${keep ? '?keepFaults=true' : ''}`);
      showNotice('The emulator was reset.');
    } catch (e) {
      showError(describe(e));
    }
    refreshSoon();
  }

  async function onSnapshotSave(ev) {
    ev.preventDefault();
    const name = $('snapshot-name').value.trim();
    try {
      await call('POST', `/_emulator/snapshots/${encodeURIComponent(name)}`);
      showNotice(`Snapshot ${name} saved.`);
      $('snapshot-name').value = '';
    } catch (e) {
      showError(describe(e));
    }
    refreshSoon();
  }

  async function onSnapshot(what) {
    const name = $('snapshot-select').value;
    if (!name) return;
    if (!window.confirm(what === 'restore' ? `Go back to snapshot ${name}? Current state is replaced.`
      : `Delete snapshot ${name}?`)) return;
    try {
      if (what === 'restore') await call('POST', `/_emulator/snapshots/${encodeURIComponent(name)}/restore`);
      else await call('DELETE', `/_emulator/snapshots/${encodeURIComponent(name)}`);
      showNotice(`Snapshot ${name} ${what === 'restore' ? 'restored' : 'deleted'}.`);
    } catch (e) {
      showError(describe(e));
    }
    refreshSoon();
  }

  async function loadFixtures() {
    try {
      const b = await call('GET', '/_emulator/fixtures');
      fixtures = b.value || [];
      setOptions($('fixture-select'), fixtures, (f) => f.name, (f) => f.name);
      describeFixture();
    } catch (e) {
      showError(`fixtures: ${describe(e)}`, true);
    }
  }

  function describeFixture() {
    const f = fixtures.find((x) => x.name === $('fixture-select').value);
    $('fixture-desc').textContent = f && f.description ? f.description : '';
  }

  async function onFixture(ev) {
    ev.preventDefault();
    const name = $('fixture-select').value;
    if (!name) return;
    const button = ev.target.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await call('POST', '/_emulator/fixtures', { name });
      showNotice(`Fixture ${name} loaded.`);
    } catch (e) {
      showError(describe(e));
    } finally {
      button.disabled = false;
    }
    refreshSoon();
  }

  /* ---- the fault form ---- */

  const ACTION_FIELDS = {
    error: ['status', 'code', 'message'],
    failOperation: ['code', 'message', 'statusDetails', 'afterMs'],
    latency: ['ms', 'jitterMs'],
    throttle: ['retryAfter'],
    nodeDown: ['node'],
  };
  const NUMBER_FIELDS = ['status', 'afterMs', 'ms', 'jitterMs', 'retryAfter', 'node', 'probability', 'nth', 'count'];

  function faultRule() {
    const form = $('fault-form');
    const v = (name) => form.elements[name].value.trim();
    const num = (name) => (v(name) === '' ? undefined : Number(v(name)));
    const rule = {};
    for (const k of ['id', 'operation', 'method', 'resource']) if (v(k)) rule[k] = v(k);
    for (const k of ['probability', 'nth', 'count']) if (num(k) !== undefined) rule[k] = num(k);
    const type = v('action');
    const action = { type };
    for (const k of ACTION_FIELDS[type] || [])
      if (v(k) !== '') action[k] = NUMBER_FIELDS.includes(k) ? num(k) : v(k);
    rule.action = action;
    return rule;
  }

  function updateFaultForm() {
    const type = $('fault-action').value;
    for (const label of $('fault-form').querySelectorAll('.field[data-for]')) {
      const on = label.getAttribute('data-for').split(' ').includes(type);
      label.hidden = !on;
      for (const input of label.querySelectorAll('input')) input.disabled = !on;
    }
    $('fault-preview').textContent = JSON.stringify(faultRule(), null, 2);
  }

  async function onFaultSubmit(ev) {
    ev.preventDefault();
    const rule = faultRule();
    try {
      const stored = await call('POST', '/_emulator/faults', rule);
      showNotice(`Fault rule ${stored.id} armed on ${stored.operation || '*'}.`);
      $('fault-id').value = '';
    } catch (e) {
      showError(describe(e));
    }
    refreshSoon();
  }

  /* ---- the token ---- */

  function tokenState() {
    $('token-hint').classList.toggle('warn', Boolean(info && info.strictAuth && !token));
    $('token-clear').disabled = !token;
  }

  async function fetchAdminToken() {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'emulator-admin',
      client_secret: 'dashboard',
      scope: 'https://management.azure.com/.default',
    });
    try {
      const res = await fetch('/common/oauth2/v2.0/token', { method: 'POST', body: form, cache: 'no-store' });
      const b = await res.json();
      if (!res.ok || !b.access_token) throw new Error((b.error_description || b.error || `HTTP ${res.status}`));
      token = b.access_token;
      sessionStorage.setItem(TOKEN_KEY, token);
      $('token-input').value = '';
      showNotice('Using an emulator-admin token from the emulator\'s token endpoint.');
    } catch (e) {
      showError(`Token: ${describe(e)}`);
    }
    tokenState();
    refreshSoon();
  }

  /* ---- start ---- */

  async function start() {
    $('refresh-now').addEventListener('click', () => refreshSoon());
    $('auto-refresh').addEventListener('change', () => {
      if ($('auto-refresh').checked) refreshSoon();
      else clearTimeout(timer);
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshSoon(); });
    $('reset-form').addEventListener('submit', onReset);
    $('snapshot-save-form').addEventListener('submit', onSnapshotSave);
    $('snapshot-restore').addEventListener('click', () => onSnapshot('restore'));
    $('snapshot-delete').addEventListener('click', () => onSnapshot('delete'));
    $('fixture-form').addEventListener('submit', onFixture);
    $('fixture-select').addEventListener('change', describeFixture);
    $('fault-form').addEventListener('submit', onFaultSubmit);
    $('fault-form').addEventListener('input', updateFaultForm);
    $('fault-form').addEventListener('change', updateFaultForm);
    $('journal-filter').addEventListener('input', renderJournal);
    $('journal-own').addEventListener('change', renderJournal);
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('token-input').value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
      $('token-input').value = '';
      showNotice(token ? 'Token saved for this tab.' : 'Token cleared.');
      tokenState();
      refreshSoon();
    });
    $('token-fetch').addEventListener('click', fetchAdminToken);
    $('token-clear').addEventListener('click', () => {
      token = '';
      sessionStorage.removeItem(TOKEN_KEY);
      showNotice('Token forgotten.');
      tokenState();
      refreshSoon();
    });
    updateFaultForm();
    try {
      info = await call('GET', '/_emulator/info');
      $('version').textContent = `v${info.version}`;
    } catch (e) {
      showError(describe(e));
    }
    tokenState();
    setInterval(tickDurations, 1000);
    await refresh();
  }

  start();
})();
