import assert from "node:assert/strict";
import {
  FetchAdapter,
  HttpError,
  NetworkError,
  NodeAdapter,
  ResponseSizeError,
  Session,
  SessionClosedError,
  type SessionEvent,
  type SessionOptions,
  TimeoutError,
} from "../mod.ts";
import { type H2Servers, type H2Stats, startH2Servers } from "./_h2.ts";
import { startNetFixtures } from "./_net.ts";
import { startServer } from "./_server.ts";
import { delay, runtime, test } from "./_test.ts";

// Every test starts its own servers: counters and connections are its own.
function h2Session(h2: H2Servers, options: SessionOptions = {}): Session {
  return new Session({ http2: true, tls: { ca: [h2.ca] }, ...options });
}

/** Poll the servers' counters until `check` holds (at most 5 s). */
async function until(
  h2: H2Servers,
  check: (stats: Record<string, H2Stats>) => boolean,
  what: string,
): Promise<Record<string, H2Stats>> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const stats = await h2.stats();
    if (check(stats)) return stats;
    if (Date.now() > deadline) {
      throw new Error(`${what}: never held; last ${JSON.stringify(stats)}`);
    }
    await delay(25);
  }
}

function all<T>(count: number, make: (index: number) => Promise<T>) {
  return Promise.all(Array.from({ length: count }, (_, index) => make(index)));
}

interface Echo {
  path: string;
  httpVersion: string;
  connection: number;
  received: number;
  cookie: string | null;
}

const echo = (response: { json(): Promise<unknown> }) =>
  response.json() as Promise<Echo>;

const versions = (responses: { httpVersion: string }[]) => [
  ...new Set(responses.map((response) => response.httpVersion)),
];

test('http2: the option takes true, false or "prior-knowledge", and no adapter instance', () => {
  for (const bad of [1, "h2", null, "true", {}]) {
    assert.throws(
      () => new Session({ http2: bad as never }),
      (error: unknown) =>
        error instanceof TypeError &&
        /'http2' must be true, false or "prior-knowledge"/.test(error.message),
      String(bad),
    );
  }
  assert.throws(
    () => new Session({ http2: true, adapter: new NodeAdapter() }),
    /'http2' does not reach an adapter instance: pass a function/,
  );
  for (
    const through of [{ proxy: "http://proxy.test:3128" }, { trustEnv: true }]
  ) {
    assert.throws(
      () => new Session({ http2: "prior-knowledge", ...through }),
      /"prior-knowledge"' cannot go through a proxy/,
    );
  }
  assert.throws(
    () => new FetchAdapter({}, { limit: 0, limitPerHost: 0, http2: true }),
    /plain fetch has no HTTP version options/,
  );
  new Session({ http2: false }).destroy();
  new Session({ http2: true }).destroy();
  if (runtime === "bun") {
    assert.throws(
      () => new Session({ http2: "prior-knowledge" }),
      (error: unknown) =>
        error instanceof TypeError &&
        /not supported on Bun/.test(error.message),
    );
  } else {
    new Session({ http2: "prior-knowledge" }).destroy();
  }
});

test("http2: 100 concurrent GETs share one TCP connection, as 100 streams", async () => {
  await using h2 = await startH2Servers();
  await using session = h2Session(h2);
  const responses = await all(
    100,
    () => session.get(`${h2.url("h2")}/?delay=300`),
  );
  const bodies = await Promise.all(responses.map(echo));
  assert.deepEqual(versions(responses), ["2"]);
  assert.ok(bodies.every((body) => body.httpVersion === "2.0"));
  const { h2: stats } = await h2.stats();
  assert.equal(stats.accepted, 1, JSON.stringify(stats));
  assert.deepEqual(stats.streams, { 0: 100 });
  assert.deepEqual(stats.peakStreams, { 0: 100 });
});

