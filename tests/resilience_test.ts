import assert from "node:assert/strict";
import {
  BunAdapter,
  CHANNELS,
  HttpError,
  type Middleware,
  NetworkError,
  NodeAdapter,
  type PoolAdapter,
  type RetryState,
  Session,
  SessionClosedError,
  type SessionEvent,
  SessionResponse,
  TimeoutError,
} from "../mod.ts";
import { startServer } from "./_server.ts";
import { tcpServer } from "./_tcp.ts";
import { delay, runtime, test } from "./_test.ts";

// Timers on a busy machine fire late, never early: allow this much.
const TOLERANCE = 700;

async function timed<T>(
  promise: Promise<T>,
): Promise<{ error: unknown; ms: number }> {
  const start = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
  throw new Error("expected the request to fail");
}

// --- Timeouts by phase ----------------------------------------------------

test("timeout.headers fires within its limit against a server slow to answer", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 3_000, body: "late" } },
  });
  await using session = new Session({ baseUrl: server.url, retry: 0 });
  const { error, ms } = await timed(
    session.get("slow", { timeout: { headers: 200 } }),
  );
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.phase, "headers");
  assert.equal(error.timeout, 200);
  assert.match(error.message, /no response headers within 200 ms/);
  assert.ok(ms >= 190 && ms < 200 + TOLERANCE, `fired after ${ms} ms`);
  // The pool is fine afterwards.
  assert.equal((await session.get("echo")).status, 200);
});

test("timeout.bodyIdle fires on a gap between chunks, not on a slow but steady body", async () => {
  await using server = await startServer({
    routes: {
      "/stall": { bodyDelay: 3_000, body: "late" },
      "/drip": async (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        for (let i = 0; i < 5; i++) {
          res.write(`chunk${i};`);
          await delay(100);
        }
        res.end();
      },
    },
  });
  await using session = new Session({
    baseUrl: server.url,
    retry: 0,
    timeout: { bodyIdle: 300 },
  });
  // Five chunks 100 ms apart: 500 ms in all, but no gap over 300 ms.
  assert.equal(
    await session.get("drip").text(),
    "chunk0;chunk1;chunk2;chunk3;chunk4;",
  );
  const response = await session.get("stall");
  const { error, ms } = await timed(response.text());
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.phase, "bodyIdle");
  assert.ok(ms >= 250 && ms < 300 + TOLERANCE, `fired after ${ms} ms`);
  // Also through the shortcut and the stream.
  const shortcut = await timed(session.get("stall").json());
  assert.ok(shortcut.error instanceof TimeoutError);
  assert.equal(shortcut.error.phase, "bodyIdle");
  const stream = (await session.get("stall")).body!;
  const streamed = await timed(new Response(stream).text());
  assert.ok(
    streamed.error instanceof TimeoutError ||
      (streamed.error as Error).cause instanceof TimeoutError ||
      /No body data|body timeout|Body Timeout/i.test(String(streamed.error)),
    String(streamed.error),
  );
  assert.equal(session.pending, 0);
});

test("timeout.connect fires against a server that never completes the TLS handshake", async () => {
  // Accepts TCP, then says nothing: the connection is never established.
  await using silent = await tcpServer(() => {});
  await using session = new Session({ retry: 0 });
  const { error, ms } = await timed(
    session.get(`https://127.0.0.1:${silent.port}/`, {
      timeout: { connect: 300, headers: 300 },
    }),
  );
  assert.ok(error instanceof TimeoutError, String(error));
  if (runtime === "node") {
    // undici reports the connect phase exactly.
    assert.equal(error.phase, "connect");
    assert.ok(ms >= 250 && ms < 300 + TOLERANCE, `fired after ${ms} ms`);
  } else {
    // Deno and Bun do not report when a connection is made: connect and
    // headers are bounded together (documented in TimeoutOptions).
    assert.equal(error.phase, "headers");
    assert.match(error.message, /connect 300 ms \+ headers 300 ms/);
    assert.ok(ms >= 550 && ms < 600 + TOLERANCE, `fired after ${ms} ms`);
  }
});

