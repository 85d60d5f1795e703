// rateLimit and the server's backpressure, against loopback servers that
// record when each request arrived.
import assert from "node:assert/strict";
import { HttpError, Session, SessionClosedError } from "../mod.ts";
import { runScript } from "./_child.ts";
import { startServer, type TestServer } from "./_server.ts";
import { test } from "./_test.ts";

/** A server that records arrival times (performance.now()) by path. */
async function timedServer(): Promise<
  TestServer & { arrivals: { path: string; at: number }[] }
> {
  const arrivals: { path: string; at: number }[] = [];
  const server = await startServer({
    routes: {
      "*": (request, response) => {
        arrivals.push({ path: request.url ?? "", at: performance.now() });
        response.end("ok");
      },
    },
  });
  return Object.assign(server, { arrivals });
}

/** The most arrivals in any window of `per` ms (`(t - per, t]`). */
function busiest(times: number[], per: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= per) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

function all<T>(count: number, make: (index: number) => Promise<T>) {
  return Promise.all(Array.from({ length: count }, (_, index) => make(index)));
}

test("rateLimit: 50 requests at 10 a second arrive at most 10 in any rolling second, and all succeed", async () => {
  await using server = await timedServer();
  await using session = new Session({
    baseUrl: server.url,
    rateLimit: { perHost: { requests: 10, per: 1_000 } },
  });
  const started = performance.now();
  const bodies = await all(50, (i) => session.get(`r/${i}`).text());
  assert.ok(bodies.every((body) => body === "ok"));
  const times = server.arrivals.map((arrival) => arrival.at);
  assert.equal(times.length, 50);
  assert.equal(busiest(times, 1_000), 10);
  // Five windows: the last ten start after four seconds, not much later.
  const took = performance.now() - started;
  assert.ok(took >= 4_000 && took < 6_000, `took ${took} ms`);
});

test("rateLimit: two origins are limited apart, and the total over both", async () => {
  await using a = await timedServer();
  await using b = await timedServer();
  await using perHost = new Session({
    rateLimit: { perHost: { requests: 5, per: 300 } },
  });
  await Promise.all([
    all(15, (i) => perHost.get(`${a.url}/${i}`).text()),
    all(15, (i) => perHost.get(`${b.url}/${i}`).text()),
  ]);
  for (const server of [a, b]) {
    const times = server.arrivals.map((arrival) => arrival.at);
    assert.equal(busiest(times, 300), 5);
  }
  // b's first five did not wait for a's.
  const firstB = Math.min(...b.arrivals.map((arrival) => arrival.at));
  const firstA = Math.min(...a.arrivals.map((arrival) => arrival.at));
  assert.ok(Math.abs(firstB - firstA) < 150, `${firstA} ${firstB}`);

  a.arrivals.length = 0;
  b.arrivals.length = 0;
  await using total = new Session({
    rateLimit: { total: { requests: 4, per: 300 } },
  });
  await Promise.all([
    all(6, (i) => total.get(`${a.url}/${i}`).text()),
    all(6, (i) => total.get(`${b.url}/${i}`).text()),
  ]);
  const both = [...a.arrivals, ...b.arrivals].map((arrival) => arrival.at);
  assert.equal(both.length, 12);
  assert.equal(busiest(both, 300), 4);
});

test("rateLimit: priorities still order the queue, and rateLimit: false skips it", async () => {
  await using server = await timedServer();
  await using session = new Session({
    baseUrl: server.url,
    rateLimit: { perHost: { requests: 1, per: 150 } },
  });
  const first = session.get("first").text();
  const low1 = session.get("low1").text();
  const low2 = session.get("low2").text();
  const high = session.get("high", { priority: 5 }).text();
  // Not counted and never held back: it arrives before the queued ones.
  await session.get("free", { rateLimit: false }).text();
  await Promise.all([first, low1, low2, high]);
  assert.deepEqual(
    server.arrivals.map((arrival) => arrival.path),
    ["/first", "/free", "/high", "/low1", "/low2"],
  );
});

test("rateLimit: a 429 with Retry-After pauses every request to that origin, not the others", async () => {
  let busy = true;
  const arrivals: { path: string; at: number }[] = [];
  await using server = await startServer({
    routes: {
      "*": (request, response) => {
        arrivals.push({ path: request.url ?? "", at: performance.now() });
        if (busy && request.url === "/busy") {
          busy = false;
          response.writeHead(429, { "retry-after": "1" });
          response.end();
          return;
        }
        response.end("ok");
      },
    },
  });
  await using other = await timedServer();
  await using session = new Session({
    baseUrl: server.url,
    retry: 0,
    rateLimit: { perHost: { requests: 100, per: 1_000 } },
  });
  await assert.rejects(
    session.get("busy"),
    (error: unknown) => error instanceof HttpError && error.status === 429,
  );
  const told = performance.now();
  const elsewhere = await session.get(`${other.url}/free`).text();
  assert.equal(elsewhere, "ok");
  assert.ok(performance.now() - told < 500, "the other origin did not wait");
  await all(3, (i) => session.get(`after/${i}`).text());
  const after = arrivals.filter((arrival) => arrival.path.startsWith("/after"));
  assert.equal(after.length, 3);
  for (const arrival of after) {
    assert.ok(arrival.at - told >= 950, `${arrival.at - told} ms after`);
  }
});

test("rateLimit: RateLimit-Remaining: 0 with a reset pauses the origin until the reset", async () => {
  let told = false;
  const arrivals: number[] = [];
  await using server = await startServer({
    routes: {
      "*": (_request, response) => {
        arrivals.push(performance.now());
        if (!told) {
          told = true;
          response.writeHead(200, {
            "ratelimit-remaining": "0",
            "ratelimit-reset": "1",
          });
        }
        response.end("ok");
      },
    },
  });
  await using session = new Session({ baseUrl: server.url, rateLimit: {} });
  await session.get("a").text();
  await session.get("b").text();
  assert.ok(arrivals[1] - arrivals[0] >= 950, `${arrivals[1] - arrivals[0]}`);
});

