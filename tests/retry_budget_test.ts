// retry.budget against an upstream that always fails.
import assert from "node:assert/strict";
import { HttpError, Session, type SessionEvent } from "../mod.ts";
import { startServer } from "./_server.ts";
import { test } from "./_test.ts";
import { RetryBudget } from "../src/retry_budget.ts";

test("retry.budget caps the retries against an always-503 server at its share", async () => {
  await using server = await startServer({ routes: { "*": { status: 503 } } });
  const skipped: SessionEvent[] = [];
  await using session = new Session({
    baseUrl: server.url,
    retry: {
      limit: 2,
      backoff: () => 0,
      budget: { ratio: 0.1, minPerSecond: 0 },
    },
    observe: (event) => {
      if (event.type === "retry" && event.reason === "budget") {
        skipped.push(event);
      }
    },
  });
  const results = await Promise.all(
    Array.from(
      { length: 100 },
      (_, i) => session.get(`x/${i}`).then(() => undefined, (e) => e),
    ),
  );
  assert.ok(results.every((error) => error instanceof HttpError));
  // 100 requests, and at most 10% more as retries (without the budget: 300).
  const sent = server.requests.length;
  assert.ok(sent >= 100 && sent <= 110, `${sent} requests reached the server`);
  assert.ok(skipped.length >= 90, `${skipped.length} retries were skipped`);
  assert.equal(skipped[0].type === "retry" && skipped[0].status, 503);
});

test("retry.budget: minPerSecond lets retries through when traffic is low", async () => {
  await using server = await startServer({ routes: { "*": { status: 503 } } });
  await using session = new Session({
    baseUrl: server.url,
    retry: {
      limit: 2,
      backoff: () => 0,
      budget: { ratio: 0, minPerSecond: 1 },
    },
  });
  // 1 a second is 10 retries over the 10 s the budget looks back: six
  // requests would retry twice each (12), the budget lets 10 through.
  for (let i = 0; i < 6; i++) {
    await assert.rejects(session.get(`y/${i}`), HttpError);
  }
  assert.equal(server.requests.length, 6 + 10);
});

test("retry.budget: bad values are errors, and a request cannot set one", async () => {
  for (
    const [budget, message] of [
      [{ ratio: -1 }, /retry.budget.ratio' must be a number/],
      [
        { ratio: 0.1, minPerSecond: NaN },
        /minPerSecond' must be a non-negative/,
      ],
      [{ ratio: 0.1, per: 1 }, /'retry.budget.per' is not a known/],
      [true, /'retry.budget' must be an object/],
    ] as [unknown, RegExp][]
  ) {
    assert.throws(
      () => new Session({ retry: { budget: budget as never } }),
      message,
      JSON.stringify(budget),
    );
  }
  await using session = new Session({});
  await assert.rejects(
    session.get("http://a.test/", { retry: { budget: { ratio: 1 } } }),
    /'retry.budget' belongs to the session/,
  );
});

test("RetryBudget counts the last 10 seconds, whole", () => {
  // ratio 1, no floor: as many retries as requests of the last 10 s.
  const budget = new RetryBudget(1, 0);
  budget.request(0);
  budget.request(8_000);
  assert.equal(budget.tryRetry(8_600), true);
  assert.equal(budget.tryRetry(8_700), true, "both requests are in the window");
  assert.equal(budget.tryRetry(8_800), false);
  const later = new RetryBudget(1, 0);
  for (let i = 0; i < 5; i++) later.request(0);
  later.request(2_000);
  later.request(10_000);
  // The five at 0 s have left the window: 2 requests, so 2 retries.
  assert.equal(later.tryRetry(10_600), true);
  assert.equal(later.tryRetry(10_700), true);
  assert.equal(later.tryRetry(10_800), false);
});
