import assert from "node:assert/strict";
import { mergeHeaders } from "../mod.ts";
import { test } from "./_test.ts";

test("mergeHeaders() lays request headers over session headers", () => {
  const base = { accept: "application/json", "x-a": "1" };
  const table: [Parameters<typeof mergeHeaders>[1], Record<string, string>][] =
    [
      [undefined, base],
      [{}, base],
      [{ "X-A": "2" }, { accept: "application/json", "x-a": "2" }],
      [{ "x-a": undefined }, { accept: "application/json" }],
      [{ "X-B": "3" }, { ...base, "x-b": "3" }],
      [new Headers({ "X-C": "4" }), { ...base, "x-c": "4" }],
      [[["x-d", "5"]], { ...base, "x-d": "5" }],
      [[["x-d", "5"], ["x-d", "6"]], { ...base, "x-d": "5, 6" }],
    ];
  for (const [extra, expected] of table) {
    assert.deepEqual(mergeHeaders(base, extra), expected);
  }
  assert.deepEqual(
    base,
    { accept: "application/json", "x-a": "1" },
    "base unchanged",
  );
});

test("mergeHeaders() rejects CR, LF, NUL and bad names", () => {
  const bad: Parameters<typeof mergeHeaders>[1][] = [
    { "x-a": "1\r\nx-injected: 1" },
    { "x-a": "1\n" },
    { "x-a": "a\0b" },
    { "bad name": "1" },
    { "x:y": "1" },
    { "": "1" },
    { "x-a": 1 as unknown as string },
    [["x-a"]] as unknown as [string, string][],
  ];
  for (const headers of bad) {
    assert.throws(
      () => mergeHeaders({}, headers),
      TypeError,
      JSON.stringify(headers),
    );
  }
});
