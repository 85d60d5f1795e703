import assert from "node:assert/strict";
import { NetworkError, SessionClosedError, TimeoutError } from "../../mod.ts";
import { describeCause, toSessionError } from "../../src/_pipeline/failure.ts";
import type { Timeouts } from "../../src/_timeouts.ts";
import { test } from "../_test.ts";

const request = { method: "GET", url: "https://api.test/x" };
const timeouts: Timeouts = {
  total: 1_000,
  connect: 100,
  headers: 200,
  bodyIdle: 0,
};
const coded = (code: string, message = code) =>
  Object.assign(new Error(message), { code });

test("toSessionError() maps adapters' codes to the library's errors", () => {
  const closed = new SessionClosedError("closed");
  const denied = coded("ERR_ACCESS_DENIED", "Requires net access");
  const table: [unknown, (error: unknown) => boolean, string][] = [
    [closed, (e) => e === closed, "a SessionError stays"],
    [denied, (e) => e === denied, "a runtime's refusal stays"],
    [
      coded("UND_ERR_CONNECT_TIMEOUT"),
      (e) =>
        e instanceof TimeoutError && e.phase === "connect" && e.timeout === 100,
      "connect timeout",
    ],
    [
      coded("UND_ERR_HEADERS_TIMEOUT"),
      (e) => e instanceof TimeoutError && e.phase === "headers",
      "headers timeout",
    ],
    [
      coded("UND_ERR_BODY_TIMEOUT"),
      (e) => e instanceof NetworkError,
      "a phase without a limit of its own is a network failure",
    ],
    [coded("ECONNRESET"), (e) => e instanceof NetworkError, "reset"],
    [new TypeError("fetch failed"), (e) => e instanceof NetworkError, "plain"],
    ["a string", (e) => e instanceof NetworkError, "not even an Error"],
  ];
  for (const [error, expected, why] of table) {
    const mapped = toSessionError(error, request, timeouts);
    assert.ok(expected(mapped), `${why}: ${mapped}`);
    if (mapped instanceof NetworkError) {
      assert.equal(mapped.cause, error);
      assert.deepEqual(mapped.request, request);
    }
  }
});

test("describeCause() tells the most useful message, never credentials", () => {
  const inner = coded("ECONNRESET", "socket hang up");
  const table: [unknown, string][] = [
    [new Error("plain"), "plain"],
    [
      new TypeError("fetch failed", { cause: inner }),
      "ECONNRESET: socket hang up",
    ],
    [
      new TypeError("fetch failed", {
        cause: new Error("error sending request for http://user:pw@a.test/"),
      }),
      "error sending request for http://a.test/",
    ],
    ["just text", "just text"],
  ];
  for (const [error, expected] of table) {
    assert.equal(describeCause(error), expected);
  }
});
