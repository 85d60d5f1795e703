import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import process from "node:process";
import { Readable } from "node:stream";
import {
  HttpError,
  NetworkError,
  QueueFullError,
  Session,
  SessionClosedError,
  type SessionOptions,
  TimeoutError,
} from "../mod.ts";
import { startServer } from "./_server.ts";
import { onRequests, tcpServer } from "./_tcp.ts";
import { delay, runtime, test, waitFor } from "./_test.ts";

test("Session: 50 sequential GETs use 1 connection", async () => {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url });
  for (let i = 0; i < 50; i++) {
    const echo = await session.get(`items/${i}`).json<{ url: string }>();
    assert.equal(echo.url, `/items/${i}`);
  }
  assert.equal(server.accepted, 1);
});

test("Session: 200 concurrent GETs with limit 10 stay within 10 sockets", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 5, body: "ok" } },
  });
  await using session = new Session({ baseUrl: server.url, limit: 10 });
  const bodies = await Promise.all(
    Array.from({ length: 200 }, () => session.get("slow").text()),
  );
  assert.equal(bodies.length, 200);
  assert.ok(bodies.every((body) => body === "ok"));
  assert.ok(server.peakOpen <= 10, `peak open sockets ${server.peakOpen}`);
  assert.ok(
    server.peakActive <= 10,
    `peak active requests ${server.peakActive}`,
  );
  assert.ok(server.accepted <= 10, `accepted ${server.accepted}`);
  assert.ok(server.peakActive >= 5, `the limit was used: ${server.peakActive}`);
});

test("Session: 2,000 GETs 1,000 at a time with limit 100 reuse their connections", async () => {
  await using server = await startServer({
    routes: { "/item": { body: { id: 42 } } },
  });
  await using session = new Session({ baseUrl: server.url, limit: 100 });
  let next = 0;
  const worker = async () => {
    while (next < 2_000) {
      next++;
      const item = await session.get("item").json<{ id: number }>();
      assert.equal(item.id, 42);
    }
  };
  await Promise.all(Array.from({ length: 1_000 }, worker));
  // Bun keeps at most 64 idle keep-alive sockets: its adapter runs 64 at
  // once, or Bun would close connections and the session open new ones.
  const most = runtime === "bun" ? 64 : 100;
  assert.ok(server.peakOpen <= most, `peak open sockets ${server.peakOpen}`);
  assert.ok(server.accepted <= most, `accepted ${server.accepted}`);
});

test("Session: limitPerHost holds per origin over two origins", async () => {
  await using a = await startServer({
    routes: { "/slow": { delay: 10, body: "a" } },
  });
  await using b = await startServer({
    routes: { "/slow": { delay: 10, body: "b" } },
  });
  await using session = new Session({ limitPerHost: 2 });
  const calls = [];
  for (let i = 0; i < 20; i++) {
    calls.push(
      session.get(`${a.url}/slow`).text(),
      session.get(`${b.url}/slow`).text(),
    );
  }
  const results = await Promise.all(calls);
  assert.equal(results.filter((r) => r === "a").length, 20);
  assert.equal(results.filter((r) => r === "b").length, 20);
  for (const server of [a, b]) {
    assert.ok(server.peakActive <= 2, `peak ${server.peakActive}`);
    assert.ok(server.accepted <= 2, `accepted ${server.accepted}`);
    assert.equal(server.peakActive, 2, "both slots used");
  }
});

test("Session.close() closes every socket and rejects new requests", async () => {
  await using server = await startServer();
  const session = new Session({ baseUrl: server.url });
  await Promise.all(Array.from({ length: 5 }, () => session.get("x").json()));
  assert.ok(server.open >= 1);
  await session.close();
  assert.equal(session.closed, true);
  await waitFor(() => server.open === 0, { message: "sockets closed" });
  await assert.rejects(session.get("x"), SessionClosedError);
  await session.close(); // idempotent
});

test("Session.close() lets requests in flight finish", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 100, body: "done" } },
  });
  const session = new Session({ baseUrl: server.url });
  const inFlight = session.get("slow").text();
  await delay(20);
  const closing = session.close();
  await assert.rejects(session.get("slow"), SessionClosedError);
  assert.equal(await inFlight, "done");
  await closing;
  await waitFor(() => server.open === 0, { message: "sockets closed" });
});