test("timeout.total covers queueing, attempts and waits; a request override replaces one phase", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 3_000, body: "late" } },
  });
  await using session = new Session({
    baseUrl: server.url,
    retry: 0,
    timeout: { total: 5_000, headers: 4_000 },
  });
  const { error, ms } = await timed(
    session.get("slow", { timeout: 250 }),
  );
  assert.ok(error instanceof TimeoutError);
  assert.equal(error.phase, "total");
  assert.ok(ms >= 240 && ms < 250 + TOLERANCE, `fired after ${ms} ms`);
});

test("the user's abort raises the user's reason, a timeout raises TimeoutError", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 3_000, body: "late" } },
  });
  await using session = new Session({ baseUrl: server.url, retry: 0 });
  const reason = new Error("user gave up");
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 50);
  const aborted = await timed(
    session.get("slow", {
      signal: controller.signal,
      timeout: { headers: 2_000 },
    }),
  );
  assert.equal(aborted.error, reason);
  const late = new AbortController();
  const timer = setTimeout(() => late.abort(reason), 2_000);
  const timedOut = await timed(
    session.get("slow", { signal: late.signal, timeout: { headers: 100 } }),
  );
  clearTimeout(timer);
  assert.ok(timedOut.error instanceof TimeoutError);
  assert.equal(timedOut.error.phase, "headers");
});

test("abort: a request aborted before its adapter sends it fails at once and never reaches the server", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 1_000, body: "late" } },
  });
  // A wrapping adapter that waits before it hands the request on, as one
  // that logs or signs requests may (NodeAdapter loading undici does too).
  const inner = runtime === "bun" ? new BunAdapter() : new NodeAdapter();
  let handedOn: () => void = () => {};
  const waited = new Promise<void>((resolve) => (handedOn = resolve));
  const adapter: PoolAdapter = {
    name: "waiting",
    async dispatch(request) {
      await waited;
      return inner.dispatch(request);
    },
    close: () => inner.close(),
    destroy: () => inner.destroy(),
  };
  await using session = new Session({
    baseUrl: server.url,
    adapter,
    retry: 0,
  });
  const reason = new Error("user gave up");
  const controller = new AbortController();
  const pending = timed(session.get("slow", { signal: controller.signal }));
  controller.abort(reason);
  handedOn();
  const aborted = await pending;
  assert.equal(aborted.error, reason);
  assert.ok(aborted.ms < 900, `took ${aborted.ms} ms`);
  await delay(50);
  assert.equal(server.requests.length, 0);
  assert.equal(session.pending, 0);
  await inner.close();
});

test("abort: a request whose signal is already aborted fails at once, even over the limit", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 500, body: "slow" } },
  });
  await using session = new Session({ baseUrl: server.url, limit: 1 });
  let firstDone = false;
  const first = session.get("slow").text().then((text) => {
    firstDone = true;
    return text;
  });
  const reason = new Error("never wanted");
  const aborted = await timed(
    session.get("slow", { signal: AbortSignal.abort(reason) }),
  );
  assert.equal(aborted.error, reason);
  assert.equal(firstDone, false, "it waited for the request ahead of it");
  assert.equal(await first, "slow");
  assert.equal(server.requests.length, 1);
});

test("a request that fails before it is sent (a progress callback that throws) frees its place under the limit", async () => {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url, limit: 1 });
  const broken = new Error("progress callback broke");
  const failed = await timed(
    session.post("up", {
      body: "data",
      onUploadProgress: () => {
        throw broken;
      },
    }),
  );
  assert.equal(failed.error, broken);
  assert.equal(session.pending, 0);
  // With its permit kept, this would wait for ever (and time out).
  const text = await session.get("next", { timeout: 2_000 }).text();
  assert.match(text, /"url":"\/next"/);
});

