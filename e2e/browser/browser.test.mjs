// The TypeScript client in a real browser: headless Chromium loads a tiny
// page from http://localhost:3000 (the default CORS_ORIGINS) that calls
// todo-api on another port, and goes through create → list → edit → toggle
// → delete, checking the DOM after each step. Two pages of one user stay in
// step through the client's subscribe() within a second, and a page of
// another user sees none of it. The same page from
// http://127.0.0.1:3001 must be refused by the browser (CORS), and the docs
// page must work with nothing but the binary. Run: node --test browser/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

import { launch } from "../lib/chromium.mjs";
import { startTodoAPI } from "../lib/todo-api.mjs";

const allowed = "http://localhost:3000";
const disallowed = "http://127.0.0.1:3001";
const user = "alice";
// The live pages' users: two pages of the first, one of the second.
const liveUsers = ["carol", "dave"];

let api, browser, servers, page;
const consoleLines = [];

before(async () => {
  api = await startTodoAPI({ CORS_ORIGINS: allowed });
  const token = api.token(user);
  const bundle = (entry) =>
    build({
      entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
      bundle: true,
      format: "iife",
      target: "es2022",
      write: false,
      logLevel: "warning",
    }).then((b) => b.outputFiles[0].contents);
  const tokens = Object.fromEntries(liveUsers.map((u) => [u, api.token(u)]));
  const files = {
    "/": ["text/html", readFileSync(new URL("page/index.html", import.meta.url))],
    "/app.js": ["text/javascript", await bundle("page/app.ts")],
    "/live.html": ["text/html", readFileSync(new URL("page/live.html", import.meta.url))],
    "/live.js": ["text/javascript", await bundle("page/live.ts")],
    "/config.js": [
      "text/javascript",
      `window.TODO_CONFIG = ${JSON.stringify({ apiBase: api.baseUrl, userId: user, token })};\n` +
        `window.TODO_LIVE = ${JSON.stringify({ apiBase: api.baseUrl, tokens })};`,
    ],
  };
  const serve = (req, res) => {
    const file = files[new URL(req.url, "http://x").pathname];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": file[0], "Cache-Control": "no-store" }).end(file[1]);
  };
  // localhost may resolve to ::1 or 127.0.0.1: serve the allowed origin on both.
  servers = await Promise.all([
    listen(serve, 3000, "127.0.0.1"),
    listen(serve, 3000, "::1").catch(() => null), // no IPv6 loopback here
    listen(serve, 3001, "127.0.0.1"),
  ]);
  browser = await launch();
  page = await browser.context.newPage();
  page.on("console", (msg) => consoleLines.push(msg.text()));
});

after(async () => {
  await browser?.close();
  for (const s of servers ?? []) s?.close();
  await api?.stop();
});

function listen(handler, port, host) {
  return new Promise((done, fail) => {
    const srv = createServer(handler);
    srv.once("error", (err) => fail(new Error(`cannot serve ${host}:${port}: ${err.message}`)));
    srv.listen(port, host, () => done(srv));
  });
}

// settled waits until the page's last action and the list refresh after it are done.
async function settled() {
  await page.waitForSelector('body[data-busy="false"]');
  const error = await page.textContent("#error");
  assert.equal(error, "", `the page shows an error: ${error}`);
}

async function items() {
  return page.$$eval("#tasks li", (lis) =>
    lis.map((li) => ({
      id: Number(li.dataset.id),
      title: li.querySelector(".title")?.textContent ?? null,
      done: li.querySelector(".toggle").checked,
      className: li.className,
    })),
  );
}

/** The responses the page logged since mark, as the page saw them. */
async function responses(mark = 0) {
  const log = (await page.textContent("#log")).trim();
  return log === "" ? [] : log.split("\n").slice(mark).map((l) => JSON.parse(l));
}

let created;