test("Session.close() does not hang on an unread body", async () => {
  await using server = await startServer({
    routes: { "/big": { bodySize: 1_000_000 } },
  });
  const session = new Session({ baseUrl: server.url });
  const response = await session.get("big");
  assert.equal(response.status, 200);
  await session.close();
  await assert.rejects(response.text(), SessionClosedError);
  await waitFor(() => server.open === 0, { message: "sockets closed" });
});

test("Session: await using closes the session when the block throws", async () => {
  await using server = await startServer();
  let escaped: Session | undefined;
  await assert.rejects(async () => {
    await using session = new Session({ baseUrl: server.url });
    escaped = session;
    await session.get("x").json();
    throw new Error("boom");
  }, { message: "boom" });
  assert.equal(escaped?.closed, true);
  await waitFor(() => server.open === 0, { message: "sockets closed" });
});

test("Session.destroy() aborts requests in flight at once", async () => {
  await using server = await startServer({
    routes: { "/stall": { stall: true } },
  });
  const session = new Session({ baseUrl: server.url });
  const stalled = session.get("stall");
  const queued = session.get("stall");
  await waitFor(() => server.requests.length === 2, {
    message: "requests sent",
  });
  const started = Date.now();
  const rejected = [
    assert.rejects(stalled, SessionClosedError),
    assert.rejects(queued, SessionClosedError),
  ];
  await session.destroy();
  await Promise.all(rejected);
  assert.ok(Date.now() - started < 2_000);
  await session.destroy(); // idempotent
  await waitFor(() => server.open === 0, { message: "sockets closed" });
});

test("Session: timeout raises TimeoutError", async () => {
  await using server = await startServer({
    routes: { "/stall": { stall: true } },
  });
  await using session = new Session({ baseUrl: server.url, timeout: 100 });
  const error = await session.get("stall").then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.timeout, 100);
  assert.match(
    error.message,
    /timed out after 100 ms: GET http:\/\/127\.0\.0\.1:\d+\/stall$/,
  );
  // A per-request timeout overrides the session's.
  const slow = await session.get("stall", { timeout: 50 }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(slow instanceof TimeoutError);
  assert.equal(slow.timeout, 50);
});

test("Session: mixed timeouts each fire in order, and finished requests never fire", async () => {
  await using server = await startServer({
    routes: { "/stall": { stall: true }, "/quick": { body: "ok" } },
  });
  await using session = new Session({ baseUrl: server.url, timeout: 400 });
  const order: number[] = [];
  const started = performance.now();
  const stalled = [300, 60, 150].map((timeout) =>
    session.get("stall", { timeout }).then(
      () => assert.fail("a stalled request resolved"),
      (error) => {
        assert.ok(error instanceof TimeoutError, String(error));
        assert.ok(
          performance.now() - started >= timeout - 1,
          `timeout ${timeout} fired early`,
        );
        order.push(error.timeout);
      },
    )
  );
  // Requests that finish well within their (shorter) timeout never time
  // out later, even while the stalled ones keep the shared timer armed.
  for (let i = 0; i < 20; i++) {
    assert.equal(await session.get("quick", { timeout: 50 }).text(), "ok");
  }
  await Promise.all(stalled);
  assert.deepEqual(order, [60, 150, 300]);
});

test("Session: a timeout while reading the body raises TimeoutError", async () => {
  await using server = await startServer({
    routes: { "/trickle": { bodyDelay: 500, body: "late" } },
  });
  await using session = new Session({ baseUrl: server.url, timeout: 150 });
  const response = await session.get("trickle");
  await assert.rejects(response.text(), TimeoutError);
});

test("Session: the user's abort rejects with the user's reason", async () => {
  await using server = await startServer({
    routes: { "/stall": { stall: true } },
  });
  await using session = new Session({ baseUrl: server.url });
  const controller = new AbortController();
  const request = session.get("stall", { signal: controller.signal });
  await waitFor(() => server.requests.length === 1, {
    message: "request sent",
  });
  const reason = new Error("user stopped");
  controller.abort(reason);
  await assert.rejects(request, (error) => error === reason);
  await assert.rejects(
    session.get("stall", { signal: controller.signal }),
    (e) => e === reason,
  );
});

