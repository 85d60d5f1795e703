// Process-level lifecycle, in a child process of the runtime under test:
// idle sockets never keep a process alive, and a session dropped unclosed
// warns once, naming where it was created.
import assert from "node:assert/strict";
import { Session, SessionClosedError } from "../mod.ts";
import { runLifecycleFixture } from "./_child.ts";
import { type RouteHandler, startServer } from "./_server.ts";
import { delay, test, waitFor } from "./_test.ts";

test("Lifecycle: idle pooled sockets do not keep the process alive", async () => {
  await using server = await startServer({ keepAliveTimeout: 120_000 });
  const outcome = await runLifecycleFixture("idle", `${server.url}/hello`);
  assert.match(outcome.stdout, /idle: returning with the session open/);
  assert.equal(server.accepted, 1);
});

test("Lifecycle: a session dropped unclosed warns once, naming where it was created", async () => {
  await using server = await startServer({ keepAliveTimeout: 120_000 });
  const outcome = await runLifecycleFixture("unclosed", `${server.url}/hello`);
  assert.match(outcome.stdout, /unclosed: 1 warning\(s\)/);
  assert.match(outcome.stderr, /Unclosed Session/);
  assert.match(outcome.stderr, /lifecycle\.(ts|js):\d+/);
});

// A body that arrives one byte per `gap` ms: `count` bytes, or forever.
function dripping(gap: number, count = Infinity): RouteHandler {
  return (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write("x");
      if (++sent >= count) {
        clearInterval(timer);
        res.end();
      }
    }, gap);
    res.on("close", () => clearInterval(timer));
  };
}

test("Lifecycle: a response dropped unread frees its connection and its slot when garbage-collected", async () => {
  await using server = await startServer({
    routes: { "/endless": dripping(200) },
  });
  const outcome = await runLifecycleFixture("dropped", `${server.url}/endless`);
  assert.match(outcome.stdout, /dropped session\.get\(\): freed/);
  assert.match(outcome.stdout, /dropped session\.fetch\(\): freed/);
  await waitFor(() => server.open === 0, { message: "endless bodies closed" });
});

async function elapsed(promise: Promise<unknown>): Promise<number> {
  const start = performance.now();
  await promise;
  return performance.now() - start;
}

test("Session.close() does not wait for a slow or endless body nobody reads, and closes its socket", async () => {
  await using server = await startServer({
    routes: { "/drip": dripping(1_000, 6), "/endless": dripping(200) },
  });
  for (const path of ["drip", "endless"]) {
    const session = new Session({ baseUrl: server.url });
    const response = await session.get(path);
    const fetched = await session.fetch(path);
    const ms = await elapsed(session.close());
    assert.ok(ms < 800, `close() took ${ms} ms for ${path}`);
    await waitFor(() => server.open === 0, { message: "sockets closed" });
    await assert.rejects(
      response.text(),
      (error: Error) =>
        error instanceof SessionClosedError &&
        /closed before anyone started reading it/.test(error.message),
    );
    await assert.rejects(fetched.text(), TypeError);
  }
});

test("Session.close() lets a body being read finish", async () => {
  await using server = await startServer({
    routes: { "/drip": dripping(50, 6) },
  });
  const session = new Session({ baseUrl: server.url });
  const reading = session.get("drip").text();
  await delay(20);
  const closing = session.close();
  assert.equal(await reading, "xxxxxx");
  await closing;
  assert.equal(session.pending, 0);
});

test("SessionResponse.dump() drains a small rest but never waits on a slow one", async () => {
  await using server = await startServer({
    routes: { "/drip": dripping(1_000, 6), "/endless": dripping(200) },
  });
  await using session = new Session({ baseUrl: server.url });
  for (const path of ["drip", "endless"]) {
    const response = await session.get(path);
    const ms = await elapsed(response.dump());
    assert.ok(ms < 800, `dump() took ${ms} ms for ${path}`);
    assert.equal(session.pending, 0);
    await waitFor(() => server.open === 0, { message: "its socket closed" });
  }
  // A small body already on its way is drained: the connection is kept.
  server.reset();
  await (await session.get("small")).dump();
  await session.get("small").text();
  assert.equal(server.accepted, 1, "one connection for both");
});

test("Session: a large body read slowly arrives whole, and holds the server back", async () => {
  const size = 32 * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
  let heldBack = 0;
  await using server = await startServer({
    routes: {
      "/large": (_req, res) => {
        res.writeHead(200, { "content-length": String(size) });
        let sent = 0;
        const more = () => {
          while (sent < size) {
            sent += chunk.byteLength;
            if (!res.write(chunk)) {
              heldBack++;
              return void res.once("drain", more);
            }
          }
          res.end();
        };
        more();
      },
    },
  });
  await using session = new Session({ baseUrl: server.url });
  const response = await session.get("large");
  await delay(300); // nobody reads: the socket must pause
  const reader = response.body!.getReader();
  let received = 0;
  let checksum = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // One byte in every 4 KiB of the body, wherever the chunks split it.
    const first = (4096 - received % 4096) % 4096;
    for (let i = first; i < value.byteLength; i += 4096) checksum += value[i];
    received += value.byteLength;
  }
  assert.equal(received, size);
  let expected = 0;
  for (let i = 0; i < size; i += 4096) expected += (i % (64 * 1024)) % 251;
  assert.equal(checksum, expected, "the bytes arrived in order");
  assert.ok(heldBack > 0, "the server was held back while nobody read");
  assert.equal(session.pending, 0);
});