test("create → list → edit → toggle → delete from an allowed origin", async (t) => {
  await page.goto(`${allowed}/`);
  await settled();
  assert.equal(await page.textContent("#summary"), "0 tasks");

  await t.test("create", async () => {
    const mark = (await responses()).length;
    await page.fill("#title", "Buy milk");
    await page.click("#new-task button");
    await settled();
    const list = await items();
    assert.equal(list.length, 1);
    assert.equal(list[0].title, "Buy milk");
    assert.equal(list[0].done, false);
    assert.equal(await page.textContent("#summary"), "1 task");
    created = list[0];
    const [post] = await responses(mark);
    assert.equal(post.method, "POST");
    assert.equal(post.status, 201);
    // Exposed by CORS, so the page's script can read them:
    assert.equal(post.headers.Location, `/api/${user}/tasks/${created.id}`);
    assert.equal(post.headers.ETag, `"${created.id}-1"`);
    assert.match(post.headers["X-Request-ID"], /^[0-9a-f]{32}$/);
  });

  await t.test("list", async () => {
    await page.reload();
    await settled();
    assert.deepEqual(await items(), [created]);
    const [get] = await responses();
    assert.equal(get.status, 200);
    assert.equal(get.headers["X-Total-Count"], "1");
  });

  await t.test("edit", async () => {
    const mark = (await responses()).length;
    await page.click(`li[data-id="${created.id}"] .edit`);
    await page.fill(`li[data-id="${created.id}"] .edit-title`, "Buy oat milk");
    await page.click(`li[data-id="${created.id}"] .save`);
    await settled();
    const [li] = await items();
    assert.equal(li.title, "Buy oat milk");
    const [patch] = await responses(mark);
    assert.equal(patch.method, "PATCH");
    assert.equal(patch.status, 200);
    assert.equal(patch.headers.ETag, `"${created.id}-2"`);
    // The page sent If-Match with the ETag it held (a preflighted header).
    assert.equal(await page.getAttribute(`li[data-id="${created.id}"]`, "data-etag"), `"${created.id}-2"`);
  });

  await t.test("toggle", async () => {
    const mark = (await responses()).length;
    await page.check(`li[data-id="${created.id}"] .toggle`);
    await settled();
    const [li] = await items();
    assert.equal(li.done, true);
    assert.equal(li.className, "done");
    const [toggle] = await responses(mark);
    assert.match(toggle.url, /\/toggle$/);
    assert.equal(toggle.headers.ETag, `"${created.id}-3"`);
  });

  await t.test("delete", async () => {
    const mark = (await responses()).length;
    await page.click(`li[data-id="${created.id}"] .delete`);
    await settled();
    assert.deepEqual(await items(), []);
    assert.equal(await page.textContent("#summary"), "0 tasks");
    const [del] = await responses(mark);
    assert.equal(del.method, "DELETE");
    assert.equal(del.status, 204);
  });
});

test("the same page from a disallowed origin is refused by the browser", async () => {
  consoleLines.length = 0;
  await page.goto(`${disallowed}/`);
  await page.waitForSelector('body[data-busy="false"]');
  assert.equal(await page.textContent("#error"), "network: Failed to fetch");
  assert.deepEqual(await items(), []);
  assert.equal(await page.textContent("#log"), "", "no response reached the page's script");
  assert.ok(
    consoleLines.some((l) => l.includes("blocked by CORS policy")),
    `Chromium did not report a CORS refusal; console:\n${consoleLines.join("\n")}`,
  );
});

test("the docs page works from the binary alone, and can try a call with a token", async () => {
  const requests = [];
  const onRequest = (req) => requests.push(req.url());
  page.on("request", onRequest);
  consoleLines.length = 0;
  try {
    await page.goto(`${api.baseUrl}/docs`);
    await page.waitForSelector("#operations-tasks-listTasks");
    assert.match(await page.textContent(".info .title"), /todo-api/);

    // Paste a token, then try POST /api/{user_id}/tasks with the document's example body.
    await page.click(".auth-wrapper .authorize");
    await page.fill(".modal-ux input", api.token(user));
    await page.click('.modal-ux button[type="submit"]');
    await page.click(".modal-ux .btn-done");
    const op = "#operations-tasks-createTask";
    await page.click(`${op} .opblock-summary`);
    await page.click(`${op} .try-out__btn`);
    await page.fill(`${op} tr[data-param-name="user_id"] input`, user);
    await page.click(`${op} .execute`);
    const status = await page.waitForSelector(`${op} .live-responses-table tbody .response-col_status`);
    assert.equal((await status.textContent()).trim(), "201");
    assert.match(await page.textContent(`${op} .live-responses-table tbody .response-col_description`), /"title": "Buy milk"/);

    const origin = new URL(api.baseUrl).origin;
    const foreign = requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith("data:"));
    assert.deepEqual(foreign, [], "the docs page asked another origin");
    assert.ok(requests.some((u) => u.endsWith("/openapi.json")));
    assert.ok(requests.some((u) => u.includes(`/api/${user}/tasks`)), "Try it out sent no request");
    const refused = consoleLines.filter((l) => l.includes("Content Security Policy"));
    assert.deepEqual(refused, [], "the page tried something its Content-Security-Policy refuses");
  } finally {
    page.off("request", onRequest);
  }
});

/** The JSON lines of a page's log (#events or #acks). */
async function lines(p, selector) {
  const text = (await p.textContent(selector)).trim();
  return text === "" ? [] : text.split("\n").map((l) => JSON.parse(l));
}

