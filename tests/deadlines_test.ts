// The shared deadline queue: firing order, no firing after cancel, and
// memory that follows the requests in flight.
import assert from "node:assert/strict";
import {
  _deadlineStats,
  addDeadline,
  cancelDeadline,
  type Deadline,
} from "../src/_deadlines.ts";
import { delay, test, waitFor } from "./_test.ts";

test("Deadlines fire in deadline order across timeouts, never after cancel", async () => {
  const fired: number[] = [];
  const target = (n: number) => ({ onDeadline: () => fired.push(n) });
  addDeadline(60, target(60));
  const cancelled = addDeadline(20, target(-1));
  addDeadline(10, target(10));
  addDeadline(40, target(40));
  cancelDeadline(cancelled);
  cancelDeadline(cancelled); // idempotent
  await waitFor(() => fired.length === 3);
  assert.deepEqual(fired, [10, 40, 60]);
  assert.deepEqual(_deadlineStats(), { lists: 0, entries: 0 });
});

test("Deadlines: many distinct timeouts leave nothing behind once cancelled", () => {
  for (let i = 0; i < 5_000; i++) {
    cancelDeadline(addDeadline(1_000 + i + 0.5, { onDeadline() {} }));
  }
  assert.deepEqual(_deadlineStats(), { lists: 0, entries: 0 });
});

test("Deadlines: memory follows what is in flight, in and out of order", async () => {
  const live: Deadline[] = [];
  // 50 in flight; finishing out of order behind one long request.
  const long = addDeadline(60_000, { onDeadline() {} });
  for (let i = 0; i < 20_000; i++) {
    live.push(addDeadline(60_000, { onDeadline() {} }));
    if (live.length > 50) {
      cancelDeadline(live.splice(i % 50, 1)[0]);
    }
  }
  const { entries } = _deadlineStats();
  assert.ok(entries < 3_000, `${entries} entries kept for 52 in flight`);
  for (const deadline of live) cancelDeadline(deadline);
  cancelDeadline(long);
  assert.deepEqual(_deadlineStats(), { lists: 0, entries: 0 });

  // Deadlines that fire are dropped too.
  let fired = 0;
  for (let i = 0; i < 3_000; i++) {
    addDeadline(1, { onDeadline: () => fired++ });
  }
  await waitFor(() => fired === 3_000);
  await delay(5);
  assert.deepEqual(_deadlineStats(), { lists: 0, entries: 0 });
});