test("Session: raiseForStatus on, off and as a predicate", async () => {
  await using server = await startServer({
    routes: {
      "/missing": { status: 404, body: { error: "nope" } },
      "/teapot": { status: 418 },
    },
  });
  await using session = new Session({ baseUrl: server.url });
  const error = await session.get("missing", { params: { q: "1" } }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 404);
  assert.equal(error.request.method, "GET");
  assert.match(
    error.message,
    /^Request failed with status 404 Not Found: GET http:\/\/127\.0\.0\.1:\d+\/missing\?q=1$/,
  );
  assert.deepEqual(await error.response.json(), { error: "nope" });

  const off = await session.get("missing", { raiseForStatus: false });
  assert.equal(off.ok, false);
  assert.deepEqual(await off.json(), { error: "nope" });

  await using lenient = new Session({
    baseUrl: server.url,
    raiseForStatus: (status) => status >= 500,
  });
  const teapot = await lenient.get("teapot");
  assert.equal(teapot.status, 418);
  await teapot.dump();
  await assert.rejects(
    lenient.get("teapot", { raiseForStatus: true }),
    HttpError,
  );
  // The connection was not lost to the failed requests.
  assert.equal(server.accepted, 2);
});

test("Session.fetch() returns a real Response and never throws for a status", async () => {
  await using server = await startServer({
    routes: {
      "/missing": { status: 404, body: "gone" },
      "/empty": { status: 204 },
    },
  });
  await using session = new Session({
    baseUrl: server.url,
    headers: { "x-session": "1" },
  });
  const response = await session.fetch("missing", {
    headers: { "x-request": "2" },
  });
  assert.ok(response instanceof Response);
  assert.equal(response.status, 404);
  assert.equal(response.url, `${server.url}/missing`);
  assert.equal(await response.text(), "gone");
  const empty = await session.fetch(
    new Request(`${server.url}/empty`, { method: "DELETE" }),
  );
  assert.equal(empty.status, 204);
  assert.equal(empty.body, null);
  const echo =
    await (await session.fetch("echo", { method: "POST", body: "hi" })).json();
  assert.equal(echo.method, "POST");
  assert.equal(echo.body, "hi");
  assert.equal(echo.headers["x-session"], "1");
  assert.equal(server.requests[0].headers["x-request"], "2");
});

test("Session.fetch(): body readers, bodyUsed, body stream and clone()", async () => {
  await using server = await startServer({
    routes: { "/data": { body: '{"n":1}' } },
  });
  await using session = new Session({ baseUrl: server.url, limit: 1 });
  const first = await session.fetch("data");
  assert.equal(first.bodyUsed, false);
  assert.equal(first.headers.get("content-length"), "7");
  assert.deepEqual(await first.json(), { n: 1 });
  assert.equal(first.bodyUsed, true);
  await assert.rejects(first.text(), TypeError);
  // limit 1: each of these waits for the previous body to be finished.
  const streamed = await session.fetch("data");
  const chunks: Uint8Array[] = [];
  for await (const chunk of streamed.body!) chunks.push(chunk);
  assert.equal(
    new TextDecoder().decode(Buffer.concat(chunks)),
    '{"n":1}',
  );
  assert.equal(streamed.bodyUsed, true);
  const original = await session.fetch("data");
  const copy = original.clone();
  assert.equal(await copy.text(), '{"n":1}');
  assert.equal(await original.text(), '{"n":1}');
  const bytes = await (await session.fetch("data")).arrayBuffer();
  assert.equal(bytes.byteLength, 7);
  assert.equal(server.accepted, 1);
});

test("Session.close() waits for a session.fetch() body being read", async () => {
  await using server = await startServer({
    routes: { "/slow": { bodyDelay: 150, body: "x".repeat(30) } },
  });
  const session = new Session({ baseUrl: server.url });
  const response = await session.fetch("slow");
  const reading = response.text();
  await delay(20);
  await session.close();
  assert.equal((await reading).length, 30);
  await waitFor(() => server.open === 0);
});

test("Session: a timeout frees the connection of a response nobody reads", async () => {
  await using server = await startServer({
    routes: {
      "/held": { bodyDelay: 5_000, body: "late" },
      "/ok": { body: "ok" },
    },
  });
  await using session = new Session({
    baseUrl: server.url,
    limit: 1,
    timeout: 200,
  });
  const held = await session.get("held"); // headers only; body never read
  assert.equal(session.pending, 1);
  await waitFor(() => session.pending === 0);
  await assert.rejects(held.text(), TimeoutError);
  assert.equal(await session.get("ok").text(), "ok");
});

