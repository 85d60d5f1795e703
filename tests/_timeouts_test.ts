import assert from "node:assert/strict";
import {
  connectedTimer,
  DEFAULT_TIMEOUTS,
  parseTimeouts,
  sendTimer,
  type Timeouts,
} from "../src/_timeouts.ts";
import { test } from "./_test.ts";

const none: Timeouts = { total: 0, connect: 0, headers: 0, bodyIdle: 0 };

test("sendTimer() and connectedTimer() plan the phase timers of an attempt", () => {
  const table: [Partial<Timeouts>, boolean, unknown, unknown][] = [
    [{}, true, undefined, undefined],
    [{}, false, undefined, undefined],
    [{ connect: 100 }, true, { phase: "connect", limit: 100 }, undefined],
    [{ connect: 100 }, false, undefined, undefined],
    [{ headers: 200 }, true, { phase: "headers", limit: 200 }, {
      phase: "headers",
      limit: 200,
    }],
    [{ headers: 200 }, false, { phase: "headers", limit: 200 }, {
      phase: "headers",
      limit: 200,
    }],
    [{ connect: 100, headers: 200 }, true, { phase: "connect", limit: 100 }, {
      phase: "headers",
      limit: 200,
    }],
  ];
  for (const [change, reports, send, connected] of table) {
    const timeouts = { ...none, ...change };
    assert.deepEqual(
      sendTimer(timeouts, reports),
      send,
      JSON.stringify(change),
    );
    assert.deepEqual(connectedTimer(timeouts), connected);
  }
  // Without a connect report, connect and headers are bounded together.
  const together = sendTimer({ ...none, connect: 100, headers: 200 }, false)!;
  assert.equal(together.phase, "headers");
  assert.equal(together.limit, 300);
  assert.match(
    together.detail ?? "",
    /does not report when a connection is made/,
  );
});

test("parseTimeouts() takes a total or phases, over a base", () => {
  assert.equal(
    parseTimeouts(undefined, DEFAULT_TIMEOUTS, "x"),
    DEFAULT_TIMEOUTS,
  );
  assert.deepEqual(parseTimeouts(5_000, DEFAULT_TIMEOUTS, "x"), {
    ...DEFAULT_TIMEOUTS,
    total: 5_000,
  });
  assert.deepEqual(
    parseTimeouts({ headers: 10, bodyIdle: Infinity }, DEFAULT_TIMEOUTS, "x"),
    { ...DEFAULT_TIMEOUTS, headers: 10, bodyIdle: 0 },
  );
  for (
    const [bad, message] of [
      [{ foo: 1 }, /'timeout.foo' is not a known phase/],
      [-1, /'timeout' must be a non-negative number/],
      [{ connect: Number.NaN }, /'timeout.connect'/],
      ["5s", /'timeout' must be a number of milliseconds or an object/],
      [2 ** 40, /at most/],
    ] as const
  ) {
    assert.throws(() => parseTimeouts(bad, DEFAULT_TIMEOUTS, "x"), message);
  }
});
