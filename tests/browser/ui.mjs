// ui.mjs: browser tests of `bookpipe serve`, with playwright-core driving
// Debian's chromium headless (a fresh profile, no network beyond loopback).
//
//   node ui.mjs URL ARTIFACTS_DIR USERS_COUNT
//
// Prints one "ok - name" or "not ok - name" line per check (tests/browser.sh
// counts them) and saves screenshots into ARTIFACTS_DIR.
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const [, , base, artifacts, usersCount, slowBase, failBase] = process.argv;
// playwright-core lives in web/node_modules (web/package-lock.json)
const { chromium } = createRequire(new URL('../../web/package.json', import.meta.url))('playwright-core');

let failed = 0;
const ok = (name) => console.log(`ok - ${name}`);
const notOk = (name, why) => {
  failed++;
  console.log(`not ok - ${name}`);
  if (why) console.log(String(why).split('\n').map((l) => `    ${l}`).join('\n'));
};
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) notOk(name, 'condition false');
    else ok(name);
  } catch (e) {
    notOk(name, e && e.message ? e.message : e);
  }
}
function assert(c, msg) { if (!c) throw new Error(msg); }

const profile = mkdtempSync(join(tmpdir(), 'bookpipe-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1400, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = ctx.pages()[0] || await ctx.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
page.setDefaultTimeout(30000);

// axe-core (web/node_modules, from web/package-lock.json): WCAG 2.1 A and AA
// rules on the page as it is; run through the DevTools protocol, which the
// page's CSP does not apply to
const axeSource = readFileSync(new URL('../../web/node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
async function axeViolations() {
  await page.evaluate(axeSource);
  return page.evaluate(async () => (await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }))
    .violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
}

const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
const ready = async (after) => page.waitForFunction(
  (a) => { const r = document.getElementById('main').dataset.ready; return r && r !== a; }, after ?? null);
const readyNow = () => page.evaluate(() => document.getElementById('main').dataset.ready);
const panelText = (id) => page.locator(`.panel[data-panel="${id}"] .panel-body`).innerText();

try {
  // ---- the books dashboard ----------------------------------------------------------
  await page.goto(`${base}/d/books`);
  await ready();
  await shot('dashboard');
  const apiDash = await (await page.request.get(`${base}/api/dashboards/books`)).json();
  const wanted = apiDash.dashboard.panels.filter((p) => p.type !== 'row').length;
  await check(`dashboard: all ${wanted} panels are on the page`, async () => {
    const n = await page.locator('.panel').count();
    assert(n === wanted, `${n} panels`);
  });
  await check('dashboard: no panel shows an error', async () => {
    const bad = await page.locator('.panel[data-state="error"]').allInnerTexts();
    assert(!bad.length, bad.join('\n'));
  });
  await check('dashboard: charts drew (a canvas with pixels for bar, pie and time series; SVG for gauges)', async () => {
    for (const t of ['barchart', 'piechart', 'timeseries']) {
      const painted = await page.locator(`.panel[data-type="${t}"] canvas`).first().evaluate((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
        return n;
      });
      assert(painted > 500, `${t}: only ${painted} painted pixels`);
    }
    for (const t of ['bargauge', 'gauge']) {
      const n = await page.locator(`.panel[data-type="${t}"] svg rect, .panel[data-type="${t}"] svg path`).count();
      assert(n > 1, `${t}: ${n} shapes`);
    }
  });
  await check('dashboard: the pie of ratings lists them 1 to 10, in number order', async () => {
    const labels = await page.locator('.panel[data-panel="7"] canvas').first().evaluate((c) => window.Chart.getChart(c).data.labels);
    assert(labels.join(',') === '1,2,3,4,5,6,7,8,9,10', labels.join(','));
  });
  await check('dashboard: the stat panels show numbers', async () => {
    const texts = await page.locator('.panel[data-type="stat"] .stat-value').allInnerTexts();
    assert(texts.length === 3 && texts.every((t) => /\d/.test(t)), JSON.stringify(texts));
  });
  await check('dashboard: a top book\'s title links to its book page, which shows it', async () => {
    const link = page.locator('.panel[data-panel="8"] td a[href^="/books/"]').first();
    const href = await link.getAttribute('href');
    const title = await link.innerText();
    await link.click();
    await page.waitForSelector('#book-title');
    assert((await page.innerText('#book-title')) === title, `${title} at ${href}`);
    assert(await page.locator('#similar').count() === 1, 'no readers-also-read list');
    await page.goBack();
    await ready();
  });
  await check('dashboard: the gridPos layout puts Ratings left of Books, in one row', async () => {
    const a = await page.locator('.panel[data-panel="1"]').boundingBox();
    const b = await page.locator('.panel[data-panel="2"]').boundingBox();
    assert(Math.abs(a.y - b.y) < 2 && b.x > a.x + a.width - 1, JSON.stringify([a, b]));
  });

  // ---- changing the country variable ----------------------------------------------------
  const before = await panelText(4);
  const options = await page.locator('#var-country option').evaluateAll((os) => os.map((o) => o.value));
  const current = await page.locator('#var-country').inputValue();
  const other = options.find((o) => o !== current && o !== '$__all');
  const r0 = await readyNow();
  await page.selectOption('#var-country', other);
  await ready(r0);
  await shot('dashboard-country');
  await check(`dashboard: choosing country "${other}" puts it in the URL`, async () => {
    const u = new URL(page.url());
    assert(u.searchParams.get('var-country') === other, page.url());
  });
  await check('dashboard: and changes the top-books table', async () => {
    const after = await panelText(4);
    assert(after !== before, 'the table did not change');
    const title = await page.locator('.panel[data-panel="4"] .panel-title').innerText();
    assert(title.includes(other), title);
  });
  await check('dashboard: a URL with var-country opens with that value', async () => {
    await page.goto(`${base}/d/books?var-country=${encodeURIComponent(other)}`);
    await ready();
    assert(await page.locator('#var-country').inputValue() === other, 'not selected');
  });
  await check('dashboard: a text box value is a string, not SQL', async () => {
    const r = await readyNow();
    await page.fill('#var-title_search', "'; DROP TABLE books_schema.users; --");
    await page.press('#var-title_search', 'Enter');
    await ready(r);
    const rows = await page.locator('.panel[data-panel="14"] tbody tr').count();
    assert(rows === 0, `${rows} rows`);
    assert(await page.locator('.panel[data-panel="14"][data-state="done"]').count() === 1, 'panel errored');
  });

  // ---- dropped-in dashboards: data values are text; a Grafana 11 export -----------------
  await page.goto(`${base}/d/xss`);
  await ready();
  await check('dashboard: a title holding <script> shows as text and runs nothing', async () => {
    const cell = await page.locator('.panel[data-panel="1"] td').first().innerText();
    assert(cell.startsWith('<script>'), cell);
    assert(await page.evaluate(() => window.__xss === undefined), 'script ran');
    assert(await page.locator('.panel-body script, .panel-body img').count() === 0, 'markup got in');
  });
  await page.goto(`${base}/d/fe3k2b9x0qvb4e`);
  await ready();
  await shot('grafana11');
  await check('dashboard: the Grafana 11 export renders (All selected, chart drawn, no errors)', async () => {
    assert(await page.locator('#var-countries option[value="$__all"]').evaluate((o) => o.selected), 'All not selected');
    assert(await page.locator('.panel[data-panel="2"] canvas').count() === 1, 'no chart');
    assert(await page.locator('.panel[data-state="error"]').count() === 0, 'a panel errored');
  });
  await check('dashboard: opening a collapsed row (a button: Enter opens it) shows its panels', async () => {
    assert(await page.locator('.panel[data-panel="4"]').count() === 0, 'shown before opening');
    const r = await readyNow();
    await page.focus('.row-head[data-panel="3"]');
    await page.keyboard.press('Enter');
    await ready(r);
    assert(await page.locator('.panel[data-panel="4"][data-state="done"]').count() === 1, 'not shown');
  });

  // ---- a Grafana-shaped time series dashboard (tests/web/timeseries.json) -----------------------
  await page.goto(`${base}/d/bp-timeseries`);
  await ready();
  await shot('timeseries');
  const chartOf = (id) => page.locator(`.panel[data-panel="${id}"] canvas`).first().evaluate((c) => {
    const ch = window.Chart.getChart(c);
    return ch.data.datasets.map((d) => ({ label: d.label, ys: d.data.map((p) => p.y), color: d.borderColor }));
  });
  await check('timeseries: long rows (time, host, value) become one series per host, named by it', async () => {
    const ds = await chartOf(1);
    assert(ds.map((d) => d.label).join(',') === 'alpha,beta,gamma', ds.map((d) => d.label).join(','));
    assert(ds[2].color === '#f2495c', `the byName override's fixed red: ${ds[2].color}`);
  });
  await check('timeseries: the table legend shows each series with its max and last', async () => {
    const rows = await page.locator('.panel[data-panel="1"] .legend-table tbody tr').allInnerTexts();
    assert(rows.map((r) => r.replace(/\s+/g, ' ').trim()).join('|') === 'alpha 360 360|beta 720 720|gamma 1.08 K 1.08 K', rows.join('|'));
  });
  await check('timeseries: $__timeGroup with fill 0 adds the missing hours as zeros', async () => {
    const ds = await chartOf(2);
    assert(ds[0].ys.join(',') === '60,0,60,0,60,0,1', ds[0].ys.join(','));
  });
  await check('timeseries: the tooltip shows every series at the hovered time (shared crosshair)', async () => {
    const box = await page.locator('.panel[data-panel="1"] canvas').first().boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const n = await page.locator('.panel[data-panel="1"] canvas').first().evaluate((c) => window.Chart.getChart(c).tooltip.dataPoints.length);
    assert(n === 3, `${n} series in the tooltip`);
  });
  await check('timeseries: value mappings (value, special, regex), units and organize/sortBy as Grafana shows them', async () => {
    const head = await page.locator('.panel[data-panel="3"] thead').innerText();
    const rows = await page.locator('.panel[data-panel="3"] tbody tr').allInnerTexts();
    const norm = rows.map((r) => r.split('\t').map((x) => x.trim()).join('|'));
    assert(head.includes('Uptime') && !head.includes('secs'), head);
    assert(norm[0] === 'WARN|59 seconds|999 B/s|4 MB|1.50 ms|2024-01-02 00:00|ex', norm[0]);
    assert(norm[1] === 'OK|1 hour, 1 minute, 1 second|1.54 MB/s|2.50 MB|250 µs|2024-01-01 00:00|none', norm[1]);
    const bg = await page.locator('.panel[data-panel="3"] tbody tr td').first().evaluate((td) => td.style.background);
    assert(/255, 152, 48|#ff9830/.test(bg), `WARN's mapped colour: ${bg}`);
  });
  await check('timeseries: reduce, joinByField + calculateField + filterFieldsByName, groupBy and merge', async () => {
    const t = async (id) => (await page.locator(`.panel[data-panel="${id}"] tbody tr`).allInnerTexts()).map((r) => r.split('\t').map((x) => x.trim()).join('|')).join(' / ');
    assert(await t(6) === 'alpha|360|7 / beta|358|7 / gamma|359|7', `reduce: ${await t(6)}`);
    assert(await t(22) === 'alpha|718.5 / beta|719.5 / gamma|720.5', `join: ${await t(22)}`);
    assert(await t(9) === 'alpha|121|360 / beta|120|358 / gamma|120|359', `groupBy: ${await t(9)}`);
    assert(await t(10) === 'x|1|2', `merge: ${await t(10)}`);
  });
  await check('timeseries: a time series without a time column shows Grafana\'s error; an empty result says No data', async () => {
    assert((await page.locator('.panel[data-panel="12"] .panel-error').innerText()).includes('time column is missing'), 'no error');
    assert((await page.locator('.panel[data-panel="13"] .no-data').innerText()) === 'No data', 'no No data');
  });
  await check('timeseries: a panel repeated by a variable (h, maxPerRow 3), a row repeated with its panel', async () => {
    const stats = await page.locator('.panel[data-panel^="15"]').allInnerTexts();
    assert(stats.map((t) => t.replace(/\s*⋮\s*/, ' ').replace(/\s+/g, ' ').trim()).join('|') === 'Points of alpha 121|Points of beta 120|Points of gamma 120', stats.join('|'));
    const boxes = await Promise.all(['15', '15-1', '15-2'].map((k) => page.locator(`.panel[data-panel="${k}"]`).boundingBox()));
    assert(boxes[0].y === boxes[2].y && boxes[0].x < boxes[1].x && boxes[1].x < boxes[2].x, 'not side by side');
    const rows = await page.locator('.row-head[data-panel^="18"]').allInnerTexts();
    assert(rows.join('|') === 'Host alpha|Host beta|Host gamma', rows.join('|'));
    const maxes = await page.locator('.panel[data-panel^="19"] .stat-value').allInnerTexts();
    assert(maxes.join(',') === '360,358,359', maxes.join(','));
  });
  await check('timeseries: panel links (a javascript: one is not made a link) and data links with the row and range', async () => {
    const links = await page.locator('.panel[data-panel="16"] .panel-links a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert(links.length === 1 && links[0] === 'https://grafana.com/docs/grafana/latest/', links.join(' '));
    const href = await page.locator('.panel[data-panel="16"] tbody tr td a').first().getAttribute('href');
    assert(href === `/d/bp-timeseries?var-host=alpha&from=${Date.UTC(2024, 0, 1)}&to=${Date.UTC(2024, 0, 1, 6)}&n=480`, href);
  });
  await check('timeseries: seriesToRows, sortBy, limit and a row total (calculateField reduceRow)', async () => {
    const rows = (await page.locator('.panel[data-panel="21"] tbody tr').allInnerTexts()).map((r) => r.split('\t').map((x) => x.trim()).join('|'));
    assert(rows.join(' / ') === '2024-01-01 06:00:00|alpha|360|360 / 2024-01-01 03:00:00|alpha|357|357', rows.join(' / '));
  });
  await check('timeseries: the dashboard\'s shared crosshair (graphTooltip 1) marks the hovered time on the other charts', async () => {
    const box = await page.locator('.panel[data-panel="1"] canvas').first().boundingBox();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
    const n = await page.locator('.panel[data-panel="2"] canvas').first().evaluate((c) => window.Chart.getChart(c).getActiveElements().length);
    assert(n === 1, `${n} points active on the other chart`);
  });
  await check('timeseries: a treemap draws a rectangle per row, the largest first', async () => {
    const r = await page.locator('.panel[data-panel="17"] .treemap-cell').evaluateAll((cs) => cs.map((c) => [c.firstChild.textContent, c.offsetWidth * c.offsetHeight]));
    assert(r.map((x) => x[0]).join(',') === 'gamma,beta,alpha' && r[0][1] >= r[1][1] && r[1][1] >= r[2][1], JSON.stringify(r));
  });
  await check('timeseries: the panel menu inspects the data (a table, CSV download) and the query as run', async () => {
    await page.click('.panel[data-panel="9"] .panel-menu-btn');
    await page.click('.panel[data-panel="9"] .panel-menu [role="menuitem"]:has-text("Inspect data")');
    await page.waitForSelector('dialog#inspect[open]');
    const head = await page.locator('dialog#inspect thead').first().innerText();
    assert(head.replace(/\s+/g, ' ').trim() === 'host v (count) v (max)', head);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('dialog#inspect .inspect-csv')]);
    const csv = readFileSync(await dl.path(), 'utf8');
    assert(csv.startsWith('host,v (count),v (max)\r\nalpha,121,360\r\n'), csv.slice(0, 80));
    await page.click('dialog#inspect [role="tab"][data-tab="query"]');
    const sql = await page.locator('dialog#inspect pre.sql-text').first().innerText();
    assert(sql.includes('WHERE t BETWEEN $1 AND $2'), sql.slice(0, 200));
    await page.keyboard.press('Escape');
    assert(await page.locator('dialog#inspect').count() === 0, 'Escape did not close it');
  });
  await check('timeseries: v over a panel shows it alone (viewPanel in the URL); Escape comes back', async () => {
    await page.hover('.panel[data-panel="6"] .panel-body');
    let r = await readyNow();
    await page.keyboard.press('v');
    await ready(r);
    assert(new URL(page.url()).searchParams.get('viewPanel') === '6', page.url());
    assert(await page.locator('.panel').count() === 1, 'more than one panel in view');
    r = await readyNow();
    await page.keyboard.press('Escape');
    await ready(r);
    assert(!new URL(page.url()).searchParams.get('viewPanel') && await page.locator('.panel').count() > 10, 'not back');
  });
  await check('timeseries: the accessibility check (axe-core, WCAG 2.1 AA) finds nothing', async () => {
    const v = await axeViolations();
    assert(!v.length, v.join('\n'));
  });
  await check('timeseries: the time and refresh controls are reached with Tab, in order', async () => {
    await page.focus('#time-quick');
    const seen = [];
    for (let i = 0; i < 5; i++) { await page.keyboard.press('Tab'); seen.push(await page.evaluate(() => document.activeElement.id)); }
    assert(seen.join(',') === 'time-from,time-to,time-apply,refresh-every,refresh-now', seen.join(','));
  });
  await check('timeseries: a quick range goes into the URL (from, to) and redraws with it', async () => {
    const r = await readyNow();
    await page.selectOption('#time-quick', { label: 'Last 24 hours' });
    await ready(r);
    const u = new URL(page.url());
    assert(u.searchParams.get('from') === 'now-24h' && u.searchParams.get('to') === 'now', page.url());
    assert(await page.locator('.panel[data-panel="4"] .stat-value').innerText() === '0', 'the 2024 data is out of the last day');
  });
  await check('timeseries: an absolute range typed in and applied', async () => {
    const r = await readyNow();
    await page.fill('#time-from', '2024-01-01 03:00:00');
    await page.fill('#time-to', '2024-01-01 06:00:00');
    await page.click('#time-apply');
    await ready(r);
    const u = new URL(page.url());
    assert(u.searchParams.get('from') === String(Date.UTC(2024, 0, 1, 3)), page.url());
    const n = await page.locator('.panel[data-panel="4"] .stat-value').innerText();
    assert(n === '181', `03:00 to 06:00 shifted 2 h back holds 181 minutes, not ${n}`);
  });
  await check('timeseries: auto-refresh goes into the URL and the refresh button redraws', async () => {
    await page.selectOption('#refresh-every', '1m');
    assert(new URL(page.url()).searchParams.get('refresh') === '1m', page.url());
    const r = await readyNow();
    await page.click('#refresh-now');
    await ready(r);
    await page.selectOption('#refresh-every', '');
  });

  // ---- older panel models (graph, singlestat, the old table's styles), as Grafana migrates them
  await page.goto(`${base}/d/bp-legacy`);
  await ready();
  await shot('legacy');
  await check('legacy: a graph panel with an old table legend, an interval variable quoted in the macro', async () => {
    const title = await page.locator('.panel[data-panel="1"] .panel-title').innerText();
    const rows = await page.locator('.panel[data-panel="1"] .legend-table tbody tr').allInnerTexts();
    const head = await page.locator('.panel[data-panel="1"] .legend-table thead').innerText();
    assert(title.includes('(10m)'), title);
    assert(head.replace(/\s+/g, ' ').trim() === 'Name Mean Max', head);
    assert(rows.map((r) => r.split('\t')[0].trim()).join(',') === 'cpu,mem', rows.join('|'));
    const ds = await chartOf(1);
    assert(ds[0].ys.length === 13 && ds[1].color === '#8AB8FF', `${ds[0].ys.length} points of 10 min; mem ${ds[1].color}`);
  });
  await check('legacy and books dashboards: the accessibility check finds nothing', async () => {
    const v = await axeViolations();
    await page.goto(`${base}/d/books`);
    await ready();
    const w = await axeViolations();
    await page.goto(`${base}/d/bp-legacy`);
    await ready();
    assert(!v.length && !w.length, [...v, ...w].join('\n'));
  });
  await check('legacy: a singlestat with a value map and thresholds', async () => {
    assert(await page.locator('.panel[data-panel="2"] .stat-value').innerText() === 'ALL GOOD', 'not mapped');
  });
  await check('legacy: an old table\'s styles: alias, date format, hidden column, unit and decimals', async () => {
    const head = await page.locator('.panel[data-panel="3"] thead').innerText();
    const rows = await page.locator('.panel[data-panel="3"] tbody tr').allInnerTexts();
    assert(head.replace(/\s+/g, ' ').trim() === 'When Value', head);
    /* the dashboard's timezone (Asia/Kolkata, UTC+05:30) shows its dates */
    assert(rows[1].split('\t').map((x) => x.trim()).join('|') === '2024-01-01 05:31|1.0%', rows[1]);
    const shown = await page.innerText('#range-shown');
    assert(shown === '2024-01-01 05:30:00 to 2024-01-01 07:30:00 Asia/Kolkata', shown);
  });

  // ---- explore ------------------------------------------------------------------------------
  await page.goto(`${base}/explore`);
  await page.waitForSelector('#tree details[data-table="books_schema.users"]');
  await check('explore: the tree lists tables with row counts', async () => {
    const t = await page.locator('#tree details[data-table="books_schema.users"] summary').innerText();
    assert(t.replace(/[,.\s]/g, '').includes(`${usersCount}rows`), t);
  });
  await page.fill('#sql', 'SELECT count(*) AS n FROM users');
  await page.click('#run-sql');
  await page.waitForSelector('#grid td');
  await shot('explore');
  await check('explore: a query shows its result and the query time', async () => {
    assert(await page.locator('#grid td').first().innerText() === usersCount, 'wrong count');
    assert(/rows? · [\d.]+ ms/.test(await page.innerText('#query-info')), 'no time');
  });
  await check('explore: results are paged and downloadable as CSV', async () => {
    await page.fill('#sql', 'SELECT user_id, location FROM users ORDER BY user_id LIMIT 250');
    await page.click('#run-sql');
    await page.waitForSelector('#page');
    assert((await page.innerText('#page')) === 'page 1 of 3', await page.innerText('#page'));
    assert(await page.locator('#grid tbody tr').count() === 100, 'page size');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = readFileSync(await dl.path(), 'utf8').trim().split('\r\n');
    assert(csv[0] === 'user_id,location' && csv.length === 251, `${csv[0]} / ${csv.length} lines`);
  });
  await check('explore: DROP TABLE gets the database\'s read-only error', async () => {
    const mark = consoleErrors.length;
    await page.fill('#sql', 'DROP TABLE books_schema.users');
    await page.click('#run-sql');
    await page.waitForSelector('#result .box-error');
    const msg = await page.innerText('#result .box-error');
    assert(/read-only/i.test(msg), msg);
    // the browser logs the API's 400 for the refused statement: expected here
    const refused = consoleErrors.splice(mark).filter((m) => !/status of 400/.test(m));
    consoleErrors.push(...refused);
  });

  await check('explore: a value holding markup shows as text in the grid', async () => {
    await page.fill('#sql', `SELECT '<img src=x onerror="window.__xss=3">' AS t, '<script>window.__xss=4</script>' AS u`);
    await page.click('#run-sql');
    await page.waitForFunction(() => (document.querySelector('#grid td') || {}).innerText?.startsWith('<img'));
    const cells = await page.locator('#grid td').allInnerTexts();
    assert(cells[0].startsWith('<img') && cells[1].startsWith('<script>'), JSON.stringify(cells));
    assert(await page.locator('#grid img, #grid script').count() === 0, 'markup got in');
    assert(await page.evaluate(() => window.__xss === undefined), 'script ran');
  });

  await check('explore: several statements show a result each', async () => {
    await page.fill('#sql', 'SELECT 1 AS a;\nSELECT 2 AS b, 3 AS c');
    await page.click('#run-sql');
    await page.waitForSelector('#result .stmt-result');
    const heads = await page.locator('#result h3').allInnerTexts();
    const cells = await page.locator('#result .stmt-result td').allInnerTexts();
    assert(heads.length === 2 && cells.join(',') === '1,2,3', `${heads.join('|')} / ${cells.join(',')}`);
  });
  await check('explore: an error is shown in monospace and its place is marked in the editor', async () => {
    const mark = consoleErrors.length;
    await page.fill('#sql', 'SELECT 1;\nSELECT nosuch FROM users');
    await page.click('#run-sql');
    await page.waitForSelector('#result pre.sql-error');
    const font = await page.locator('#result pre.sql-error').evaluate((e) => getComputedStyle(e).fontFamily);
    const sel = await page.evaluate(() => [document.getElementById('sql').selectionStart, document.getElementById('sql').selectionEnd]);
    const where = await page.innerText('#result .box-error');
    assert(/mono/i.test(font), font);
    assert(sel[0] === 17 && sel[1] === 18, `selection ${sel}`);
    assert(where.includes('line 2, column 8'), where);
    consoleErrors.push(...consoleErrors.splice(mark).filter((m) => !/status of 400/.test(m)));
  });
  await check('explore: EXPLAIN is shown as a plan', async () => {
    await page.fill('#sql', 'EXPLAIN SELECT count(*) FROM users');
    await page.click('#run-sql');
    await page.waitForSelector('#result pre.plan');
    const plan = await page.innerText('#result pre.plan');
    assert(plan.split('\n').length > 3 && /┌|SCAN|Seq Scan/.test(plan), plan.slice(0, 200));
  });
  await check('explore: a wide result scrolls in its grid; the editor stays in the window', async () => {
    const cols = Array.from({ length: 60 }, (_, i) => `'a fairly long value number ${i}' AS column_number_${i}`).join(', ');
    await page.fill('#sql', `SELECT ${cols}`);
    await page.click('#run-sql');
    await page.waitForSelector('#grid td');
    const box = await page.locator('#sql').boundingBox();
    const vw = await page.evaluate(() => window.innerWidth);
    const grid = await page.locator('.result-grid').evaluate((g) => [g.scrollWidth, g.clientWidth]);
    assert(box.x + box.width <= vw && grid[0] > grid[1], `editor right edge ${box.x + box.width} of ${vw}; grid ${grid}`);
  });
  await check('explore: the query and its result are kept across rooms; tabs keep their own query', async () => {
    await page.fill('#sql', 'SELECT 42 AS answer');
    await page.click('#run-sql');
    await page.waitForSelector('#grid td');
    await page.click('a[href="/pipeline"]');
    await page.waitForSelector('#dag .node');
    await page.click('a[href="/explore"]');
    await page.waitForSelector('#grid td');
    assert(await page.inputValue('#sql') === 'SELECT 42 AS answer', await page.inputValue('#sql'));
    assert(await page.locator('#grid td').first().innerText() === '42', 'result lost');
    await page.click('#new-tab');
    assert(await page.inputValue('#sql') === '', 'a new tab is empty');
    await page.fill('#sql', 'SELECT 7 AS seven');
    await page.locator('#query-tabs button[data-tab]').first().click();
    assert(await page.inputValue('#sql') === 'SELECT 42 AS answer', 'the first tab lost its query');
    await page.reload();
    await page.waitForSelector('#query-tabs button[data-tab]');
    assert(await page.locator('#query-tabs button[data-tab]').count() === 2, 'tabs not kept over a reload');
  });
  await check('explore: the history lists what ran; a click puts it back in the editor', async () => {
    await page.click('.history-box summary');
    const items = await page.locator('#history .hist').allInnerTexts();
    assert(items[0] === 'SELECT 42 AS answer', items.slice(0, 3).join(' | '));
    await page.locator('#history .hist').nth(1).click();
    assert((await page.inputValue('#sql')).startsWith('SELECT '), await page.inputValue('#sql'));
  });
  await check('explore: Export all streams every row past the row cap as CSV', async () => {
    await page.fill('#sql', 'SELECT i FROM range(25000) r(i)');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const lines = readFileSync(await dl.path(), 'utf8').trim().split('\r\n');
    assert(lines.length === 25001 && lines[0] === 'i' && lines[25000] === '24999', `${lines.length} lines`);
  });
  await check('explore: a table\'s column statistics', async () => {
    await page.locator('#tree details[data-table="books_schema.users"] summary').click();
    await page.locator('#tree details[data-table="books_schema.users"] .stats-btn:not(.select-btn)').click();
    await page.waitForSelector('#tree details[data-table="books_schema.users"] table.stats td');
    const row = await page.locator('#tree details[data-table="books_schema.users"] table.stats tbody tr').first().innerText();
    assert(row.split('\t')[0] === 'user_id' && row.split('\t')[3] === usersCount, row);
  });
  await check('explore: the accessibility check finds nothing', async () => {
    const v = await axeViolations();
    assert(!v.length, v.join('\n'));
  });

  // ---- the pipeline -------------------------------------------------------------------------
  await page.goto(`${base}/pipeline`);
  await page.waitForSelector('#dag .node');
  await page.waitForSelector('#runs table, #runs p');
  await check('pipeline: the DAG shows each block with its last status', async () => {
    const st = await page.locator('#dag .node').evaluateAll((ns) => ns.map((n) => n.dataset.status));
    const pl = await (await page.request.get(`${base}/api/pipeline`)).json();
    const want = pl.blocks.map((b) => (b.last ? b.last.status : 'none'));
    assert(st.length === 8 && want.every((s) => s !== 'none') && JSON.stringify(st) === JSON.stringify(want),
      `${JSON.stringify(st)} vs ${JSON.stringify(want)}`);
    assert(await page.locator('#dag path.edge').count() >= 6, 'edges');
  });
  const runsBefore = await page.locator('#runs tbody tr').count();
  await check('pipeline: the schedule and its next run are shown', async () => {
    const t = await page.innerText('#schedule');
    assert(t.includes('0 3 * * *') && t.includes('next run'), t);
  });
  await page.click('#run-now');
  await check('pipeline: a run started here is seen while it goes (a block running, others queued)', async () => {
    await page.waitForSelector('#live-blocks tbody tr[data-status="running"]', { timeout: 60000 });
    const states = await page.locator('#live-blocks tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.status));
    assert(states.length === 8 && states.includes('running'), states.join(','));
  });
  await page.waitForFunction((n) => document.querySelectorAll('#runs tbody tr').length > n, runsBefore, { timeout: 180000 });
  await shot('pipeline');
  await check('pipeline: Run now adds a run with trigger web', async () => {
    const first = page.locator('#runs tbody tr').first();
    assert(await first.locator('td.trigger').innerText() === 'web', 'trigger');
    const st = await first.locator('.status').innerText();
    assert(st === 'completed', st);
  });
  await check('pipeline: a run shows its block runs and their logs', async () => {
    await page.locator('#runs tbody tr').first().click();
    await page.waitForSelector('#block-runs tbody tr');
    assert(await page.locator('#block-runs tbody tr').count() === 8, 'block rows');
    await page.locator('#block-runs tbody tr').nth(1).click();
    await page.waitForSelector('pre.log');
    await shot('run');
  });
  await check('pipeline: a run has a timeline of its blocks (Gantt) and the DAG shows that run', async () => {
    assert(await page.locator('#gantt rect.gantt-bar:not(.gantt-node)').count() === 8, 'block bars');
    assert(await page.locator('#gantt rect.gantt-node').count() >= 15, 'the dbt blocks\' nodes under them');
    const st = await page.locator('#dag .node').evaluateAll((ns) => ns.map((n) => n.dataset.status));
    assert(st.every((x) => x === 'completed' || x === 'skipped'), st.join(','));
  });
  await check('pipeline: duration and rows across runs are charted', async () => {
    await page.goto(`${base}/pipeline`);
    await page.waitForSelector('#trend-duration');
    const n = await page.locator('#trend-duration').evaluate((c) => window.Chart.getChart(c).data.labels.length);
    assert(n >= 2, `${n} runs`);
    const sets = await page.locator('#trend-rows').evaluate((c) => window.Chart.getChart(c).data.datasets.map((d) => d.label));
    assert(sets.join(',') === 'rows in,rows out', sets.join(','));
  });
  await check('pipeline: Cancel stops a run started here (a slow pipeline on a second server); it is recorded as cancelled', async () => {
    assert(slowBase, 'the second server did not start');
    await page.goto(`${slowBase}/pipeline`);
    await page.waitForSelector('#runs table, #runs p');
    const before = await page.locator('#runs tbody tr').count();
    await page.click('#run-now');
    await page.waitForSelector('#live-blocks tbody tr[data-status="running"]', { timeout: 30000 });
    await page.waitForSelector('#live-log', { timeout: 5000 });
    const tail = await page.innerText('#live-log');
    assert(tail.includes('waiting, at the start of the wait block'), `live log: ${tail}`);
    await page.click('#run-cancel');
    await page.waitForFunction((n) => document.querySelectorAll('#runs tbody tr').length > n, before, { timeout: 60000 });
    const st = await page.locator('#runs tbody tr').first().locator('.status').innerText();
    assert(st === 'cancelled', st);
    await page.goto(`${base}/pipeline`);
    await page.waitForSelector('#runs table, #runs p');
  });
  await check('pipeline: a run whose dbt model fails shows that model and dbt\'s error first (a third server)', async () => {
    assert(failBase, 'the third server did not start');
    await page.goto(`${failBase}/pipeline`);
    await page.waitForSelector('#runs table, #runs p');
    const before = await page.locator('#runs tbody tr').count();
    await page.click('#run-now');
    await page.waitForFunction((n) => document.querySelectorAll('#runs tbody tr').length > n, before, { timeout: 60000 });
    await page.locator('#runs tbody tr').first().click();
    await page.waitForSelector('#run-detail .failed-nodes li');
    const first = await page.locator('#run-detail .run-failure').first().innerText();
    assert(first.startsWith('models failed:') && /broken \(model, error\): .*nosuch_table/.test(first), first.slice(0, 300));
    await shot('run-failed-model');
    await page.goto(`${base}/pipeline`);
    await page.waitForSelector('#runs table, #runs p');
  });
  await check('pipeline: the schedule pauses and resumes from the page', async () => {
    await page.click('#schedule-toggle');
    await page.waitForFunction(() => document.getElementById('schedule').innerText.includes('paused'));
    await page.click('#schedule-toggle');
    await page.waitForFunction(() => document.getElementById('schedule').innerText.includes('next run'));
  });
  await check('pipeline: the dbt models\' lineage; a model shows its SQL, compiled SQL, columns and tests', async () => {
    await page.click('a[href="/pipeline/models"]');
    await page.waitForSelector('#model-dag .node');
    assert(await page.locator('#model-dag .node').count() >= 10, 'nodes');
    assert(await page.locator('#model-gantt rect.gantt-bar').count() >= 10, 'the last dbt command on a timeline');
    await page.locator('#model-dag .node[data-block="model.book_ratings.top_books"]').click();
    await page.waitForSelector('#model-sql');
    const sql = await page.innerText('#model-sql');
    const compiled = await page.innerText('#model-compiled');
    assert(/select/i.test(sql) && /books_schema\.|from/i.test(compiled), `${sql.slice(0, 80)} / ${compiled.slice(0, 80)}`);
    assert(await page.locator('#model-columns tbody tr').count() > 2, 'columns');
    assert(await page.locator('#model-tests li').count() >= 1, 'tests');
    const reads = await page.innerText('#model-reads');
    assert(/^Reads from: stg_\w+, stg_\w+$/.test(reads), reads);
    await shot('model');
    const v = await axeViolations();
    assert(!v.length, v.join('\n'));
  });

  await check('pipeline: a run log and error holding markup show as text', async () => {
    await page.goto(`${base}/pipeline`);
    await page.waitForSelector('#runs tbody tr');
    const rows = page.locator('#runs tbody tr');
    const n = await rows.count();
    let found = false;
    for (let i = 0; i < n && !found; i++) {
      if ((await rows.nth(i).innerText()).includes('xss')) {
        await rows.nth(i).click();
        found = true;
      }
    }
    assert(found, 'the xss run is not listed');
    await page.waitForSelector('#block-runs tbody tr');
    const err = await page.locator('#block-runs').innerText();
    await page.locator('#block-runs tbody tr').first().click();
    await page.waitForSelector('pre.log');
    const log = await page.locator('pre.log').innerText();
    assert(log.includes('<img src=x onerror=window.__xss=1>'), log.slice(0, 300));
    assert(await page.locator('#block-runs img, #block-runs script, #block-runs b, pre.log img, pre.log b').count() === 0,
      'markup got in');
    assert(await page.evaluate(() => window.__xss === undefined), 'script ran');
    assert(err.length > 0, 'no block runs');
    await shot('run-xss');
  });
  await check('pipeline: a failed run shows the failing block and its error first', async () => {
    const box = await page.locator('#run-detail .run-failure').first().innerText();
    assert(box.startsWith('markup failed:'), box.slice(0, 120));
  });
  await check('pipeline: Re-run the failed blocks asks for them and what follows (here refused: not in this pipeline)', async () => {
    await page.click('#rerun-failed');
    await page.waitForSelector('#live .box-error');
    const t = await page.innerText('#live .box-error');
    assert(t.includes('did not start') && t.includes('markup'), t);
  });
  await check('pipeline: the accessibility check finds nothing', async () => {
    const v = await axeViolations();
    assert(!v.length, v.join('\n'));
  });

  await check('no console errors on any page', async () => {
    assert(!consoleErrors.length, consoleErrors.join('\n'));
  });
} catch (e) {
  notOk('browser tests ran to the end', e.stack || e);
  await shot('failure').catch(() => {});
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