test("Session.fetch(): a status a Response cannot hold is a NetworkError and frees the connection", async () => {
  await using server = await startServer({
    routes: { "/odd": { status: 999, body: "?" }, "/ok": { body: "ok" } },
  });
  await using session = new Session({ baseUrl: server.url, limit: 1 });
  await assert.rejects(session.fetch("odd"), NetworkError);
  assert.equal(await (await session.fetch("ok")).text(), "ok");
});

test("Session: a throwing raiseForStatus predicate rejects and frees the connection", async () => {
  await using server = await startServer();
  await using session = new Session({
    baseUrl: server.url,
    limit: 1,
    raiseForStatus: () => {
      throw new Error("predicate");
    },
  });
  await assert.rejects(session.get("a"), /predicate/);
  assert.equal(
    await session.get("a", { raiseForStatus: false }).then((r) => r.status),
    200,
  );
});

test("ResponsePromise: await, then, catch, finally, Promise.all and shortcuts agree", async () => {
  await using server = await startServer({
    routes: { "/missing": { status: 404, body: "no" }, "/a": { body: "a" } },
  });
  await using session = new Session({ baseUrl: server.url });
  const missing = session.get("missing");
  assert.ok(missing instanceof Promise);
  await assert.rejects(missing.text(), HttpError); // shortcut first
  await assert.rejects(missing, HttpError); // then the promise itself
  assert.equal(await session.get("missing").catch((e) => e.status), 404);
  let settled = false;
  const a = await session.get("a").finally(() => (settled = true));
  assert.ok(settled);
  assert.equal(await a.text(), "a");
  const both = await Promise.all([session.get("a"), session.get("a")]);
  assert.deepEqual(await Promise.all(both.map((r) => r.text())), ["a", "a"]);
  const raced = await Promise.race([session.get("a")]);
  assert.equal(await raced.text(), "a");
  assert.equal(session.pending, 0);
});

test("Session: bodies, headers and params reach the server", async () => {
  await using server = await startServer();
  await using session = new Session({
    baseUrl: `${server.url}/v1/`,
    headers: { authorization: "Bearer t0ken", "x-drop": "1" },
  });
  const echo = await session.post("/users", {
    json: { name: "Ada" },
    params: { tag: ["a", "b"], q: "x y" },
    headers: { "x-trace": "1", "x-drop": undefined },
  }).json<{ url: string; headers: Record<string, string>; body: string }>();
  assert.equal(echo.url, "/v1/users?tag=a&tag=b&q=x+y");
  assert.equal(echo.headers.authorization, "Bearer t0ken");
  assert.equal(echo.headers["x-trace"], "1");
  assert.equal(echo.headers["x-drop"], undefined);
  assert.equal(echo.headers["content-type"], "application/json");
  assert.equal(echo.body, '{"name":"Ada"}');

  const bodies: [RequestInit["body"], string, string | undefined][] = [
    ["text", "text", "text/plain;charset=UTF-8"],
    [new Uint8Array([104, 105]), "hi", undefined],
    [
      new URLSearchParams({ a: "1" }),
      "a=1",
      "application/x-www-form-urlencoded;charset=UTF-8",
    ],
    [new Blob(["blob"], { type: "text/x-blob" }), "blob", "text/x-blob"],
    [
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("stream"));
          c.close();
        },
      }),
      "stream",
      undefined,
    ],
  ];
  for (const [body, text, type] of bodies) {
    const seen = await session.put("echo", { body }).json<
      { body: string; headers: Record<string, string> }
    >();
    assert.equal(seen.body, text);
    if (type) assert.equal(seen.headers["content-type"], type);
  }
  assert.equal(server.accepted, 1, "one connection for all");
});

test("Session: HEAD and 204 responses free their connection at once", async () => {
  await using server = await startServer({
    routes: { "/empty": { status: 204 } },
  });
  await using session = new Session({ baseUrl: server.url, limit: 1 });
  for (let i = 0; i < 5; i++) {
    const head = await session.head("x");
    assert.equal(head.status, 200);
    const empty = await session.delete("empty");
    assert.equal(await empty.json(), undefined);
  }
  assert.equal(session.pending, 0);
});