/** Waits until p's log has more than n lines, and returns line n. */
async function lineAfter(p, selector, n, timeout) {
  await p.waitForFunction(
    ([sel, count]) => document.querySelector(sel).textContent.trim().split("\n").filter(Boolean).length > count,
    [selector, n],
    // Not on animation frames (the default), which a page in the
    // background gets seldom.
    { timeout, polling: 20 },
  );
  return (await lines(p, selector))[n];
}

test("two pages of one user stay in step within 1 s; a page of another user sees nothing", async (t) => {
  const [writer, reader, stranger] = await Promise.all([1, 2, 3].map(() => browser.context.newPage()));
  const pages = { writer, reader, stranger };
  try {
    await Promise.all([
      writer.goto(`${allowed}/live.html?user=${liveUsers[0]}`),
      reader.goto(`${allowed}/live.html?user=${liveUsers[0]}`),
      stranger.goto(`${allowed}/live.html?user=${liveUsers[1]}`),
    ]);
    for (const [name, p] of Object.entries(pages)) {
      await p.waitForSelector('body[data-live="open"]', { timeout: 5000 });
      assert.equal(await p.textContent("#error"), "", `${name} shows an error`);
    }

    // Playwright's clicks wait for animation frames, which only the page
    // in front gets often; the others still read their streams at once.
    await writer.bringToFront();

    // step does one write in the writer page and checks that the reader
    // page got its event within a second of the write's answer (and the
    // writer page got it too, before the next step redraws its list).
    const step = async (act, type) => {
      const acks = (await lines(writer, "#acks")).length;
      const seen = (await lines(reader, "#events")).length;
      const own = (await lines(writer, "#events")).length;
      await act();
      const ack = await lineAfter(writer, "#acks", acks, 5000);
      assert.ok(ack.status >= 200 && ack.status < 300, `the write answered ${JSON.stringify(ack)}`);
      const ev = await lineAfter(reader, "#events", seen, 5000);
      assert.equal(ev.type, type);
      const delay = ev.at - ack.at;
      assert.ok(delay < 1000, `${type} reached the other page ${delay} ms after the write's answer`);
      t.diagnostic(`${type}: ${delay} ms`);
      assert.equal((await lineAfter(writer, "#events", own, 5000)).type, type);
      return ev.id;
    };

    const id = await step(async () => {
      await writer.fill("#title", "Buy milk");
      await writer.click("#new-task button");
    }, "task.created");
    const li = `#tasks li[data-id="${id}"]`;
    assert.equal(await reader.inputValue(`${li} .title`), "Buy milk");

    assert.equal(await step(async () => {
      await writer.fill(`${li} .title`, "Buy oat milk");
      await writer.click(`${li} .save`);
    }, "task.updated"), id);
    assert.equal(await reader.inputValue(`${li} .title`), "Buy oat milk");
    assert.equal(await reader.getAttribute(li, "data-version"), "2");

    assert.equal(await step(() => writer.check(`${li} .toggle`), "task.updated"), id);
    assert.equal(await reader.isChecked(`${li} .toggle`), true);
    assert.equal(await reader.getAttribute(li, "class"), "done");

    assert.equal(await step(() => writer.click(`${li} .delete`), "task.deleted"), id);
    assert.equal(await reader.$$eval("#tasks li", (l) => l.length), 0);

    // A reminder due in about 2 s: the reader page's onReminder shows it,
    // within a second of remind_at (and not before it).
    const reminded = await step(async () => {
      await writer.fill("#title", "Call the plumber");
      await writer.fill("#remind-in", "2");
      await writer.click("#new-task button");
    }, "task.created");
    const shown = await reader.waitForSelector(`#reminders li[data-id="${reminded}"]`, { timeout: 5000 });
    const at = Number(await shown.getAttribute("data-at"));
    const due = Date.parse(await shown.getAttribute("data-remind-at"));
    assert.equal(await shown.getAttribute("data-late"), "false");
    assert.equal(await shown.textContent(), "Call the plumber");
    assert.ok(at >= due && at - due < 1000, `the reminder showed ${at - due} ms after remind_at`);
    t.diagnostic(`reminder: ${at - due} ms after remind_at`);
    await writer.waitForSelector(`#reminders li[data-id="${reminded}"]`, { timeout: 2000 });
    assert.equal(await reader.$$eval("#reminders li", (l) => l.length), 1);

    // The other user's page, open all along, got no event and shows nothing.
    assert.deepEqual(await lines(stranger, "#events"), []);
    assert.equal(await stranger.$$eval("#tasks li, #reminders li", (l) => l.length), 0);
    for (const [name, p] of Object.entries(pages)) {
      assert.equal(await p.textContent("#error"), "", `${name} shows an error`);
    }
  } finally {
    await Promise.all(Object.values(pages).map((p) => p.close()));
  }
});