test("http2: with a server that allows 10 streams, no connection carries more than 10 at once", async () => {
  await using h2 = await startH2Servers();
  await using session = h2Session(h2);
  const responses = await all(
    100,
    () => session.get(`${h2.url("limited")}/?delay=200`),
  );
  await Promise.all(responses.map((r) => r.json()));
  assert.deepEqual(versions(responses), ["2"]);
  const { limited } = await h2.stats();
  assert.equal(limited.requests, 100);
  assert.ok(
    Object.values(limited.peakStreams).every((peak) => peak <= 10),
    JSON.stringify(limited),
  );
  // Deno's client opens one h2 connection per origin and queues the rest
  // on it; undici and Bun open a new one when the streams are used up.
  assert.equal(limited.accepted, runtime === "deno" ? 1 : 10);
});

test("http2: false (the default) speaks HTTP/1.1 to a server that offers h2", async () => {
  await using h2 = await startH2Servers();
  for (const http2 of [undefined, false]) {
    await using session = new Session({ http2, tls: { ca: [h2.ca] } });
    const responses = await all(3, () => session.get(`${h2.url("h2")}/`));
    const bodies = await Promise.all(responses.map(echo));
    assert.deepEqual(versions(responses), ["1.1"]);
    assert.ok(bodies.every((body) => body.httpVersion === "1.1"));
  }
  const { h2: stats } = await h2.stats();
  assert.deepEqual(stats.versions, { "1.1": 6 });
});

test("http2: true falls back to HTTP/1.1 with a server that does not speak h2", async () => {
  await using h2 = await startH2Servers();
  await using session = h2Session(h2);
  const responses = await all(
    10,
    () => session.get(`${h2.url("h1")}/?delay=100`),
  );
  const bodies = await Promise.all(responses.map(echo));
  assert.deepEqual(versions(responses), ["1.1"]);
  assert.ok(bodies.every((body) => body.httpVersion === "1.1"));
  // Later requests go straight to HTTP/1.1 too.
  const again = await session.get(`${h2.url("h1")}/`);
  assert.equal(again.httpVersion, "1.1");
  await again.dump();
  const { h1 } = await h2.stats();
  assert.equal(h1.requests, 11);
});

test("http2: an h2-only server answers over h2", async () => {
  await using h2 = await startH2Servers();
  await using session = h2Session(h2);
  const response = await session.get(`${h2.url("h2only")}/`);
  assert.equal(response.httpVersion, "2");
  assert.equal(
    (await response.json() as { httpVersion: string }).httpVersion,
    "2.0",
  );
});

if (runtime !== "bun") {
  test('http2: "prior-knowledge" speaks h2 over cleartext, on one connection', async () => {
    await using h2 = await startH2Servers();
    await using session = new Session({ http2: "prior-knowledge" });
    const responses = await all(
      20,
      () => session.get(`${h2.url("h2c")}/?delay=100`),
    );
    const bodies = await Promise.all(responses.map(echo));
    assert.deepEqual(versions(responses), ["2"]);
    assert.ok(bodies.every((body) => body.httpVersion === "2.0"));
    const { h2c } = await h2.stats();
    assert.equal(h2c.accepted, 1);
    // Never a silent HTTP/1.1: a server that takes no h2 is an error.
    await using strict = new Session({
      http2: "prior-knowledge",
      tls: { ca: [h2.ca] },
      retry: 0,
    });
    // Five at once: those waiting for the first connection fail with it
    // (they once waited for ever).
    const errors = await all(
      5,
      () => strict.get(`${h2.url("h1")}/`).then(() => undefined, (e) => e),
    );
    assert.ok(
      errors.every((error) => error instanceof NetworkError),
      String(errors),
    );
    assert.equal((await h2.stats()).h1.requests, 0);
  });
}