test("Session: maxQueue bounds the queue and priority orders it", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 30, body: "ok" } },
  });
  await using session = new Session({
    baseUrl: server.url,
    limit: 1,
    maxQueue: 3,
  });
  const first = session.get("slow", { params: { n: "first" } }).text();
  await waitFor(() => server.requests.length === 1, {
    message: "first request",
  });
  const low = session.get("slow", { params: { n: "low" } }).text();
  const normal = session.get("slow", { params: { n: "normal" } }).text();
  const urgent = session.get("slow", { params: { n: "urgent" }, priority: 10 })
    .text();
  const error = await session.get("slow").then(() => undefined, (e) => e);
  assert.ok(error instanceof QueueFullError, String(error));
  assert.match(error.message, /maxQueue is 3.*: GET http/);
  await Promise.all([first, low, normal, urgent]);
  assert.deepEqual(
    server.requests.map((r) =>
      new URL(r.url, server.url).searchParams.get("n")
    ),
    ["first", "urgent", "low", "normal"],
  );
});

test("Session: a queued request counts in pending, times its wait, and leaves the queue when aborted or timed out", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 150, body: "ok" }, "/ok": { body: "ok" } },
  });
  const ends: { url: string; queued: number }[] = [];
  await using session = new Session({
    baseUrl: server.url,
    limit: 1,
    observe(event) {
      if (event.type === "end") {
        ends.push({ url: event.url, queued: event.timings.queued });
      }
    },
  });
  const first = session.get("slow").text();
  const controller = new AbortController();
  const aborted = session.get("ok", {
    params: { n: "aborted" },
    signal: controller.signal,
  });
  const timedOut = session.get("ok", { params: { n: "late" }, timeout: 50 });
  const last = session.get("ok", { params: { n: "last" } }).text();
  assert.equal(session.pending, 4);
  controller.abort(new Error("not needed"));
  await assert.rejects(aborted, { message: "not needed" });
  await assert.rejects(timedOut, TimeoutError);
  assert.equal(session.pending, 2);
  assert.equal(await first, "ok");
  assert.equal(await last, "ok");
  assert.equal(session.pending, 0);
  // Neither left-over request reached the server.
  assert.deepEqual(
    server.requests.map((r) => new URL(r.url, server.url).search),
    ["", "?n=last"],
  );
  const waited = ends.find((end) => end.url.endsWith("?n=last"));
  assert.ok(waited && waited.queued >= 100, JSON.stringify(ends));
});

test("Session: a failed request does not corrupt the pool", async () => {
  await using server = await startServer({
    routes: { "/drop": { drop: true } },
  });
  await using session = new Session({ baseUrl: server.url, limit: 2 });
  for (let i = 0; i < 3; i++) {
    await assert.rejects(session.get("drop"), NetworkError);
  }
  const results = await Promise.all(
    Array.from({ length: 6 }, () => session.get("ok").json()),
  );
  assert.equal(results.length, 6);
  assert.equal(session.pending, 0);
});

test("Session: a connection refused raises NetworkError", async () => {
  const server = await startServer();
  const url = server.url;
  await server.close();
  await using session = new Session();
  const error = await session.get(`${url}/x`).then(() => undefined, (e) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.ok(error.cause !== undefined);
  assert.match(error.message, /: GET http:\/\/127\.0\.0\.1:\d+\/x$/);
});

test("Session: CR/LF in headers is rejected before anything is sent", async () => {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url });
  await assert.rejects(
    session.get("x", { headers: { "x-a": "1\r\nx-injected: yes" } }),
    TypeError,
  );
  assert.equal(server.requests.length, 0);
  assert.equal(server.accepted, 0);
});

test("Session: error messages never print credentials", async () => {
  await using server = await startServer({
    routes: { "/missing": { status: 404 } },
  });
  const withUser = server.url.replace("http://", "http://ada:hunter2@");
  await using session = new Session({
    headers: { authorization: "Bearer s3cret" },
  });
  const error = await session.get(`${withUser}/missing`).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof HttpError);
  assert.ok(
    !error.message.includes("hunter2") && !error.message.includes("s3cret"),
    error.message,
  );
  // An explicit Authorization header wins over URL user info.
  assert.equal(server.requests[0].headers.authorization, "Bearer s3cret");
  await using plain = new Session();
  await assert.rejects(plain.get(`${withUser}/missing`), HttpError);
  assert.equal(
    server.requests[1].headers.authorization,
    "Basic " + btoa("ada:hunter2"),
  );
  const closed = new Session();
  await closed.close();
  const closedError = await closed.get(`${withUser}/x`).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(
    !String(closedError.message).includes("hunter2"),
    closedError.message,
  );
});