test("rateLimit: X-RateLimit-Remaining with little left spaces the origin's requests out until the reset", async () => {
  let first = true;
  const arrivals: number[] = [];
  await using server = await startServer({
    routes: {
      "*": (_request, response) => {
        arrivals.push(performance.now());
        if (first) {
          first = false;
          // Two left for the next second: one every 500 ms.
          response.writeHead(200, {
            "x-ratelimit-remaining": "2",
            "x-ratelimit-reset": "1",
          });
        }
        response.end("ok");
      },
    },
  });
  await using session = new Session({ baseUrl: server.url, rateLimit: {} });
  await session.get("a").text();
  await all(2, (i) => session.get(`b/${i}`).text());
  const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]);
  assert.ok(gaps[0] >= 450 && gaps[1] >= 450, gaps.join(", "));
});

test("rateLimit: quota headers with plenty left slow nothing down", async () => {
  const arrivals: number[] = [];
  await using server = await startServer({
    routes: {
      "*": (_request, response) => {
        arrivals.push(performance.now());
        response.writeHead(200, {
          "x-ratelimit-limit": "5000",
          "x-ratelimit-remaining": String(5000 - arrivals.length),
          "x-ratelimit-reset": "3600",
        });
        response.end("ok");
      },
    },
  });
  await using session = new Session({ baseUrl: server.url, rateLimit: {} });
  await session.get("a").text();
  await all(3, (i) => session.get(`b/${i}`).text());
  const took = arrivals[3] - arrivals[0];
  assert.ok(took < 500, `${took} ms`);
});

test("rateLimit: a request waiting for it keeps its signal, total timeout, maxQueue and queued time", async () => {
  await using server = await timedServer();
  const ends: { url: string; queued: number }[] = [];
  await using session = new Session({
    baseUrl: server.url,
    maxQueue: 2,
    rateLimit: { perHost: { requests: 1, per: 400 } },
    observe: (event) => {
      if (event.type === "end") {
        ends.push({ url: event.url, queued: event.timings.queued });
      }
    },
  });
  await session.get("first").text();
  const controller = new AbortController();
  const aborted = session.get("aborted", { signal: controller.signal });
  const late = session.get("late", { timeout: 100 });
  await assert.rejects(session.get("third"), /maxQueue is 2/);
  controller.abort(new Error("not needed"));
  await assert.rejects(aborted, /not needed/);
  await assert.rejects(
    late,
    (error: unknown) => error instanceof Error && error.name === "TimeoutError",
  );
  await session.get("waited").text();
  assert.deepEqual(
    server.arrivals.map((arrival) => arrival.path),
    ["/first", "/waited"],
  );
  const waited = ends.find((end) => end.url.endsWith("/waited"));
  assert.ok(waited && waited.queued >= 250, JSON.stringify(ends));
});

test("rateLimit: close() and destroy() end the requests waiting for it at once", async () => {
  await using server = await timedServer();
  for (const end of ["close", "destroy"] as const) {
    const session = new Session({
      baseUrl: server.url,
      rateLimit: { perHost: { requests: 1, per: 10_000 } },
    });
    await session.get("first").text();
    const waiting = all(
      3,
      () => session.get("later").then(() => undefined, (error) => error),
    );
    const started = performance.now();
    await session[end]();
    const errors = await waiting;
    assert.ok(
      errors.every((error) => error instanceof SessionClosedError),
      `${end}: ${errors}`,
    );
    assert.ok(performance.now() - started < 1_000, end);
  }
  assert.deepEqual(
    server.arrivals.map((arrival) => arrival.path),
    ["/first", "/first"],
  );
});

test(
  "rateLimit: requests waiting for it keep the process alive until they are done, and nothing after",
  async () => {
    const outcome = await runScript(
      import.meta.url,
      "./fixtures/rate_wait.ts",
      [],
      20_000,
    );
    assert.equal(outcome.killed, false, "the process outlived the requests");
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.equal(outcome.stdout.trim(), "done 6");
  },
  { sanitize: false },
);

test("rateLimit: bad values are TypeError or RangeError at construction", async () => {
  const bad: [unknown, RegExp][] = [
    [{ perHost: { requests: 0, per: 1_000 } }, /requests' must be an integer/],
    [{ perHost: { requests: 10, per: -1 } }, /per' must be a number/],
    [{ total: { requests: 10, per: NaN } }, /per' must be a number/],
    [{ total: { requests: 1.5, per: 10 } }, /requests' must be an integer/],
    [
      { perHost: { requests: 10, per: 100, burst: 2 } },
      /'rateLimit.perHost.burst' is not a known/,
    ],
    [
      { perhost: { requests: 10, per: 100 } },
      /'rateLimit.perhost' is not a known/,
    ],
    [
      { perHost: { requests: "10", per: 100 } },
      /needs 'requests' and 'per' as numbers/,
    ],
    ["fast", /'rateLimit' must be an object/],
  ];
  for (const [rateLimit, message] of bad) {
    assert.throws(
      () => new Session({ rateLimit: rateLimit as never }),
      (error: unknown) =>
        (error instanceof TypeError || error instanceof RangeError) &&
        message.test(error.message),
      JSON.stringify(rateLimit),
    );
  }
  const session = new Session({
    rateLimit: { perHost: { requests: 1, per: 1 } },
  });
  await assert.rejects(
    session.get("http://a.test/", { rateLimit: true as never }),
    /a request's 'rateLimit' can only be false/,
  );
  await session.destroy();
});
