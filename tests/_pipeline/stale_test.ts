import assert from "node:assert/strict";
import { type FailedSend, resendsStale } from "../../src/_pipeline/stale.ts";
import { test } from "../_test.ts";

const closed = Object.assign(new Error("other side closed"), {
  code: "ECONNRESET",
});
const refused = Object.assign(new Error("connect ECONNREFUSED"), {
  code: "ECONNREFUSED",
});
const wrapped = new TypeError("fetch failed", { cause: closed });

const base: FailedSend = {
  error: closed,
  reused: true,
  method: "GET",
  replayable: true,
  aborted: false,
  resent: false,
};

test("resendsStale() resends an idempotent request a kept-alive connection failed, once", () => {
  const table: [Partial<FailedSend>, boolean, string][] = [
    [{}, true, "a reset on a reused connection"],
    [{ reused: undefined }, true, "the runtime does not say (Deno, Bun)"],
    [{ error: wrapped }, true, "the code is in the cause chain"],
    [{ reused: false }, false, "a new connection cannot be stale"],
    [{ error: refused }, false, "not a closed connection"],
    [{ error: new Error("boom") }, false, "no code at all"],
    [{ method: "POST" }, false, "not idempotent"],
    [{ method: "PATCH" }, false, "not idempotent"],
    [{ method: "PUT" }, true, "idempotent"],
    [{ replayable: false }, false, "a one-shot stream body"],
    [{ aborted: true }, false, "the call was aborted"],
    [{ resent: true }, false, "only once"],
  ];
  for (const [change, expected, why] of table) {
    assert.equal(resendsStale({ ...base, ...change }), expected, why);
  }
});
