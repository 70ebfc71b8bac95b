// books.mjs: the book, reader and search pages of `bookpipe serve` in a
// headless Chromium (playwright-core), on a warehouse made by tests/rec.sh
// from a handful of hand-written rows, one book titled with a <script>.
//
//   node books.mjs URL ISBN_OF_THE_SCRIPT_BOOK ITS_NEIGHBOUR USER
//
// One "ok - name" or "not ok - name" line per check.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const [, , base, isbn, neighbour, user] = process.argv;
const { chromium } = createRequire(new URL('../../web/package.json', import.meta.url))('playwright-core');

const ok = (name) => console.log(`ok - ${name}`);
const notOk = (name, why) => console.log(`not ok - ${name}\n    ${String(why).split('\n').join('\n    ')}`);
async function check(name, fn) {
  try { await fn(); ok(name); } catch (e) { notOk(name, e && e.message ? e.message : e); }
}
function assert(c, msg) { if (!c) throw new Error(msg); }

const profile = mkdtempSync(join(tmpdir(), 'bookpipe-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const page = ctx.pages()[0] || await ctx.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.setDefaultTimeout(20000);
try {
  await page.goto(`${base}/books/${isbn}`);
  await page.waitForSelector('#book-title');
  await check('books: a title holding <script> shows as text on the book page and runs nothing', async () => {
    const t = await page.innerText('#book-title');
    assert(t === '<script>window.__xss=5</script>', t);
    assert(await page.evaluate(() => window.__xss === undefined), 'script ran');
    assert(await page.locator('main script').count() === 0, 'markup got in');
  });
  await check('books: the book page lists what its readers also read, nearest first', async () => {
    const first = await page.locator('#similar li').first().getAttribute('data-isbn');
    assert(first === neighbour, `${first} vs ${neighbour}`);
  });
  await check('books: a similar book links to its own page', async () => {
    await page.locator('#similar li a.book-title').first().click();
    await page.waitForFunction((i) => location.pathname === `/books/${i}`, neighbour);
    await page.waitForSelector('#book-title');
    assert((await page.innerText('.facts')).includes(neighbour), 'its ISBN shown');
  });
  await check('books: the search box finds the book by a word of its title', async () => {
    await page.fill('#search', 'xss');
    await page.press('#search', 'Enter');
    await page.waitForSelector('#hits li');
    assert(await page.locator(`#hits li[data-isbn="${isbn}"]`).count() === 1, 'not listed');
    assert(await page.evaluate(() => window.__xss === undefined), 'script ran');
  });
  await check('books: a reader id in the search box leads to the reader', async () => {
    await page.fill('#search', user);
    await page.press('#search', 'Enter');
    await page.click('#user-hit');
    await page.waitForSelector('#user-title');
    const recs = await page.locator('#recommended li').count();
    assert(recs > 0, 'no recommendations');
    const because = await page.locator('#recommended .because').count();
    assert(because > 0, 'no "because you read"');
    assert(await page.locator('#rated tbody tr').count() > 0, 'no rated books');
  });
  await check('books: the accessibility check finds nothing on the reader and book pages', async () => {
    // axe-core (web/node_modules): WCAG 2.1 A and AA, run through the DevTools protocol
    const axe = readFileSync(new URL('../../web/node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
    const run = async () => {
      await page.evaluate(axe);
      return page.evaluate(async () => (await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }))
        .violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
    };
    const onUser = await run();
    await page.goto(`${base}/books/${isbn}`);
    await page.waitForSelector('#book-title');
    const onBook = await run();
    assert(!onUser.length && !onBook.length, [...onUser, ...onBook].join('\n'));
  });
  await check('books: no script errors on these pages', async () => { assert(errors.length === 0, errors.join('\n')); });
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
