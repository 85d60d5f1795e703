import assert from "node:assert/strict";
import { parseSessionOptions } from "../../src/_config.ts";
import { prepare, type Session } from "../../src/_pipeline/prepare.ts";
import { resolveTarget } from "../../src/url.ts";
import type { SessionOptions } from "../../mod.ts";
import { test } from "../_test.ts";

function session(options: SessionOptions): Session {
  const config = parseSessionOptions(options, "create session");
  return {
    config,
    resolve: (url) => resolveTarget(url, config.base),
    headersFor: (origin) =>
      origin === config.base?.origin ? config.headers : config.foreignHeaders,
  };
}

test("prepare() plans a call: URL, headers for the origin, body, options", () => {
  const s = session({
    baseUrl: "https://u:p@api.test/v1",
    headers: { "x-team": "core", cookie: "sid=1" },
    timeout: 5_000,
  });
  const plain = prepare(s, "get", "users", undefined);
  assert.equal(plain.method, "GET");
  assert.equal(plain.info.url, "https://api.test/v1/users");
  assert.equal(plain.headers.authorization, "Basic dTpw");
  assert.equal(plain.headers.cookie, "sid=1");
  assert.equal(plain.inherits, true);
  assert.equal(plain.timeouts.total, 5_000);
  const other = prepare(s, "GET", "https://cdn.test/x", undefined);
  assert.equal(other.headers.authorization, undefined, "credentials stay");
  assert.equal(other.headers.cookie, undefined);
  assert.equal(other.headers["x-team"], "core");
  assert.equal(other.inherits, false);
  const full = prepare(s, "POST", "users", {
    params: { page: 2 },
    json: { a: 1 },
    headers: { "x-trace": "1" },
    timeout: { headers: 100 },
    retry: 0,
    priority: 3,
  });
  assert.equal(full.info.url, "https://api.test/v1/users?page=2");
  assert.equal(full.body, '{"a":1}');
  assert.equal(full.replay!(), '{"a":1}');
  assert.equal(full.headers["content-type"], "application/json");
  assert.equal(full.headers["x-trace"], "1");
  assert.deepEqual(
    [
      full.timeouts.total,
      full.timeouts.headers,
      full.retry.limit,
      full.priority,
    ],
    [5_000, 100, 0, 3],
  );
  const stream = new ReadableStream();
  const once = prepare(s, "PUT", "x", { body: stream });
  assert.equal(once.replay, undefined, "a stream is never replayed");
  const form = prepare(s, "POST", "x", { body: new URLSearchParams("a=1") });
  assert.match(form.headers["content-type"], /form-urlencoded/);
});

test("prepare() refuses what it cannot send, before anything is sent", () => {
  const s = session({ baseUrl: "https://api.test" });
  const table: [string, unknown, RegExp][] = [
    ["GET", { body: "x" }, /GET request cannot have a body/],
    ["POST", { body: "x", json: 1 }, /both set/],
    ["POST", { nope: 1 }, /'nope' is not a known option/],
    ["POST", { signal: {} }, /'signal' must be an AbortSignal/],
    ["POST", { priority: "high" }, /'priority' must be a number/],
    ["POST", { body: 42 }, /'body' must be a string, bytes/],
    ["BAD METHOD", undefined, /not a valid HTTP token/],
    ["POST", null, /options must be an object/],
  ];
  for (const [method, options, message] of table) {
    assert.throws(
      () => prepare(s, method, "x", options as never),
      message,
      `${method} ${JSON.stringify(options)}`,
    );
  }
});
