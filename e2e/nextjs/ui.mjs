// The Next.js example (examples/nextjs) in headless Chromium, as a person
// uses it: two users sign up through the pages; A creates, edits, completes
// and deletes a task while a second page of A must show each change live;
// a page of A without the stream has a stale write refused (412, If-Match);
// B sees none of A's tasks; a reminder due in a few seconds shows in-page
// and as a browser notification. A screenshot of each step goes to
// $SCREENSHOTS. nextjs_test.go starts the app and todo-api and runs this with
//
//	WEB_URL=http://127.0.0.1:PORT SCREENSHOTS=DIR node e2e/nextjs/ui.mjs
import assert from "node:assert/strict";
import { join } from "node:path";

import { chromium } from "playwright-core";

import { executablePath, flags } from "../lib/chromium.mjs";

const web = required("WEB_URL");
const shots = required("SCREENSHOTS");
// How long a change may take to reach the other page.
const liveWithin = 5_000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let n = 0;
async function shot(page, name) {
  n++;
  const file = join(shots, `${String(n).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

function step(what) {
  console.log(`step: ${what}`);
}

const browser = await chromium.launch({ executablePath, headless: true, args: flags });
try {
  await run();
  console.log("ok: every step passed");
} finally {
  await browser.close();
}

async function run() {
  const alice = await userContext();
  const bob = await userContext();

  step("A signs up through the page");
  const a1 = await alice.newPage();
  await signUp(a1, "Alice", "alice@example.com");
  step("a second page of A");
  const a2 = await alice.newPage();
  await openTasks(a2);
  await expectEmpty(a1);
  await shot(a1, "a-signed-up-empty");

  step("B signs up");
  const b = await bob.newPage();
  await signUp(b, "Bob", "bob@example.com");
  await expectEmpty(b);

  step("A creates a task");
  await a1.getByLabel("New task").fill("Buy milk");
  await a1.getByLabel("Priority").first().selectOption("high");
  await a1.getByLabel("Tags").fill("Home, errands");
  await a1.getByRole("button", { name: "Add task" }).click();
  await expectTitles(a1, ["Buy milk"]);
  await expectTitles(a2, ["Buy milk"], liveWithin);
  await expectStat(a1, "Pending", 1);
  await expectStat(a2, "Pending", 1);
  await shot(a1, "a-created");
  await shot(a2, "a-second-page-sees-create");

  step("A edits it (PATCH with If-Match)");
  await item(a1, "Buy milk").getByRole("button", { name: "Edit" }).click();
  const form = a1.getByRole("form", { name: "Edit Buy milk" });
  await form.getByLabel("Title").fill("Buy oat milk");
  await form.getByLabel("Description").fill("2 litres");
  await shot(a1, "a-editing");
  await form.getByLabel("Title").press("Enter");
  await expectTitles(a1, ["Buy oat milk"]);
  await expectTitles(a2, ["Buy oat milk"], liveWithin);
  await item(a2, "Buy oat milk").getByText("2 litres").waitFor({ timeout: liveWithin });
  await shot(a2, "a-second-page-sees-edit");

  step("A completes it with the keyboard");
  await item(a1, "Buy oat milk").getByRole("checkbox").focus();
  await a1.keyboard.press("Space");
  await waitChecked(a1, "Buy oat milk", true, 2_000);
  await waitChecked(a2, "Buy oat milk", true, liveWithin);
  await expectStat(a2, "Completed", 1);
  await shot(a2, "a-second-page-sees-complete");

  step("filters and search");
  await a1.getByLabel("New task").fill("Call the plumber");
  await a1.getByRole("button", { name: "Add task" }).click();
  await expectTitles(a2, ["Call the plumber", "Buy oat milk"], liveWithin);
  await a1.getByLabel("Show").selectOption("pending");
  await expectTitles(a1, ["Call the plumber"]);
  await a1.getByLabel("Show").selectOption("all");
  await a1.getByLabel("Search").fill("OAT");
  await expectTitles(a1, ["Buy oat milk"]);
  await shot(a1, "a-search");
  await a1.getByLabel("Search").fill("");
  await expectTitles(a1, ["Call the plumber", "Buy oat milk"]);

  step("a page that missed a change: its write is refused (412) and it shows the current version");
  const stale = await alice.newPage();
  await stale.route("**/events*", (route) => route.abort()); // no live updates on this page
  await stale.goto(web);
  await expectTitles(stale, ["Call the plumber", "Buy oat milk"]);
  await item(a1, "Call the plumber").getByRole("button", { name: "Edit" }).click();
  const plumber = a1.getByRole("form", { name: "Edit Call the plumber" });
  await plumber.getByLabel("Description").fill("before 9");
  await plumber.getByRole("button", { name: "Save" }).click();
  await item(a2, "Call the plumber").getByText("before 9").waitFor({ timeout: liveWithin });
  assert.equal(await item(stale, "Call the plumber").getByText("before 9").count(), 0, "the stale page got the change");
  await item(stale, "Call the plumber").getByRole("checkbox").click();
  await stale.getByTestId("error").getByText("changed elsewhere").waitFor({ timeout: 5_000 });
  await item(stale, "Call the plumber").getByText("before 9").waitFor({ timeout: 5_000 });
  await waitChecked(stale, "Call the plumber", false, 5_000);
  await waitChecked(a2, "Call the plumber", false, 1_000);
  await shot(stale, "a-stale-page-412");
  await stale.close();

  step("B sees none of A's tasks");
  await b.reload();
  await openTasks(b);
  await expectEmpty(b);
  await b.getByLabel("New task").fill("Bob's own task");
  await b.getByRole("button", { name: "Add task" }).click();
  await expectTitles(b, ["Bob's own task"]);
  await expectStat(b, "Total", 1);
  await shot(b, "b-sees-only-own");
  await a2.waitForTimeout(1_000); // a leaked event would have arrived by now
  await expectTitles(a2, ["Call the plumber", "Buy oat milk"]);

  step("A deletes the task");
  await item(a1, "Buy oat milk").getByRole("button", { name: "Delete" }).click();
  await expectTitles(a1, ["Call the plumber"]);
  await expectTitles(a2, ["Call the plumber"], liveWithin);
  await shot(a2, "a-second-page-sees-delete");

  step("a reminder due in a few seconds");
  const remindAt = await a1.evaluate(() => {
    const d = new Date(Date.now() + 4_000);
    const pad = (v) => String(v).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  });
  await a1.getByLabel("New task").fill("Water the plants");
  await a1.getByLabel("Remind me at").first().fill(remindAt);
  await a1.getByRole("button", { name: "Add task" }).click();
  await expectTitles(a1, ["Water the plants", "Call the plumber"]);
  await expectStat(a1, "Reminders set", 1);
  for (const page of [a1, a2]) {
    await page.getByTestId("notices").getByText("Reminder: Water the plants").waitFor({ timeout: 15_000 });
  }
  await expectStat(a1, "Reminders set", 0);
  await shot(a1, "a-reminder-in-page");
  const shown = await a1.evaluate(() => window.__notifications);
  assert.deepEqual(shown, [{ title: "Task reminder", body: "Water the plants" }], "the browser notification");
  await b.waitForTimeout(500);
  assert.equal(await b.getByTestId("notices").textContent(), "", "B got A's reminder");
  await expectTitles(b, ["Bob's own task"]);

  step("signed out, the tasks page sends to sign-in");
  await b.getByRole("button", { name: "Sign out" }).click();
  await b.waitForURL(`${web}/sign-in`);
  await b.goto(web);
  await b.waitForURL(`${web}/sign-in`);
  await shot(b, "b-signed-out");
}

// userContext is a browser profile of its own (its own cookies) that may
// show notifications; every Notification the page makes is recorded in
// window.__notifications, since a headless browser shows none.
async function userContext() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  await context.grantPermissions(["notifications"], { origin: web });
  await context.addInitScript(() => {
    const Native = window.Notification;
    window.__notifications = [];
    window.Notification = class extends Native {
      constructor(title, options) {
        super(title, options);
        window.__notifications.push({ title, body: options?.body });
      }
    };
  });
  context.on("weberror", (e) => console.log(`page error: ${e.error().message}`));
  context.on("console", (msg) => msg.type() === "error" && console.log(`browser console: ${msg.text()}`));
  return context;
}

async function signUp(page, name, email) {
  await page.goto(web);
  await page.waitForURL(`${web}/sign-in`); // signed out: the tasks page redirects
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await shot(page, `sign-up-${name.toLowerCase()}`);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${web}/`);
  await openTasks(page);
  assert.equal(await page.getByTestId("user-name").textContent(), name);
}