// --- Retries --------------------------------------------------------------

test("retry: 503 and 429 with Retry-After in seconds and as an HTTP date (delays recorded, not slept)", async () => {
  let calls = 0;
  await using server = await startServer({
    routes: {
      "/flaky": (_req, res) => {
        calls++;
        if (calls === 1) {
          res.writeHead(503, { "retry-after": "7" }).end("busy");
        } else if (calls === 2) {
          const date = new Date(Date.now() + 30_000).toUTCString();
          res.writeHead(429, { "retry-after": date }).end("slow down");
        } else {
          res.writeHead(200, { "content-type": "application/json" }).end(
            '{"ok":true}',
          );
        }
      },
    },
  });
  const seen: RetryState[] = [];
  const events: SessionEvent[] = [];
  await using session = new Session({
    baseUrl: server.url,
    retry: {
      limit: 3,
      shouldRetry: (state) => {
        seen.push(state);
        return 0; // record the delay, do not wait it
      },
    },
    observe: (event) => events.push(event),
  });
  assert.deepEqual(await session.get("flaky").json(), { ok: true });
  assert.equal(calls, 3);
  assert.deepEqual(seen.map((state) => state.retry), [1, 2]);
  assert.deepEqual(seen.map((state) => state.response?.status), [503, 429]);
  assert.equal(seen[0].delay, 7_000);
  // An HTTP date has one-second precision.
  assert.ok(
    seen[1].delay > 28_000 && seen[1].delay <= 30_000,
    `date delay ${seen[1].delay}`,
  );
  const retries = events.filter((event) => event.type === "retry");
  assert.deepEqual(
    retries.map((event) => [event.attempt, event.reason, event.delay]),
    [[1, "status", 0], [2, "status", 0]],
  );
});

test("retry: a Retry-After above maxRetryAfter is not waited for", async () => {
  await using server = await startServer({
    routes: {
      "/busy": { status: 429, headers: { "retry-after": "120" }, body: "no" },
    },
  });
  let asked = 0;
  await using session = new Session({
    baseUrl: server.url,
    retry: {
      maxRetryAfter: 60_000,
      shouldRetry: () => {
        asked++;
        return 0;
      },
    },
  });
  const { error } = await timed(session.get("busy"));
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 429);
  assert.equal(server.requests.length, 1);
  assert.equal(asked, 0);
});

test("retry: default backoff is exponential with jitter; POST is not retried by default", async () => {
  await using server = await startServer({
    routes: { "/down": { status: 503, body: "down" } },
  });
  const delays: number[] = [];
  await using session = new Session({
    baseUrl: server.url,
    retry: {
      limit: 3,
      shouldRetry: (state) => {
        delays.push(state.delay);
        return 0;
      },
    },
  });
  const { error } = await timed(session.get("down"));
  assert.ok(error instanceof HttpError);
  assert.equal(server.requests.length, 4);
  assert.equal(delays.length, 3);
  for (const [index, base] of [300, 600, 1_200].entries()) {
    assert.ok(
      delays[index] >= base * 0.75 && delays[index] <= base * 1.25,
      `retry ${index + 1} waited ${delays[index]} ms`,
    );
  }
  server.reset();
  const post = await timed(session.post("down", { body: "x" }));
  assert.ok(post.error instanceof HttpError);
  assert.equal(server.requests.length, 1, "POST is not idempotent");
});

test("retry: a one-shot stream body is never replayed; a string body is", async () => {
  await using server = await startServer({
    routes: { "/down": { status: 503, body: "down" } },
  });
  await using session = new Session({
    baseUrl: server.url,
    retry: { limit: 1, methods: ["POST"], backoff: () => 0 },
  });
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("streamed"));
      controller.close();
    },
  });
  await timed(session.post("down", { body: stream }));
  assert.equal(server.requests.length, 1);
  server.reset();
  await timed(session.post("down", { body: "again" }));
  assert.deepEqual(server.requests.map((r) => r.body), ["again", "again"]);
  server.reset();
  const form = new FormData();
  form.set("field", "value");
  await timed(session.post("down", { body: form }));
  assert.equal(server.requests.length, 2);
  assert.equal(server.requests[0].body, server.requests[1].body);
  assert.match(server.requests[1].body, /name="field"\r\n\r\nvalue/);
});