test("new Session() rejects bad options with TypeError or RangeError", () => {
  const table: [unknown, ErrorConstructor, RegExp][] = [
    [
      { baseUrl: "api.test/v1" },
      TypeError,
      /'baseUrl' must be an absolute http\(s\) URL/,
    ],
    [{ baseUrl: "ftp://api.test" }, TypeError, /http or https/],
    [{ baseUrl: 42 }, TypeError, /baseUrl/],
    [
      { limit: -1 },
      RangeError,
      /'limit' must be a non-negative integer: current value is -1/,
    ],
    [{ limit: 1.5 }, RangeError, /'limit'/],
    [{ limit: "10" }, TypeError, /'limit' must be a number/],
    [{ limitPerHost: -2 }, RangeError, /'limitPerHost'/],
    [{ timeout: Number.NaN }, RangeError, /'timeout'/],
    [{ timeout: -5 }, RangeError, /'timeout'/],
    [{ timeout: "5s" }, TypeError, /'timeout'/],
    [{ timeout: 2 ** 40 }, RangeError, /at most/],
    [{ maxQueue: -1 }, RangeError, /'maxQueue'/],
    [{ raiseForStatus: "yes" }, TypeError, /'raiseForStatus'/],
    [{ headers: { "x-a": "1\n2" } }, TypeError, /CR, LF or NUL/],
    [{ headers: "x" }, TypeError, /'headers'/],
    [{ adapter: {} }, TypeError, /'adapter'/],
    [{ limitPerhost: 2 }, TypeError, /'limitPerhost' is not a known option/],
    [null, TypeError, /options must be an object/],
  ];
  for (const [options, type, message] of table) {
    assert.throws(
      () => new Session(options as SessionOptions),
      (error: Error) => error instanceof type && message.test(error.message),
      JSON.stringify(options),
    );
  }
  // Valid edge values construct fine (and do no I/O).
  for (
    const options of [{ limit: 0 }, { timeout: 0 }, { timeout: Infinity }, {
      maxQueue: Infinity,
    }]
  ) {
    const session = new Session(options);
    assert.equal(session.closed, false);
    session.close();
  }
});

test("Session: bad request options are rejected before sending", async () => {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url });
  await assert.rejects(
    session.get("x", { body: "no" }),
    /GET request cannot have a body/,
  );
  await assert.rejects(session.post("x", { body: "a", json: {} }), /both set/);
  await assert.rejects(session.get("x", { timeout: -1 }), RangeError);
  await assert.rejects(
    session.get("x", { param: {} } as never),
    /'param' is not a known option/,
  );
  await assert.rejects(session.request("BAD METHOD", "x"), TypeError);
  assert.equal(server.requests.length, 0);
});

test("Session: bad input is rejected with a TypeError, never dropped", async () => {
  await using server = await startServer();
  assert.throws(
    () => new Session({ headers: new Map([["x-a", "1"]]) as never }),
    /'headers' must be a record, Headers or \[name, value\] pairs: received Map/,
  );
  await using session = new Session({ baseUrl: server.url });
  const refused: [string, () => Promise<unknown>][] = [
    ["Map headers", () => session.get("a", { headers: new Map() as never })],
    ["json function", () => session.post("a", { json: () => 1 })],
    ["json symbol", () => session.post("a", { json: Symbol("x") })],
    ["json bigint", () => session.post("a", { json: { n: 1n } })],
    ["fetch init 1", () => session.fetch("a", 1 as never)],
    [
      "nested params",
      () => session.get("a", { params: { q: { a: 1 } } as never }),
    ],
    [
      "params array of objects",
      () => session.get("a", { params: { q: [{ a: 1 }] } as never }),
    ],
    [
      "Node stream body",
      () => session.post("a", { body: Readable.from(["x"]) as never }),
    ],
  ];
  for (const [name, send] of refused) {
    const error = await send().then(() => undefined, (e) => e);
    assert.ok(error instanceof TypeError, `${name}: ${error}`);
  }
  const nodeStream = await session.post("a", {
    body: Readable.from(["x"]) as never,
  }).catch((e) => e);
  assert.match(nodeStream.message, /Readable\.toWeb/);
  assert.match(
    (await session.get("a", { params: { q: { a: 1 } } as never }).catch((e) =>
      e
    )).message,
    /'params\.q' must be a string, number, boolean or bigint/,
  );
  assert.equal(server.requests.length, 0, "nothing was sent");
  // Repeated header pairs all arrive.
  const echoed = await session.get("echo", {
    headers: [["x-a", "1"], ["x-b", "2"], ["x-a", "3"]],
  }).json() as { headers: Record<string, string> };
  assert.equal(echoed.headers["x-a"], "1, 3");
});