// openTasks waits until the tasks page is on screen and its stream is open.
async function openTasks(page) {
  if (page.url() !== `${web}/`) await page.goto(web);
  await page.getByRole("heading", { name: "Tasks" }).waitFor();
  await page.locator('[data-live="live"]').waitFor({ timeout: 10_000 });
  await page.getByTestId("stats").waitFor();
}

function item(page, title) {
  return page.getByTestId("tasks").getByRole("listitem").filter({ has: page.getByText(title, { exact: true }) });
}

async function titles(page) {
  return page.$$eval('[data-testid="tasks"] li .title', (els) => els.map((e) => e.textContent));
}

async function expectTitles(page, want, within = 3_000) {
  await until(page, within, async () => JSON.stringify(await titles(page)) === JSON.stringify(want), async () => `titles ${JSON.stringify(await titles(page))}, want ${JSON.stringify(want)}`);
  assert.equal(await page.getByTestId("error").textContent(), "", "the page shows an error");
}

async function expectEmpty(page) {
  await page.getByTestId("empty").waitFor({ timeout: 5_000 });
  assert.deepEqual(await titles(page), []);
}

async function waitChecked(page, title, want, within) {
  const box = item(page, title).getByRole("checkbox");
  await until(page, within, async () => (await box.isChecked()) === want, async () => `${title} checked: ${await box.isChecked()}, want ${want}`);
}

async function expectStat(page, name, want) {
  const cell = page.locator(`[data-stat="${name}"]`);
  await until(page, 5_000, async () => (await cell.textContent()) === String(want), async () => `${name} is ${await cell.textContent()}, want ${want}`);
}

async function until(page, within, cond, describe) {
  const deadline = Date.now() + within;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) {
      await shot(page, "failed");
      assert.fail(`${page.url()}: ${await describe()} (after ${within} ms)`);
    }
    await page.waitForTimeout(100);
  }
}
