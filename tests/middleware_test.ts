import assert from "node:assert/strict";
import {
  type Middleware,
  SessionRequest,
  type SessionResponse,
} from "../mod.ts";
import {
  compose,
  makeRequest,
  parseMiddleware,
  requestHeaders,
} from "../src/middleware.ts";
import { test } from "./_test.ts";

const answer = {} as SessionResponse;

function request(): SessionRequest {
  return makeRequest({
    method: "GET",
    url: "https://a.test/",
    headers: { accept: "*/*" },
    body: null,
    attempt: 0,
    source: {
      get signal(): AbortSignal {
        throw new Error("the signal was made");
      },
    },
  });
}

test("compose() runs middleware outermost first, with the context to the end", async () => {
  const seen: string[] = [];
  const layer = (name: string): Middleware => async (req, next) => {
    seen.push(`${name} in`);
    const response = await next(req);
    seen.push(`${name} out`);
    return response;
  };
  const chain = compose<number>(
    [layer("a"), layer("b")],
    (_req, context) => {
      seen.push(`end ${context}`);
      return Promise.resolve(answer);
    },
  );
  assert.equal(await chain(request(), 7), answer);
  assert.deepEqual(seen, ["a in", "b in", "end 7", "b out", "a out"]);
});

test("compose(): next() without a request sends the same one; a wrong one is refused", async () => {
  const sent: SessionRequest[] = [];
  const end = (req: SessionRequest) => {
    sent.push(req);
    return Promise.resolve(answer);
  };
  const first = request();
  await compose([(_req, next) => next()], end)(first, 0);
  assert.equal(sent[0], first);
  await assert.rejects(
    compose([(_req, next) => next({} as SessionRequest)], end)(request(), 0),
    /next\(\) was given something other than a SessionRequest/,
  );
  // A middleware that throws synchronously rejects the chain.
  await assert.rejects(
    compose([() => {
      throw new Error("sync");
    }], end)(request(), 0),
    /sync/,
  );
});

test("SessionRequest makes its Headers and signal only when asked", () => {
  const req = request();
  // Untouched: the record goes on as it is.
  assert.deepEqual(requestHeaders(req), { accept: "*/*" });
  req.headers.set("x-a", "1");
  const headers = requestHeaders(req);
  assert.ok(headers instanceof Headers);
  assert.equal(headers.get("x-a"), "1");
  assert.throws(() => req.signal, /the signal was made/);
  // The public constructor takes them as given.
  const controller = new AbortController();
  const made = new SessionRequest({
    method: "POST",
    url: "https://a.test/",
    headers: new Headers({ b: "2" }),
    body: "x",
    attempt: 1,
    signal: controller.signal,
  });
  assert.equal(made.headers.get("b"), "2");
  assert.equal(made.signal, controller.signal);
});

test("parseMiddleware() wants an array of functions", () => {
  assert.deepEqual(parseMiddleware(undefined, "x"), []);
  for (const bad of [() => {}, [1], "m"]) {
    assert.throws(
      () => parseMiddleware(bad, "x"),
      /'middleware' must be an array of functions/,
    );
  }
});
