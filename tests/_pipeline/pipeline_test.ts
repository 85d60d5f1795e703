// What one request constructs: the default path builds no AbortController,
// Headers or Response of its own, and neither do a pass-through
// middleware, cookies and an observer (opt-in paths at default speed).
import assert from "node:assert/strict";
import { type Middleware, Session, type SessionOptions } from "../../mod.ts";
import { startServer } from "../_server.ts";
import { runtime, test } from "../_test.ts";

type Counts = Record<"AbortController" | "Headers" | "Response", number>;

/** Count the library's `new X()` of each global while `run` runs. */
async function counting(run: () => Promise<void>): Promise<Counts> {
  const counts: Counts = { AbortController: 0, Headers: 0, Response: 0 };
  const globals = globalThis as unknown as Record<string, unknown>;
  const saved = { ...counts } as Record<string, unknown>;
  for (const name of Object.keys(counts) as (keyof Counts)[]) {
    const Original = globals[name] as new (...args: unknown[]) => object;
    saved[name] = Original;
    globals[name] = class extends Original {
      constructor(...args: unknown[]) {
        super(...args);
        counts[name]++;
      }
    };
  }
  try {
    await run();
  } finally {
    for (const name of Object.keys(saved)) globals[name] = saved[name];
  }
  return counts;
}

const REQUESTS = 50;

async function perRequest(options: SessionOptions): Promise<Counts> {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url, ...options });
  await session.get("warm").json(); // the pool, the first connection
  const counts = await counting(async () => {
    for (let i = 0; i < REQUESTS; i++) await session.get("echo").json();
  });
  for (const name of Object.keys(counts) as (keyof Counts)[]) {
    counts[name] /= REQUESTS;
  }
  return counts;
}

// fetch needs a real AbortSignal on Deno and Bun; undici takes the call
// itself as its signal.
const fetchSignal = runtime === "node" ? 0 : 1;

test("Session: the default path constructs no AbortController, Headers or Response", async () => {
  const counts = await perRequest({});
  assert.deepEqual(counts, {
    AbortController: fetchSignal,
    Headers: 0,
    Response: 0,
  });
});

test("Session: a middleware, cookies and an observer add no AbortController or Headers", async () => {
  const passThrough: Middleware = (request, next) => next(request);
  const events: string[] = [];
  const counts = await perRequest({
    headers: { authorization: "Bearer t0ken" },
    cookies: { a: "1", b: "2" },
    middleware: [passThrough],
    observe: (event) => events.push(event.type),
  });
  assert.equal(counts.AbortController, fetchSignal);
  assert.equal(counts.Headers, 0);
  assert.equal(counts.Response, 0);
  assert.ok(events.length >= REQUESTS * 3, "the observer saw the events");
});