test("retry: network errors are retried, then surface as NetworkError", async () => {
  await using server = await startServer({
    routes: { "/drop": { drop: true } },
  });
  const events: SessionEvent[] = [];
  await using session = new Session({
    baseUrl: server.url,
    retry: { limit: 2, backoff: () => 1 },
    observe: (event) => events.push(event),
  });
  const { error } = await timed(session.get("drop"));
  assert.ok(error instanceof NetworkError, String(error));
  const retries = events.filter((event) =>
    event.type === "retry" && event.reason === "error"
  );
  assert.equal(retries.length, 2);
  assert.ok(server.requests.length >= 3);
  assert.equal(session.pending, 0);
});

test("retry: the total timeout bounds the retries", async () => {
  await using server = await startServer({
    routes: { "/down": { status: 503, body: "down" } },
  });
  await using session = new Session({
    baseUrl: server.url,
    retry: { limit: 5, backoff: () => 10_000 },
    timeout: 1_000,
  });
  const { error, ms } = await timed(session.get("down"));
  // Waiting 10 s would outlast the timeout: the 503 is returned at once.
  assert.ok(error instanceof HttpError);
  assert.equal(server.requests.length, 1);
  assert.ok(ms < 1_000, `took ${ms} ms`);
});

test("retry: close() waits for a request between attempts; destroy() ends the wait", async () => {
  let calls = 0;
  await using server = await startServer({
    routes: {
      "/flaky": (_req, res) => {
        calls++;
        if (calls % 2 === 1) res.writeHead(503).end("busy");
        else res.writeHead(200).end("ok");
      },
    },
  });
  const graceful = new Session({
    baseUrl: server.url,
    retry: { limit: 1, backoff: () => 200 },
  });
  const waiting = graceful.get("flaky").text();
  await delay(50); // the first attempt failed; the retry waits 200 ms
  await graceful.close();
  assert.equal(await waiting, "ok", "the retry ran before close() finished");
  assert.equal(calls, 2);

  const destroyed = new Session({
    baseUrl: server.url,
    retry: { limit: 1, backoff: () => 5_000 },
  });
  const outcome = destroyed.get("flaky").text().then(
    () => undefined,
    (error: unknown) => error,
  );
  await delay(50);
  const start = performance.now();
  await destroyed.destroy();
  const error = await outcome;
  assert.ok(error instanceof SessionClosedError, String(error));
  assert.ok(performance.now() - start < 1_000);
  assert.equal(calls, 3, "no attempt after destroy()");
});

// --- Stale keep-alive connections -----------------------------------------

test("a kept-alive connection the server closed is retried once, transparently", async () => {
  // Each connection answers its first request; a second request on it gets
  // the connection closed with no reply (an "empty reply on reuse").
  await using server = await tcpServer((socket) => {
    let served = 0;
    socket.on("data", () => {
      if (served++ === 0) {
        socket.write(
          "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok",
        );
      } else {
        socket.destroy();
      }
    });
  });
  const events: SessionEvent[] = [];
  await using session = new Session({
    baseUrl: `http://127.0.0.1:${server.port}`,
    retry: 0, // the stale-connection retry does not depend on `retry`
    observe: (event) => events.push(event),
  });
  for (let i = 0; i < 10; i++) {
    assert.equal(await session.get(`n/${i}`).text(), "ok");
  }
  assert.equal(server.accepted(), 10);
  const stale = events.filter((event) =>
    event.type === "retry" && event.reason === "stale-connection"
  );
  if (runtime === "node") {
    assert.equal(stale.length, 9);
  } else {
    // Deno's and Bun's clients resend idempotent requests on such a
    // connection by themselves; the session sees no failure at all.
    assert.equal(stale.length, 0);
  }
  // A POST is not idempotent: it is not sent again, on any runtime (Deno's
  // client would resend it by itself; the Deno adapter prevents that).
  const { error } = await timed(session.post("n/post", { body: "x" }).text());
  assert.ok(error instanceof NetworkError, String(error));
});

