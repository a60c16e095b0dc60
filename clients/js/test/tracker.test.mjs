// The tracker's delivery rules, against a scripted server (a fetch that answers as the
// platform's batch route does). The browser parts (IndexedDB, the page-hide beacon, tabs) are
// tested in Chromium against the real server (tests/test_tracker_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createTracker, MemoryStorage, retryDelay } from "../dist/tracker.js";

const EVENT = { eventType: "lesson_started", userId: "u1", courseId: "c1", lessonId: "l1" };

/** A server that answers each request with the next scripted status (then 200), and accepts
 * every event but those whose userId is "bad". */
function server(script = []) {
  const requests = [];
  const fetch = async (url, init) => {
    const body = JSON.parse(init.body);
    requests.push({ url, init, events: body.events, at: Date.now() });
    const step = script.shift();
    if (step === "network") throw new TypeError("network down");
    const status = typeof step === "object" ? step.status : step ?? 200;
    const headers = new Headers(typeof step === "object" ? step.headers : {});
    if (status !== 200) return new Response(JSON.stringify({ error: `status ${status}` }), { status, headers });
    const failed = body.events.filter((e) => e.userId === "bad").map((e) => ({ clientEventId: e.clientEventId, reason: "bad learner" }));
    const accepted = body.events.filter((e) => e.userId !== "bad").map((e) => e.clientEventId);
    return new Response(JSON.stringify({ accepted, duplicates: [], failed }), { status: 200 });
  };
  return { fetch, requests };
}

function tracker(fake, options = {}) {
  return createTracker({ endpoint: "https://analytics.example.org/", writeKey: "wk_test", storage: new MemoryStorage(), fetch: fake.fetch, flushIntervalMs: 20, ...options });
}

test("track fills in the id and time and refuses what is not an event", async () => {
  const t = tracker(server());
  const id = t.track({ ...EVENT });
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.throws(() => t.track(null), TypeError);
  assert.throws(() => t.track({ eventType: "x", userId: "u" }), TypeError);
  assert.throws(() => t.track({ ...EVENT, properties: 3 }), TypeError);
  assert.equal(t.track({ ...EVENT, clientEventId: "given" }), "given");
  assert.equal(await t.pendingCount(), 2);
  t.close();
});

test("flush sends in batches of at most maxBatchSize to the batch route with the key, and empties the queue", async () => {
  const fake = server();
  const t = tracker(fake, { maxBatchSize: 3, flushIntervalMs: 60_000 });
  for (let i = 0; i < 7; i += 1) t.track({ ...EVENT });
  await t.flush();
  assert.deepEqual(fake.requests.map((r) => r.events.length), [3, 3, 1]);
  assert.equal(fake.requests[0].url, "https://analytics.example.org/api/analytics/events/batch");
  assert.equal(fake.requests[0].init.headers.Authorization, "Bearer wk_test");
  assert.equal(fake.requests[0].init.credentials, "omit");
  assert.equal(await t.pendingCount(), 0);
  t.close();
});

test("an event the server fails goes to onFailed once and is never sent again", async () => {
  const fake = server();
  const failed = [];
  const t = tracker(fake, { onFailed: (event, reason) => failed.push([event.userId, reason]) });
  t.track({ ...EVENT, userId: "bad" });
  t.track({ ...EVENT });
  await t.flush();
  await t.flush();
  assert.deepEqual(failed, [["bad", "bad learner"]]);
  assert.equal(fake.requests.flatMap((r) => r.events).filter((e) => e.userId === "bad").length, 1);
  assert.equal(await t.pendingCount(), 0);
  t.close();
});

test("503, 429, 5xx and network errors are retried, waiting as long as Retry-After says", async () => {
  const fake = server([{ status: 503, headers: { "Retry-After": "1" } }, "network", 500, { status: 429, headers: { "Retry-After": "1" } }]);
  const t = tracker(fake);
  t.track({ ...EVENT });
  const started = Date.now();
  const realRandom = Math.random;
  Math.random = () => 0.01; // the jitter's share of the wait: small, so the server's wait shows
  try {
    await t.flush();
  } finally {
    Math.random = realRandom;
  }
  const times = fake.requests.map((r) => r.at - started);
  assert.equal(fake.requests.length, 5);
  assert.ok(times[1] >= 1000, `waited ${times[1]} ms after the 503's Retry-After: 1`);
  assert.ok(times[4] - times[3] >= 1000, "waited after the 429's Retry-After: 1");
  assert.equal(await t.pendingCount(), 0);
  t.close();
});

test("a 401 stops sending, says so once, and keeps the events", async () => {
  const fake = server([401, 401]);
  const said = [];
  const t = tracker(fake, { onUnauthorized: (message) => said.push(message) });
  t.track({ ...EVENT });
  await t.flush();
  t.track({ ...EVENT });
  await t.flush();
  assert.equal(fake.requests.length, 1);
  assert.deepEqual(said, ["status 401"]);
  assert.equal(await t.pendingCount(), 2);
  t.close();
});

test("a batch too large for the server is split", async () => {
  const fake = server([413]);
  const t = tracker(fake, { flushIntervalMs: 60_000 });
  for (let i = 0; i < 4; i += 1) t.track({ ...EVENT });
  await t.flush();
  assert.deepEqual(fake.requests.map((r) => r.events.length), [4, 2, 2]);
  t.close();
});

test("a batch stays under the server's 1 MiB", async () => {
  const fake = server();
  const t = tracker(fake, { flushIntervalMs: 60_000 });
  const padding = "x".repeat(300_000);
  for (let i = 0; i < 5; i += 1) t.track({ ...EVENT, properties: { padding } });
  await t.flush();
  assert.ok(fake.requests.every((r) => r.init.body.length < 1024 * 1024));
  assert.deepEqual(fake.requests.map((r) => r.events.length), [3, 2]);
  t.close();
});

test("a tracker created again on the same queue resumes sending what the first left", async () => {
  const storage = new MemoryStorage();
  const offline = server(["network", "network", "network"]);
  const first = tracker(offline, { storage, flushIntervalMs: 60_000 });
  const ids = [first.track({ ...EVENT }), first.track({ ...EVENT })];
  assert.equal(await first.pendingCount(), 2); // persisted
  first.close(); // the page went away before anything was answered
  const online = server();
  const second = tracker(online, { storage });
  assert.equal(await second.pendingCount(), 2);
  await second.flush();
  assert.deepEqual(online.requests.flatMap((r) => r.events.map((e) => e.clientEventId)).sort(), ids.sort());
  assert.equal(await second.pendingCount(), 0);
  second.close();
});

test("back-off grows with each attempt, is capped at 30 seconds, and waits at least what the server asks", () => {
  const most = () => 0.999;
  assert.ok(retryDelay(1, 0, most) < retryDelay(2, 0, most) && retryDelay(2, 0, most) < retryDelay(4, 0, most));
  assert.ok(retryDelay(30, 0, most) <= 30_000 && retryDelay(30, 0, most) > 29_000);
  assert.equal(retryDelay(1, 5000, () => 0), 5000);
  assert.equal(retryDelay(3, 0, () => 0), 0); // full jitter: a retry may go at once
});
