import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { CHANNELS, type SessionEvent } from "../mod.ts";
import { channelsListened, makeEmitter, parseObserve } from "../src/events.ts";
import { test } from "./_test.ts";

const event: SessionEvent = {
  type: "request",
  method: "GET",
  url: "https://a.test/",
  attempt: 0,
};

test("makeEmitter() gives events to observe and to channel subscribers", () => {
  const observed: SessionEvent[] = [];
  const published: unknown[] = [];
  const onMessage = (message: unknown) => published.push(message);
  assert.equal(channelsListened(), false);
  diagnostics.subscribe(CHANNELS.request, onMessage);
  try {
    assert.equal(channelsListened(), true);
    makeEmitter((e) => observed.push(e))(event);
    makeEmitter(undefined)(event);
  } finally {
    diagnostics.unsubscribe(CHANNELS.request, onMessage);
  }
  assert.equal(channelsListened(), false);
  assert.deepEqual(observed, [event]);
  assert.deepEqual(published, [event, event]);
});

test("makeEmitter(): an observer that throws does not break the request", () => {
  const error = console.error;
  const reported: unknown[] = [];
  console.error = (...args: unknown[]) => reported.push(args);
  try {
    makeEmitter(() => {
      throw new Error("observer");
    })(event);
  } finally {
    console.error = error;
  }
  assert.equal(reported.length, 1);
  assert.throws(() => parseObserve(1, "x"), /'observe' must be a function/);
  assert.equal(parseObserve(undefined, "x"), undefined);
});
