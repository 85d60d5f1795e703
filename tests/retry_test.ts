import assert from "node:assert/strict";
import { parseRetryAfter } from "../mod.ts";
import {
  type AttemptOutcome,
  DEFAULT_RETRY,
  parseRetry,
  retryDelay,
  type RetryPolicy,
} from "../src/retry.ts";
import { test } from "./_test.ts";

const policy: RetryPolicy = { ...DEFAULT_RETRY, backoff: (n) => n * 100 };
const base: AttemptOutcome = {
  attempt: 0,
  method: "GET",
  replayable: true,
  status: 503,
  retryAfter: null,
  networkError: false,
  remaining: Infinity,
};

test("retryDelay() decides whether and how long to wait", () => {
  const table: [Partial<AttemptOutcome>, number | undefined, string][] = [
    [{}, 100, "a retryable status: backoff(1)"],
    [{ attempt: 1 }, 200, "backoff(2) for the second retry"],
    [{ attempt: 2 }, undefined, "the limit (2) is reached"],
    [{ status: 404 }, undefined, "not a retryable status"],
    [{ method: "POST" }, undefined, "not a retried method"],
    [{ replayable: false }, undefined, "a one-shot body"],
    [{ retryAfter: "3" }, 3_000, "Retry-After in seconds"],
    [{ retryAfter: "nonsense" }, 100, "an unreadable Retry-After: backoff"],
    [{ status: undefined, networkError: true }, 100, "a network error"],
    [{ status: undefined }, undefined, "another error"],
    [{ remaining: 50 }, undefined, "the total timeout would cut the wait"],
    [{ remaining: 150 }, 100, "the wait fits"],
  ];
  for (const [change, expected, why] of table) {
    assert.equal(retryDelay(policy, { ...base, ...change }), expected, why);
  }
  const capped = { ...policy, maxRetryAfter: 1_000 };
  assert.equal(retryDelay(capped, { ...base, retryAfter: "3" }), undefined);
  const negative = { ...policy, backoff: () => -5 };
  assert.equal(retryDelay(negative, base), 0);
});

test("DEFAULT_RETRY's backoff is exponential with jitter", () => {
  for (let retry = 1; retry <= 4; retry++) {
    const base = 300 * 2 ** (retry - 1);
    for (let i = 0; i < 50; i++) {
      const delay = DEFAULT_RETRY.backoff(retry);
      assert.ok(delay >= base * 0.75 && delay <= base * 1.25, `${delay}`);
    }
  }
});

test("parseRetry() takes a count or a policy", () => {
  assert.equal(parseRetry(0, "x").limit, 0);
  assert.equal(parseRetry(5, "x").limit, 5);
  const custom = parseRetry({ methods: ["post"], statusCodes: [418] }, "x");
  assert.ok(custom.methods.has("POST"));
  assert.deepEqual([...custom.statusCodes], [418]);
  for (
    const [bad, message] of [
      [{ tries: 1 }, /'retry.tries' is not a known option/],
      [-1, /'retry' must be a non-negative integer/],
      ["2", /'retry' must be a number or an object/],
      [{ methods: "GET" }, /'retry.methods'/],
      [{ statusCodes: [99] }, /'retry.statusCodes'/],
      [{ backoff: 1 }, /'retry.backoff' must be a function/],
      [{ maxRetryAfter: -1 }, /'retry.maxRetryAfter'/],
    ] as const
  ) {
    assert.throws(() => parseRetry(bad, "create session"), message);
  }
});

test("parseRetryAfter() reads seconds and HTTP dates", () => {
  const now = Date.parse("Sun, 06 Nov 1994 08:49:37 GMT");
  const table: [string | null | undefined, number | undefined][] = [
    ["3", 3_000],
    [" 0 ", 0],
    ["Sun, 06 Nov 1994 08:49:47 GMT", 10_000],
    ["Sun, 06 Nov 1994 08:49:27 GMT", 0],
    ["soon", undefined],
    [null, undefined],
    [undefined, undefined],
  ];
  for (const [value, expected] of table) {
    assert.equal(parseRetryAfter(value, now), expected, String(value));
  }
});