test("http2: a GOAWAY in the middle of the load loses no request", async () => {
  await using h2 = await startH2Servers();
  await using session = h2Session(h2);
  // Warm: the origin is known to speak h2.
  await (await session.get(`${h2.url("h2")}/`)).dump();
  const pending = all(
    50,
    () => session.get(`${h2.url("h2")}/?delay=300`).json(),
  );
  await delay(100);
  assert.equal(await h2.goaway("h2"), 1);
  const bodies = await pending as { httpVersion: string }[];
  assert.equal(bodies.length, 50);
  assert.ok(bodies.every((body) => body.httpVersion === "2.0"));
  // The connection the server sent away is not used again.
  const after = await session.get(`${h2.url("h2")}/`).json() as Echo;
  assert.equal(after.httpVersion, "2.0");
  const { h2: stats } = await h2.stats();
  assert.ok(stats.accepted >= 2, JSON.stringify(stats));
  assert.notEqual(after.connection, 0);
});

test("http2: close() and destroy() leave the server no open connection", async () => {
  await using h2 = await startH2Servers();
  const closing = h2Session(h2);
  await all(20, () => closing.get(`${h2.url("h2")}/?delay=50`).text());
  await until(h2, (s) => s.h2.open === 1, "one connection open");
  await closing.close();
  await until(h2, (s) => s.h2.open === 0, "closed after close()");

  const destroying = h2Session(h2);
  const pending = all(
    20,
    () =>
      destroying.get(`${h2.url("h2")}/?delay=2000`).then(
        () => undefined,
        (e) => e,
      ),
  );
  await until(h2, (s) => s.h2.requests === 40, "the second batch arrived");
  await destroying.destroy();
  const errors = await pending;
  assert.ok(errors.every((error) => error instanceof SessionClosedError));
  await until(h2, (s) => s.h2.open === 0, "closed after destroy()");
});

test("http2: close() does not wait for a body nobody reads, and a stream read beside it finishes", async () => {
  await using h2 = await startH2Servers();
  const session = h2Session(h2);
  // Headers now, the body in 10 s, and nobody reads it.
  const unread = await session.get(`${h2.url("h2")}/?bodyDelay=10000`);
  const read = session.get(`${h2.url("h2")}/?delay=200`).json() as Promise<
    Echo
  >;
  await until(h2, (s) => s.h2.requests === 2, "both arrived");
  const started = performance.now();
  await session.close();
  assert.ok(performance.now() - started < 2_000, "close() did not wait");
  assert.equal((await read).httpVersion, "2.0");
  await assert.rejects(unread.text(), SessionClosedError);
  await until(h2, (s) => s.h2.open === 0, "closed after close()");
});

test("http2: timeouts and retries work over h2 as over HTTP/1.1", async () => {
  await using h2 = await startH2Servers();
  await using session = h2Session(h2, {
    retry: { limit: 2, backoff: () => 10 },
  });
  await assert.rejects(
    session.get(`${h2.url("h2")}/?delay=2000`, { timeout: { headers: 200 } }),
    (error: unknown) =>
      error instanceof TimeoutError && error.phase === "headers",
  );
  await assert.rejects(
    session.get(`${h2.url("h2")}/?bodyDelay=2000`, {
      timeout: { bodyIdle: 200 },
    }).text(),
    TimeoutError,
  );
  await assert.rejects(
    session.get(`${h2.url("h2")}/?status=503`),
    (error: unknown) => error instanceof HttpError && error.status === 503,
  );
  const { h2: stats } = await h2.stats();
  // 1 + 1 + 3 (two retries): all on the one connection.
  assert.equal(stats.requests, 5);
  assert.equal(stats.accepted, 1);
  // The connection is still good after the timeouts.
  const ok = await session.get(`${h2.url("h2")}/`);
  assert.equal(ok.httpVersion, "2");
  await ok.dump();
});

test("http2: events report the version, and reuse as a stream on an open connection", async () => {
  await using h2 = await startH2Servers();
  const ends: SessionEvent[] = [];
  await using session = h2Session(h2, {
    observe: (event) => event.type === "end" && ends.push(event),
  });
  await (await session.get(`${h2.url("h2")}/`)).dump();
  await all(3, () => session.get(`${h2.url("h2")}/?delay=50`).text());
  assert.equal(ends.length, 4);
  for (const end of ends) {
    assert.ok(
      end.type === "end" && end.httpVersion === "2",
      JSON.stringify(end),
    );
  }
  if (runtime === "node") {
    assert.deepEqual(
      ends.map((end) => end.type === "end" && end.reused),
      [false, true, true, true],
    );
  }
});