test("sequential GETs across the server's keep-alive timeout never fail", async () => {
  // Closes each connection after 150 ms without a request, as servers do.
  await using server = await tcpServer((socket) => {
    let idle: ReturnType<typeof setTimeout> | undefined;
    socket.on("close", () => clearTimeout(idle));
    socket.on("data", () => {
      clearTimeout(idle);
      socket.write(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
      );
      idle = setTimeout(() => socket.end(), 150);
    });
  });
  await using session = new Session({
    baseUrl: `http://127.0.0.1:${server.port}`,
    retry: 0,
  });
  let failures = 0;
  for (let i = 0; i < 8; i++) {
    try {
      await session.get(`idle/${i}`).json();
    } catch {
      failures++;
    }
    // Around the server's idle timeout, on both sides of it.
    await delay(140 + (i % 3) * 10);
  }
  assert.equal(failures, 0);
  assert.ok(server.accepted() >= 2, `accepted ${server.accepted()}`);
});

// --- Middleware -------------------------------------------------------------

test("middleware: onion order, request changes and response wrapping", async () => {
  await using server = await startServer();
  const order: string[] = [];
  const outer: Middleware = async (request, next) => {
    order.push(`outer in ${request.attempt}`);
    request.headers.set("x-outer", "1");
    const response = await next();
    order.push("outer out");
    return response;
  };
  const inner: Middleware = async (request, next) => {
    order.push("inner in");
    request.headers.set("x-inner", request.headers.get("x-outer") ?? "none");
    const response = await next(request);
    order.push(`inner out ${response.status}`);
    return response;
  };
  await using session = new Session({
    baseUrl: server.url,
    middleware: [outer, inner],
  });
  const echo = await session.get("mw").json<
    { headers: Record<string, string> }
  >();
  assert.deepEqual(order, [
    "outer in 0",
    "inner in",
    "inner out 200",
    "outer out",
  ]);
  assert.equal(echo.headers["x-outer"], "1");
  assert.equal(echo.headers["x-inner"], "1");
});

test("middleware: short-circuit answers without the network; raiseForStatus applies after the chain", async () => {
  await using server = await startServer({
    routes: { "/missing": { status: 404, body: "no" } },
  });
  const statuses: number[] = [];
  const cache: Middleware = async (request, next) => {
    if (new URL(request.url).pathname === "/cached") {
      return SessionResponse.from(Response.json({ cached: true }), request);
    }
    const response = await next();
    statuses.push(response.status);
    return response;
  };
  await using session = new Session({
    baseUrl: server.url,
    middleware: [cache],
  });
  assert.deepEqual(await session.get("cached").json(), { cached: true });
  assert.equal(server.requests.length, 0);
  const { error } = await timed(session.get("missing"));
  assert.ok(error instanceof HttpError);
  assert.deepEqual(
    statuses,
    [404],
    "middleware saw the 404 before it was raised",
  );
});

