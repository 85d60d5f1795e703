import assert from "node:assert/strict";
import { QueueFullError } from "../mod.ts";
import { Limiter } from "../src/limiter.ts";
import { test } from "./_test.ts";

test("Limiter holds the total limit and queues in priority order", async () => {
  const limiter = new Limiter({ limit: 1 });
  const first = await limiter.acquire("a");
  const order: string[] = [];
  const take = (name: string, priority?: number) =>
    limiter.acquire("a", { priority }).then((permit) => {
      order.push(name);
      setTimeout(() => permit.release(), 1);
    });
  const waits = [
    take("low-1"),
    take("low-2"),
    take("high", 5),
    take("lowest", -1),
  ];
  assert.equal(limiter.queued, 4);
  first.release();
  first.release(); // idempotent
  await Promise.all(waits);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(order, ["high", "low-1", "low-2", "lowest"]);
  assert.equal(limiter.active, 0);
});

test("Limiter holds the per-host limit without blocking other hosts", async () => {
  const limiter = new Limiter({ limitPerHost: 1 });
  const a1 = await limiter.acquire("a");
  const a2 = limiter.acquire("a");
  const b1 = await limiter.acquire("b"); // not blocked by a's queue
  assert.equal(limiter.active, 2);
  assert.equal(limiter.queued, 1);
  a1.release();
  (await a2).release();
  b1.release();
  assert.equal(limiter.active, 0);
});

test("Limiter rejects over maxQueue and on abort", async () => {
  const limiter = new Limiter({ limit: 1, maxQueue: 1 });
  using _held = await limiter.acquire("a");
  const controller = new AbortController();
  const queued = limiter.acquire("a", { signal: controller.signal });
  await assert.rejects(limiter.acquire("a"), QueueFullError);
  controller.abort(new Error("stop"));
  await assert.rejects(queued, { message: "stop" });
  assert.equal(limiter.queued, 0);
});

test("Limiter: a waiter aborted while queued frees its place in maxQueue and is skipped; any abort source will do", async () => {
  const limiter = new Limiter({ limit: 1, maxQueue: 2 });
  const held = await limiter.acquire("a");
  const controller = new AbortController();
  const aborted = limiter.acquire("a", { signal: controller.signal });
  const kept = limiter.acquire("a");
  controller.abort(new Error("stop"));
  await assert.rejects(aborted, { message: "stop" });
  assert.equal(limiter.queued, 1);
  // Its place is free again.
  const third = limiter.acquire("a");
  held.release();
  const permit = await kept; // the aborted waiter was skipped
  assert.equal(limiter.active, 1);
  permit.release();
  (await third).release();
  assert.equal(limiter.active, 0);

  // 10,000 waiters aborted (through a plain abort source, as sessions pass
  // their calls) behind a permit that is never released: none counts as
  // queued, and the next waiter gets the permit.
  const blocked = new Limiter({ limit: 1 });
  const forever = await blocked.acquire("a");
  for (let i = 0; i < 10_000; i++) {
    const source = {
      aborted: false,
      reason: undefined as unknown,
      listeners: [] as (() => void)[],
      addEventListener(_type: "abort", listener: () => void) {
        this.listeners.push(listener);
      },
      removeEventListener() {},
    };
    const waiting = blocked.acquire("a", { signal: source });
    source.aborted = true;
    source.reason = new Error(`abort ${i}`);
    for (const listener of source.listeners) listener();
    await assert.rejects(waiting, { message: `abort ${i}` });
  }
  assert.equal(blocked.queued, 0);
  const last = blocked.acquire("a");
  forever.release();
  (await last).release();
  assert.equal(blocked.active, 0);
});

test("new Limiter() checks its own options", () => {
  for (
    const [options, type] of [
      [{ limit: -1 }, RangeError],
      [{ limitPerHost: 1.5 }, RangeError],
      [{ maxQueue: "10" }, TypeError],
      [{ deferHandoff: "yes" }, TypeError],
      [null, TypeError],
    ] as const
  ) {
    assert.throws(
      () => new Limiter(options as never),
      (error: Error) =>
        error instanceof type &&
        /^Cannot create limiter as/.test(error.message),
      JSON.stringify(options),
    );
  }
  assert.equal(new Limiter({ maxQueue: Infinity }).queued, 0);
});