test("Session: a session from another copy of the package is accepted by containers", async () => {
  await using server = await startServer({ routes: { "/a": { body: "a" } } });
  // A second copy of the sources, as a JSR and an npm copy (or the ESM and
  // CommonJS builds) of the package are.
  const extension = import.meta.url.endsWith(".js") ? ".js" : ".ts";
  const root = new URL("../", import.meta.url);
  const copy = new URL(`.build/copies/${runtime}-${Date.now()}/`, root);
  cpSync(new URL("src", root), new URL("src", copy), { recursive: true });
  cpSync(new URL(`mod${extension}`, root), new URL(`mod${extension}`, copy));
  const other: typeof import("../mod.ts") = await import(
    new URL(`mod${extension}`, copy).href
  ).finally(() => rmSync(copy, { recursive: true, force: true }));
  assert.notEqual(other.Session, Session, "a second copy was loaded");
  await using session = new Session({ baseUrl: server.url });
  assert.ok(session instanceof other.Session);
  class Api extends other.SessionContainer {
    async get(): Promise<string> {
      return await this.session.get("a").text();
    }
  }
  await using api = new Api({ session });
  assert.equal(await api.get(), "a");
  // A subclass still checks its own prototype chain.
  class Mine extends Session {}
  assert.ok(!(session instanceof Mine));
  await using mine = new Mine();
  assert.ok(mine instanceof Session && mine instanceof Mine);
});

test("Session: a User-Agent on every runtime, overridable and removable", async () => {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url });
  await session.get("a").text();
  await session.get("b", { headers: { "user-agent": "mine/1" } }).text();
  // Node's client sends none by itself: the session sends its own there.
  // Deno and Bun send theirs.
  const expected = runtime === "node"
    ? /^x-sessions\/\d+\.\d+\.\d+$/
    : runtime === "deno"
    ? /^Deno\//
    : /^Bun\//;
  assert.match(String(server.requests[0].headers["user-agent"]), expected);
  assert.equal(server.requests[1].headers["user-agent"], "mine/1");
  await using custom = new Session({ headers: { "User-Agent": "app/2" } });
  await custom.get(`${server.url}/c`).text();
  assert.equal(server.requests[2].headers["user-agent"], "app/2");
  await using bare = new Session({ headers: { "user-agent": undefined } });
  await bare.get(`${server.url}/d`).text();
  const sent = server.requests[3].headers["user-agent"];
  // Removed: Node sends none; Deno and Bun put their own in.
  if (runtime === "node") assert.equal(sent, undefined);
  else assert.match(String(sent), expected);
});

test("Session: a status outside 100-599 is a NetworkError that says so, and frees the connection", async () => {
  await using server = await tcpServer((socket) =>
    onRequests(socket, (head) => {
      const status = /GET \/(\d+)/.exec(head)?.[1] ?? "200";
      socket.write(`HTTP/1.1 ${status} Odd\r\nContent-Length: 2\r\n\r\nok`);
    })
  );
  await using session = new Session({ baseUrl: server.url, retry: 0 });
  for (const status of ["600", "999"]) {
    for (
      const send of [
        () => session.get(status),
        () => session.get(status).text(),
        () => session.fetch(status),
      ]
    ) {
      const error = await send().then(() => undefined, (e) => e);
      assert.ok(error instanceof NetworkError, String(error));
      assert.match(error.message, new RegExp(`status ${status}.*100-599`));
    }
  }
  assert.equal(await session.get("200").text(), "ok");
  assert.equal(session.pending, 0);
});