test("middleware: refresh a token on 401 and retry once", async () => {
  let token = "expired";
  let refreshes = 0;
  await using server = await startServer({
    routes: {
      "/me": (req, res) => {
        if (req.headers.authorization === "Bearer fresh") {
          res.writeHead(200, { "content-type": "application/json" }).end(
            '{"id":1}',
          );
        } else {
          res.writeHead(401).end("expired");
        }
      },
    },
  });
  const auth: Middleware = async (request, next) => {
    request.headers.set("authorization", `Bearer ${token}`);
    const response = await next(request);
    if (response.status !== 401) return response;
    await response.dump();
    refreshes++;
    token = "fresh";
    request.headers.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  await using session = new Session({
    baseUrl: server.url,
    middleware: [auth],
  });
  assert.deepEqual(await session.get("me").json(), { id: 1 });
  assert.deepEqual(await session.get("me").json(), { id: 1 });
  assert.equal(refreshes, 1);
  assert.equal(server.requests.length, 3);
  assert.equal(server.accepted, 1, "the 401's connection was reused");
});

test("middleware: errors can be wrapped; retries run the chain again", async () => {
  await using server = await startServer({
    routes: { "/drop": { drop: true }, "/down": { status: 503, body: "" } },
  });
  class ApiError extends Error {}
  const attempts: number[] = [];
  const wrap: Middleware = async (request, next) => {
    attempts.push(request.attempt);
    try {
      return await next();
    } catch (error) {
      throw new ApiError(`api call failed: ${(error as Error).name}`, {
        cause: error,
      });
    }
  };
  await using session = new Session({
    baseUrl: server.url,
    middleware: [wrap],
    retry: { limit: 2, backoff: () => 0 },
  });
  const dropped = await timed(session.get("drop"));
  assert.ok(dropped.error instanceof ApiError, String(dropped.error));
  assert.match(dropped.error.message, /NetworkError/);
  assert.deepEqual(attempts, [0], "a middleware's own error is not retried");
  attempts.length = 0;
  await timed(session.get("down"));
  assert.deepEqual(attempts, [0, 1, 2]);
});

// --- Observability ------------------------------------------------------------

test("observe: every exchange with status, timings, reuse and no credentials", async () => {
  await using server = await startServer();
  const events: SessionEvent[] = [];
  const base = server.url.replace("http://", "http://user:secret@");
  await using session = new Session({
    baseUrl: base,
    observe: (event) => events.push(event),
  });
  await session.get("one").json();
  await session.get("two").text();
  assert.deepEqual(events.map((event) => event.type), [
    "request",
    "response",
    "end",
    "request",
    "response",
    "end",
  ]);
  for (const event of events) {
    assert.ok(!event.url.includes("secret"), event.url);
    assert.equal(event.method, "GET");
  }
  const ends = events.filter((event) => event.type === "end");
  for (const end of ends) {
    assert.equal(end.status, 200);
    assert.ok(end.timings.total >= 0);
    assert.ok(end.timings.headers! >= 0 && end.timings.body! >= 0);
    assert.ok(end.timings.queued >= 0);
  }
  if (runtime === "node") {
    assert.deepEqual(ends.map((end) => end.reused), [false, true]);
  } else {
    assert.deepEqual(ends.map((end) => end.reused), [undefined, undefined]);
  }
});

test("observe: failures are reported as error events", async () => {
  await using server = await startServer({
    routes: { "/drop": { drop: true } },
  });
  const events: SessionEvent[] = [];
  await using session = new Session({
    baseUrl: server.url,
    retry: 0,
    observe: (event) => events.push(event),
  });
  await timed(session.get("drop"));
  const errors = events.filter((event) => event.type === "error");
  assert.equal(errors.length, 1);
  assert.ok(
    errors[0].type === "error" && errors[0].error instanceof NetworkError,
  );
});

// A redirect's body the session dumps, a body the user dumps, a stream the
// user cancels: each ends with an end event, on `adapter`.
async function assertDiscardsEnd(adapter?: PoolAdapter): Promise<void> {
  const big = 256 * 1024;
  await using server = await startServer({
    routes: {
      "/moved": { status: 302, headers: { location: "/ok" }, bodySize: big },
      "/big": { bodySize: big },
      "/ok": { body: "ok" },
    },
  });
  const events: SessionEvent[] = [];
  await using session = new Session({
    baseUrl: server.url,
    adapter,
    observe: (event) => events.push(event),
  });
  assert.equal(await session.get("moved").text(), "ok");
  await (await session.get("big")).dump();
  const reader = (await session.get("big")).body!.getReader();
  await reader.read();
  await reader.cancel();
  const ends = events.filter((e) => e.type === "end" || e.type === "error");
  assert.deepEqual(
    ends.map((e) => `${e.type} ${new URL(e.url).pathname}`),
    ["end /moved", "end /ok", "end /big", "end /big"],
  );
  await session.close();
  await adapter?.close();
}

test("observe: a body discarded on purpose ends with an end event, not an error", async () => {
  await assertDiscardsEnd();
});

test("observe: under a limit, a request's end is reported before the next one starts", async () => {
  await using server = await startServer();
  const events: string[] = [];
  await using session = new Session({
    baseUrl: server.url,
    limit: 1,
    observe: (event) =>
      events.push(`${event.type} ${new URL(event.url).pathname}`),
  });
  await Promise.all([session.get("a").text(), session.get("b").text()]);
  assert.deepEqual(events, [
    "request /a",
    "response /a",
    "end /a",
    "request /b",
    "response /b",
    "end /b",
  ]);
});

test("diagnostics_channel: events are published on @x/sessions channels", async () => {
  const { default: diagnostics } = await import("node:diagnostics_channel");
  await using server = await startServer();
  const seen: string[] = [];
  const onCreate = (message: unknown) =>
    seen.push(`create ${(message as SessionEvent).url}`);
  const onEnd = (message: unknown) =>
    seen.push(`end ${(message as { status: number }).status}`);
  diagnostics.subscribe(CHANNELS.request, onCreate);
  diagnostics.subscribe(CHANNELS.end, onEnd);
  try {
    await using session = new Session({ baseUrl: server.url });
    await session.get("dc").text();
  } finally {
    diagnostics.unsubscribe(CHANNELS.request, onCreate);
    diagnostics.unsubscribe(CHANNELS.end, onEnd);
  }
  assert.deepEqual(seen, [`create ${server.url}/dc`, "end 200"]);
  assert.equal(CHANNELS.request, "@x/sessions:request:create");
});

// On Deno, undici's one-second timer outlives the test: Deno's op
// sanitizer is off for it. Bun has no undici (its own adapter is above).
if (runtime !== "bun") {
  test(
    "observe: a body discarded on purpose ends with an end event on undici too",
    async () => {
      await assertDiscardsEnd(new NodeAdapter());
    },
    { sanitize: false },
  );
}

// --- Bad options --------------------------------------------------------------

test("resilience options are checked at construction", () => {
  const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [{ timeout: { foo: 1 } }, TypeError, /'timeout.foo' is not a known phase/],
    [{ timeout: { connect: -1 } }, RangeError, /'timeout.connect'/],
    [{ timeout: { bodyIdle: "1" } }, TypeError, /'timeout.bodyIdle'/],
    [{ timeout: "5s" }, TypeError, /'timeout' must be a number/],
    [{ retry: -1 }, RangeError, /non-negative integer/],
    [{ retry: { limit: 1.5 } }, RangeError, /non-negative integer/],
    [{ retry: { methods: "GET" } }, TypeError, /'retry.methods'/],
    [{ retry: { statusCodes: [99] } }, TypeError, /'retry.statusCodes'/],
    [{ retry: { backoff: 100 } }, TypeError, /'retry.backoff'/],
    [{ retry: { maxRetryAfter: -5 } }, RangeError, /'retry.maxRetryAfter'/],
    [{ retry: { tries: 3 } }, TypeError, /'retry.tries' is not a known/],
    [{ middleware: "auth" }, TypeError, /'middleware' must be an array/],
    [{ middleware: [1] }, TypeError, /'middleware' must be an array/],
    [{ observe: true }, TypeError, /'observe' must be a function/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => new Session(options as never),
      (error: unknown) =>
        error instanceof type && message.test((error as Error).message),
      JSON.stringify(options),
    );
  }
});
