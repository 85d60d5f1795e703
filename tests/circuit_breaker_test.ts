// circuitBreaker against a loopback server that fails on demand.
import assert from "node:assert/strict";
import {
  CircuitOpenError,
  NetworkError,
  Session,
  SessionError,
  type SessionEvent,
} from "../mod.ts";
import { startServer } from "./_server.ts";
import { delay, test } from "./_test.ts";

test("circuitBreaker: opens after the failures, fails fast while open, lets one trial through after the cooldown and closes on success", async () => {
  let failing = true;
  await using server = await startServer({
    routes: {
      "/api": (_request, response) => {
        response.writeHead(failing ? 500 : 200);
        response.end(failing ? "down" : "up");
      },
    },
  });
  const circuits: string[] = [];
  await using session = new Session({
    baseUrl: server.url,
    retry: 0,
    raiseForStatus: false,
    circuitBreaker: { failures: 3, window: 1_000, cooldown: 300 },
    observe: (event: SessionEvent) => {
      if (event.type === "circuit") circuits.push(event.state);
    },
  });
  for (let i = 0; i < 3; i++) {
    assert.equal((await session.get("api")).status, 500);
  }
  const started = performance.now();
  const open = await session.get("api").then(() => undefined, (e) => e);
  assert.ok(open instanceof CircuitOpenError, String(open));
  assert.ok(open instanceof SessionError);
  assert.equal(open.origin, server.url);
  assert.ok(open.retryAt > Date.now() && open.retryAt <= Date.now() + 300);
  assert.match(open.message, /circuit for http:\/\/127\.0\.0\.1:\d+ is open/);
  assert.ok(performance.now() - started < 50, "it failed at once");
  assert.equal(server.requests.length, 3, "nothing was sent while open");
  // Another origin is not affected.
  await using other = await startServer();
  assert.equal((await session.get(`${other.url}/x`)).status, 200);

  await delay(350);
  failing = false;
  // The trial goes; while it is out, others still fail fast.
  const trial = session.get("api");
  await assert.rejects(session.get("api"), CircuitOpenError);
  assert.equal(await (await trial).text(), "up");
  assert.equal((await session.get("api")).status, 200);
  assert.deepEqual(circuits, ["open", "half-open", "closed"]);
});

test("circuitBreaker: a failed trial opens it again; network errors count, failures outside the window do not", async () => {
  await using server = await startServer({
    routes: { "/drop": { drop: true }, "/fail": { status: 503 } },
  });
  await using session = new Session({
    baseUrl: server.url,
    retry: 0,
    raiseForStatus: false,
    circuitBreaker: { failures: 2, window: 200, cooldown: 200 },
  });
  // Two failures further apart than the window: still closed.
  await assert.rejects(session.get("drop"), NetworkError);
  await delay(250);
  await assert.rejects(session.get("drop"), NetworkError);
  assert.equal((await session.get("fail")).status, 503); // opens now
  await assert.rejects(session.get("fail"), CircuitOpenError);
  await delay(250);
  assert.equal((await session.get("fail")).status, 503); // the trial fails
  await assert.rejects(session.get("fail"), CircuitOpenError);
});

test("circuitBreaker: a retry meets the open circuit and fails with CircuitOpenError", async () => {
  await using server = await startServer({
    routes: { "/fail": { status: 503 } },
  });
  await using session = new Session({
    baseUrl: server.url,
    retry: { limit: 5, backoff: () => 1 },
    circuitBreaker: { failures: 2, window: 5_000, cooldown: 5_000 },
  });
  await assert.rejects(session.get("fail"), CircuitOpenError);
  // Two attempts went; the third met the open circuit.
  assert.equal(server.requests.length, 2);
});

test("circuitBreaker: bad values are TypeError or RangeError at construction", () => {
  const bad: [unknown, RegExp][] = [
    [{ failures: 0, window: 1, cooldown: 1 }, /failures' must be an integer/],
    [{ failures: 2, window: -1, cooldown: 1 }, /window' must be a number/],
    [{ failures: 2, window: 10, cooldown: NaN }, /cooldown' must be a number/],
    [{ failures: 2, window: 10 }, /cooldown' must be a number/],
    [
      { failures: 2, window: 10, cooldown: 1, halfOpen: 1 },
      /'circuitBreaker.halfOpen' is not a known/,
    ],
    [5, /'circuitBreaker' must be an object/],
  ];
  for (const [circuitBreaker, message] of bad) {
    assert.throws(
      () => new Session({ circuitBreaker: circuitBreaker as never }),
      (error: unknown) =>
        (error instanceof TypeError || error instanceof RangeError) &&
        message.test(error.message),
      JSON.stringify(circuitBreaker),
    );
  }
});
