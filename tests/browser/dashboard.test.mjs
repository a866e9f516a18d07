// dashboard.test.mjs - the dashboard (GET /_emulator/ui) in a real browser:
// Debian's chromium driven by playwright-core, against an emulator that
// tests/e2e/test_dashboard_browser.sh started with --fixture tutorial-ready.
//
// Environment: ARM (the ARM base URL), DATA (its data dir), CHSMCTL (the
// chsmctl binary), ARTIFACTS (where screenshots go), CHROMIUM (default
// /usr/bin/chromium).
//
// Steps share one page, in order: the clusters and their states; a fault rule
// armed from the form; a backup started with chsmctl that the page shows
// failing with the rule's code; reset; the same page on a narrow window; and
// keyboard and labelling checks. Each step saves a screenshot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const ARM = process.env.ARM;
const DATA = process.env.DATA;
const CHSMCTL = process.env.CHSMCTL;
const ARTIFACTS = process.env.ARTIFACTS;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const EMULATOR = process.env.CHSM_EMULATOR;
const FAULT_CODE = 'InjectedBackupFailure';
for (const [k, v] of Object.entries({ ARM, DATA, CHSMCTL, ARTIFACTS, CHSM_EMULATOR: EMULATOR }))
  if (!v) throw new Error(`${k} must be set (tests/e2e/test_dashboard_browser.sh sets it)`);
mkdirSync(ARTIFACTS, { recursive: true });