test("Session: a POST is never sent twice when the server drops its connection", async () => {
  // Reads each request in full, then closes the connection without an
  // answer: on a fresh connection, and on a kept-alive one.
  const posts: string[] = [];
  await using server = await tcpServer((socket) =>
    onRequests(socket, (head, index) => {
      const [line] = head.split("\r\n");
      if (line.startsWith("POST")) {
        posts.push(line);
        if (line.includes("/drop-fresh") || index > 0) {
          setTimeout(() => socket.destroy(), 10);
          return;
        }
      }
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    })
  );
  await using session = new Session({ baseUrl: server.url, retry: 0 });
  for (
    const [path, options] of [
      ["drop-fresh", { body: "x" }],
      ["drop-fresh", {}],
      ["drop-fresh", { json: { a: 1 } }],
    ] as const
  ) {
    posts.length = 0;
    const error = await session.post(path, options).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof NetworkError, String(error));
    assert.equal(posts.length, 1, `sent ${posts.length} times`);
  }
  // On a kept-alive connection: the first POST is answered, the second
  // dropped after the server read it.
  posts.length = 0;
  await using kept = new Session({ baseUrl: server.url, retry: 0, limit: 1 });
  assert.equal(await kept.post("first", { body: "1" }).text(), "ok");
  const second = await kept.post("second", { body: "2" }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(second instanceof NetworkError, String(second));
  assert.deepEqual(posts.map((line) => line.split(" ")[1]), [
    "/first",
    "/second",
  ]);
});

if (runtime === "deno") {
  test(
    "Session: a Deno permission error reaches the user as Deno's own, not retried (Deno only: the one runtime with permissions)",
    async () => {
      await using server = await startServer();
      const script = new URL("./fixtures/no_net.ts", import.meta.url).pathname;
      const child = spawnSync(process.execPath, [
        "run",
        "--allow-read",
        "--allow-env",
        script,
        `${server.url}/x`,
      ], { encoding: "utf8", timeout: 30_000 });
      assert.equal(child.status, 0, child.stderr);
      const outcome = JSON.parse(child.stdout);
      assert.equal(outcome.name, "NotCapable", outcome.message);
      assert.match(outcome.message, /--allow-net/);
      assert.equal(outcome.sessionError, false);
      assert.equal(outcome.retries, 0);
      assert.equal(server.requests.length, 0);
    },
    { sanitize: false },
  );
}

test("Session.fetch(): the Response can be served on, body and headers (Deno.serve, Bun.serve, node:http)", async () => {
  await using upstream = await startServer({
    routes: {
      "/data": {
        headers: { "x-upstream": "1", "content-type": "text/plain" },
        bodySize: 100_000,
      },
    },
  });
  await using session = new Session({ baseUrl: upstream.url });
  const handle = (): Promise<Response> => session.fetch("data");
  const globals = globalThis as unknown as {
    Deno?: {
      serve(
        options: { port: number; hostname: string; onListen(): void },
        handler: () => Promise<Response>,
      ): { addr: { port: number }; shutdown(): Promise<void> };
    };
    Bun?: {
      serve(options: {
        port: number;
        hostname: string;
        fetch: () => Promise<Response>;
      }): { port: number; stop(force: boolean): Promise<void> };
    };
  };
  let url: string;
  let stop: () => Promise<void>;
  if (globals.Deno) {
    const server = globals.Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      handle,
    );
    url = `http://127.0.0.1:${server.addr.port}/`;
    stop = () => server.shutdown();
  } else if (globals.Bun) {
    const server = globals.Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: handle,
    });
    url = `http://127.0.0.1:${server.port}/`;
    stop = () => server.stop(true);
  } else {
    const { createServer } = await import("node:http");
    const { Readable } = await import("node:stream");
    const server = createServer(async (_req, res) => {
      const response = await handle();
      res.writeHead(response.status, Object.fromEntries(response.headers));
      Readable.fromWeb(response.body as never).pipe(res);
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve())
    );
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    stop = () => new Promise((resolve) => server.close(() => resolve()));
  }
  try {
    const proxied = await fetch(url);
    assert.equal(proxied.headers.get("x-upstream"), "1");
    assert.equal((await proxied.text()).length, 100_000);
  } finally {
    await stop();
  }
  await waitFor(() => session.pending === 0);
});