test("http2: redirects, cookies, session.fetch(), size limits and progress work over h2", async () => {
  await using h2 = await startH2Servers();
  const base = h2.url("h2");
  await using session = h2Session(h2, { baseUrl: base });
  const moved = await session.get("a?status=302&location=/b");
  assert.equal(moved.httpVersion, "2");
  assert.deepEqual(moved.redirectUrls, [`${base}/b`]);
  assert.equal((await echo(moved)).path, "/b");

  await (await session.get("login?setCookie=token%3Dabc")).dump();
  assert.equal((await session.get("me").json() as Echo).cookie, "token=abc");

  const fetched = await session.fetch(`${base}/f`);
  assert.ok(fetched instanceof Response);
  assert.equal((await fetched.json() as Echo).httpVersion, "2.0");

  await assert.rejects(
    session.get("big?size=100000", { maxResponseSize: 10_000 }).text(),
    ResponseSizeError,
  );
  const downloaded: number[] = [];
  const text = await session.get("big?size=100000", {
    onDownloadProgress: ({ loaded }) => downloaded.push(loaded),
  }).text();
  assert.equal(text.length, 100_000);
  assert.equal(downloaded.at(-1), 100_000);

  const uploaded: number[] = [];
  const up = await session.post("up", {
    body: "y".repeat(100_000),
    onUploadProgress: ({ loaded }) => uploaded.push(loaded),
  }).json() as Echo;
  assert.equal(up.received, 100_000);
  assert.equal(uploaded.at(-1), 100_000);
  const { h2: stats } = await h2.stats();
  assert.deepEqual(Object.keys(stats.versions), ["2.0"]);
});

test("http2: cleartext origins and proxied requests go over HTTP/1.1, reported as such", async () => {
  await using h2 = await startH2Servers();
  await using plain = await startServer();
  await using net = await startNetFixtures();
  await using session = new Session({
    http2: true,
    tls: { ca: [h2.ca, net.ca] },
  });
  const direct = await session.get(`${plain.url}/plain`);
  assert.equal(direct.httpVersion, "1.1");
  await direct.dump();
  await using proxied = new Session({
    http2: true,
    proxy: net.proxyUrl,
    tls: { ca: [h2.ca, net.ca] },
  });
  const tunnelled = await proxied.get(`${h2.url("h2")}/through`);
  assert.equal(tunnelled.httpVersion, "1.1");
  assert.equal((await echo(tunnelled)).httpVersion, "1.1");
  const { log } = await net.log();
  assert.equal(log.length, 1);
  assert.equal(log[0].kind, "connect");
});

test(
  "http2: 1,500 requests in a row all succeed against a server that guards against rapid resets",
  async () => {
    // Bun 1.4's h2 client resets (RST_STREAM CANCEL) each stream the server
    // answered before the request's end arrived, as servers do for a GET;
    // node:http2 (nghttp2) answers a flood of resets with GOAWAY after about
    // 1,000. The session sends the request that met it again, on a new
    // connection.
    await using h2 = await startH2Servers();
    // No retries: the resend on a new connection alone must do it.
    await using session = h2Session(h2, { baseUrl: h2.url("h2"), retry: 0 });
    for (let i = 0; i < 1_500; i++) {
      const body = await session.get("n?early").json() as Echo;
      assert.equal(body.httpVersion, "2.0");
    }
    const { h2: stats } = await h2.stats();
    assert.ok(stats.requests >= 1_500, JSON.stringify(stats.requests));
    await session.close();
    // Bun 1.4 leaves the connection the server sent away open: its
    // FetchSession.close() no longer reaches it (a known leak, in the
    // README). Every other connection closes.
    const left = runtime === "bun" && stats.accepted > 1 ? 1 : 0;
    await until(h2, (s) => s.h2.open === left, `${left} open after close()`);
  },
  { timeout: 60_000 },
);
