// The demo chat's page as people use it in headless Chromium, for the browser
// tests of the demo (demo_browser.test.mjs on one server, demo_cluster.test.mjs
// on a cluster): a browser, a person who opens the page and says hello, and
// what they see (status, members, messages), each waited for UI_MS at most.
//
// Browser: /usr/bin/chromium (Debian's `chromium`, scripts/install-deps), or
// $HUBBUB_CHROMIUM.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.HUBBUB_CHROMIUM || '/usr/bin/chromium';
export const UI_MS = 10000; // each expectation on the page

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/install-deps) or set HUBBUB_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new person (own browser context: own storage) who opens the chat. */
export async function person(browser, url, nick, viewport = { width: 1100, height: 720 }) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  const res = await page.goto(url + '/');
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /^text\/html/);
  await page.locator('#nick').fill(nick);
  await page.locator('#nick-form button[type=submit]').click();
  await page.locator('#login').waitFor({ state: 'hidden', timeout: UI_MS });
  await expectText(page, '#status', 'connected');
  await page.locator('#text:enabled').waitFor({ timeout: UI_MS });
  return { page, ctx, problems, nick };
}

/** Waits until the element's text (trimmed) equals or matches want. */
export async function expectText(page, selector, want) {
  const loc = page.locator(selector);
  try {
    await page.waitForFunction(([sel, w, isRe]) => {
      const e = document.querySelector(sel);
      if (!e) return false;
      const t = e.textContent.trim();
      return isRe ? new RegExp(w).test(t) : t === w;
    }, [selector, want instanceof RegExp ? want.source : want, want instanceof RegExp], { timeout: UI_MS });
  } catch {
    const got = await loc.count() ? await loc.first().textContent() : '(no element)';
    assert.fail(`${selector}: wanted ${want}, shows ${JSON.stringify(got)}`);
  }
}

export const members = (p) => p.page.locator('#members li').evaluateAll((lis) => lis.map((li) => li.dataset.nick));

export async function expectMembers(p, want) {
  const sorted = [...want].sort();
  try {
    await p.page.waitForFunction((w) => {
      const got = [...document.querySelectorAll('#members li')].map((li) => li.dataset.nick).sort();
      return JSON.stringify(got) === JSON.stringify(w);
    }, sorted, { timeout: UI_MS });
  } catch {
    assert.fail(`${p.nick} sees members ${JSON.stringify(await members(p))}, wanted ${JSON.stringify(sorted)}`);
  }
}

/** The messages a person's page shows, as { from, text } (system: from null). */
export const shown = (p) => p.page.locator('#messages').evaluate((box) =>
  [...box.querySelectorAll('.msg, .sys')].map((e) => (e.classList.contains('sys')
    ? { from: null, text: e.firstChild.textContent }
    : { from: e.dataset.from, text: e.querySelector('.text').textContent })));

export async function expectMessage(p, from, text) {
  try {
    await p.page.waitForFunction(([f, t]) => [...document.querySelectorAll('#messages .msg')]
      .some((e) => e.dataset.from === f && e.querySelector('.text').textContent === t), [from, text], { timeout: UI_MS });
  } catch {
    assert.fail(`${p.nick} does not show ${from}: ${JSON.stringify(text)}; shows ${JSON.stringify(await shown(p))}`);
  }
}

/** p types text in the composer and sends it with Enter. */
export async function send(p, text) {
  await p.page.locator('#text').fill(text);
  await p.page.locator('#text').press('Enter');
}

/** Waits until p's page shows a system message containing text. */
export async function expectSystem(p, text) {
  await p.page.locator('#messages .sys', { hasText: text }).waitFor({ timeout: UI_MS });
}