// Trust exactly the emulator's own server key (its certificate is signed by
// the data dir's private CA, which this browser profile does not know).
function spkiHash(dataDir) {
  const cert = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.pem')));
  const der = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

let browser;
let page;
const problems = []; // console errors, CSP violations, uncaught exceptions

async function shot(name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

function clusterCard(name) {
  return page.locator(`article[data-cluster="${name}"]`);
}

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${spkiHash(DATA)}`],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  if (browser) await browser.close();
});

test('the page loads and shows both clusters with their states', async () => {
  const res = await page.goto(`${ARM}/_emulator/ui`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'], /default-src 'self'/);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(wide <= 0, `the page is ${wide}px wider than a 1280px window`);
  await assert.doesNotReject(clusterCard('chsm-src').waitFor({ timeout: 15000 }));
  await clusterCard('chsm-dst').waitFor({ timeout: 15000 });
  const src = clusterCard('chsm-src');
  const dst = clusterCard('chsm-dst');
  assert.equal((await src.locator('[data-field="activation"]').innerText()).trim(), 'Active');
  assert.equal((await dst.locator('[data-field="activation"]').innerText()).trim(), 'NotActivated');
  assert.equal(await src.locator('.nodes li').count(), 3);
  assert.equal(await src.locator('.nodes li', { hasText: 'Running' }).count(), 3);
  const srcText = await src.innerText();
  assert.match(srcText, /Standard_B1/);
  assert.match(srcText, /UserAssigned/);
  assert.match(srcText, /chsm-identity/);
  assert.match(srcText, /5 handles: AES 1, EC 2, RSA 2/);
  assert.match(srcText, /cu1 \(CU\)/);
  assert.match(await dst.innerText(), /admin \(PRECO\)/);
  // storage, role assignments and fixtures are filled in too
  assert.match(await page.locator('#storage-body').innerText(), /drbackups[\s\S]*backups/);
  assert.match(await page.locator('#roles-body').innerText(), /Storage Blob Data Contributor/);
  assert.ok((await page.locator('#fixture-select option').allInnerTexts()).includes('tutorial-ready'));
  await shot('01-clusters');
});

test('a fault rule armed from the form is listed', async () => {
  await page.getByLabel('Rule id').fill('backup-fails');
  await page.getByLabel('Operation', { exact: true }).fill('cloudHsmClusters/backup');
  await page.getByLabel('Action', { exact: true }).selectOption('failOperation');
  await page.getByLabel('Error code').fill(FAULT_CODE);
  await page.getByLabel('Message', { exact: true }).fill('The dashboard test broke this backup');
  await page.getByLabel('Fail after (ms)').fill('8000');
  const preview = JSON.parse(await page.locator('#fault-preview').innerText());
  assert.deepEqual(preview.action, {
    type: 'failOperation', code: FAULT_CODE,
    message: 'The dashboard test broke this backup', afterMs: 8000,
  });
  await page.getByRole('button', { name: 'Add fault rule' }).click();
  const row = page.locator('tr[data-fault="backup-fails"]');
  await row.waitFor({ timeout: 10000 });
  assert.match(await row.innerText(), /failOperation/);
  assert.match(await page.locator('#notice').innerText(), /backup-fails armed/);
  // the rule really is armed: the documented API says so
  const rules = JSON.parse((await run(CHSMCTL, ['--data-dir', DATA, 'emulator', 'faults', 'list'])).stdout);
  const list = Array.isArray(rules) ? rules : rules.value;
  assert.ok(list.some((r) => r.id === 'backup-fails' && r.action.code === FAULT_CODE));
  await shot('02-fault-armed');
});

test('a backup started with chsmctl shows failing with the fault code', async () => {
  const { stdout } = await run(CHSMCTL, ['--data-dir', DATA, 'backup', 'start', 'chsm-src', '-g', 'dr-rg',
    '--account', 'drbackups', '--container', 'backups']);
  assert.match(stdout, /backupOperationStatus/i);
  const row = page.locator('#operations-body tr', { hasText: 'cloudHsmClusters/backup' });
  // the page notices the new operation on its own (its journal poll sees the
  // POST) and shows it running: the rule fails it only after 8 s...
  await row.waitFor({ timeout: 20000 });
  assert.match(await row.locator('[data-field="status"]').innerText(), /InProgress/);
  assert.match(await page.locator('#refresh-state').innerText(), /operations running/);
  await shot('03-backup-running');
  // ...then polls fast until it fails with the rule's code
  await page.waitForFunction((code) => {
    const r = Array.from(document.querySelectorAll('#operations-body tr'))
      .find((t) => t.textContent.includes('cloudHsmClusters/backup'));
    return r && r.querySelector('[data-field="status"]').textContent.includes('Failed') &&
      r.querySelector('[data-field="error"]').textContent.includes(code);
  }, FAULT_CODE, { timeout: 20000 });
  assert.match(await row.innerText(), /backup-fails/); // the fault rule that held it
  await shot('04-backup-failed');
});

test('reset empties the page', async () => {
  await page.getByRole('button', { name: 'Reset the emulator' }).click();
  await page.locator('#clusters-body', { hasText: 'No resource groups.' }).waitFor({ timeout: 15000 });
  await page.locator('#operations-body', { hasText: 'No operations yet.' }).waitFor({ timeout: 15000 });
  await page.locator('#faults-body', { hasText: 'No fault rules armed.' }).waitFor({ timeout: 15000 });
  assert.equal(await page.locator('article[data-cluster]').count(), 0);
  assert.match(await page.locator('#notice').innerText(), /reset/);
  await shot('05-reset');
});

test('loading a fixture from the page brings the clusters back', async () => {
  await page.getByLabel('Built-in fixture').selectOption('tutorial-ready');
  await page.getByRole('button', { name: 'Load fixture' }).click();
  await clusterCard('chsm-src').waitFor({ timeout: 30000 });
  await page.getByLabel('New snapshot name').fill('ready');
  await page.getByRole('button', { name: 'Save snapshot' }).click();
  await page.locator('#snapshot-select option', { hasText: 'ready' }).waitFor({ state: 'attached', timeout: 10000 });
  await shot('06-fixture-loaded');
});

test('a narrow window keeps everything inside the viewport', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px window`);
  await shot('07-narrow');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('keyboard and labels', async () => {
  await page.goto(`${ARM}/_emulator/ui`);
  await clusterCard('chsm-src').waitFor({ timeout: 15000 });
  // the first Tab reaches the skip link, and it moves focus to the content
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  // every form control has an accessible name
  const unnamed = await page.evaluate(() => Array.from(document.querySelectorAll('input, select, textarea, button'))
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  // landmarks
  for (const role of ['banner', 'navigation', 'main'])
    assert.ok(await page.getByRole(role).count() >= 1, `no ${role} landmark`);
  await page.keyboard.press('Tab');
  await shot('08-keyboard');
});

test('with --strict-auth the page asks for a token and works with an emulator-admin one', async () => {
  // a second emulator of its own, with --strict-auth
  const data = mkdtempSync(join(tmpdir(), 'chsm-dashboard-strict-'));
  const emu = spawn(EMULATOR, ['--listen', '127.0.0.1:0', '--blob-listen', '127.0.0.1:0', '--data-dir', data,
    '--log-level', 'warn', '--strict-auth', '--fixture', 'tutorial-ready'], { stdio: 'ignore' });
  let ctx;
  try {
    for (let i = 0; i < 200 && !existsSync(join(data, 'emulator.json')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const arm = JSON.parse(readFileSync(join(data, 'emulator.json'), 'utf8')).armUrl;
    const strict = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${spkiHash(data)}`],
    });
    ctx = strict;
    const p = await strict.newPage({ viewport: { width: 1280, height: 800 } });
    p.on('pageerror', (e) => problems.push(`page error (strict): ${e.message}`));
    await p.goto(`${arm}/_emulator/ui`);
    await p.locator('#banner', { hasText: '--strict-auth' }).waitFor({ timeout: 15000 });
    assert.equal(await p.locator('#token-box').getAttribute('open'), '');
    assert.equal(await p.locator('article[data-cluster]').count(), 0);
    await p.screenshot({ path: join(ARTIFACTS, '09-strict-auth.png'), fullPage: true });
    await p.getByRole('button', { name: 'Get an emulator-admin token' }).click();
    await p.locator('article[data-cluster="chsm-src"]').waitFor({ timeout: 15000 });
    assert.equal(await p.locator('#banner').innerText(), '');
    const stored = await p.evaluate(() => sessionStorage.getItem('chsm-dashboard-token'));
    assert.match(stored, /^ey/); // a JWT the emulator signed
    await p.screenshot({ path: join(ARTIFACTS, '10-strict-auth-token.png'), fullPage: true });
    // a token for another client is refused by the control surface
    await p.getByRole('button', { name: 'Forget token' }).click();
    await p.getByLabel('Bearer token').fill('not-a-token');
    await p.getByRole('button', { name: 'Use token' }).click();
    await p.locator('#banner', { hasText: 'emulator-admin' }).waitFor({ timeout: 15000 });
  } finally {
    if (ctx) await ctx.close();
    emu.kill('SIGTERM');
    await new Promise((r) => (emu.exitCode !== null ? r() : emu.once('exit', r)));
    rmSync(data, { recursive: true, force: true });
  }
});

test('no console errors or CSP violations', () => {
  assert.deepEqual(problems, []);
});
