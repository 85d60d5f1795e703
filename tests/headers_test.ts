import assert from "node:assert/strict";
import { Session } from "../mod.ts";
import { mergeHeaders } from "../src/headers.ts";
import { startServer } from "./_server.ts";
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

test("mergeHeaders() rejects hop-by-hop headers, naming them", () => {
  for (
    const name of [
      "Connection",
      "Upgrade",
      "Keep-Alive",
      "Proxy-Connection",
      "Transfer-Encoding",
      "TE",
      "Trailer",
    ]
  ) {
    assert.throws(
      () => mergeHeaders({}, { [name]: "x" }),
      (error: Error) =>
        error instanceof TypeError &&
        error.message.includes(`header '${name}' is hop-by-hop`),
      name,
    );
    assert.throws(() => mergeHeaders({}, [[name, "x"]]), TypeError, name);
    assert.throws(
      () => mergeHeaders({}, new Headers({ [name]: "x" })),
      TypeError,
      name,
    );
  }
});

test("mergeHeaders() checks values as fetch does", () => {
  for (const value of ["a\x01b", "a\x7fb", "price: 5\u20ac", "\x1b[0m"]) {
    assert.throws(
      () => mergeHeaders({}, { "x-a": value }),
      (error: Error) => error instanceof TypeError && /x-a/.test(error.message),
      JSON.stringify(value),
    );
  }
  assert.deepEqual(
    mergeHeaders({}, { "x-tab": "a\tb", "x-latin": "caf\u00e9" }),
    { "x-tab": "a\tb", "x-latin": "caf\u00e9" },
  );
  // Leading and trailing spaces and tabs are stripped, as fetch does.
  assert.deepEqual(mergeHeaders({}, { "x-a": " \t1 2\t " }), { "x-a": "1 2" });
});

test("mergeHeaders() rejects what it cannot read instead of dropping it", () => {
  for (
    const input of [
      new Map([["x-a", "1"]]),
      new Set(["x-a"]),
      new Date(0),
      "x-a: 1",
      42,
    ]
  ) {
    assert.throws(
      () => mergeHeaders({}, input as never),
      (error: Error) =>
        error instanceof TypeError && /'headers' must be/.test(error.message),
      String(input),
    );
  }
  assert.throws(
    () => mergeHeaders({}, new Map() as never),
    /Object\.fromEntries\(map\)/,
    "says how to pass a Map",
  );
  // A repeated pair joins its values, whatever the base held.
  assert.deepEqual(
    mergeHeaders({ "x-a": "1" }, [["x-a", "1"], ["x-b", "2"], ["x-a", "3"]]),
    { "x-a": "1, 3", "x-b": "2" },
  );
});

test("Session: hop-by-hop headers and bad values are refused before anything is sent", async () => {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url });
  const refused: [string, Promise<unknown>][] = [
    [
      "connection",
      session.get("a", {
        headers: { connection: "upgrade", upgrade: "websocket" },
      }),
    ],
    [
      "transfer-encoding",
      session.post("a", {
        body: "x",
        headers: { "transfer-encoding": "chunked" },
      }),
    ],
    ["x-a", session.get("a", { headers: { "x-a": "a\x01b" } })],
    ["x-b", session.get("a", { headers: { "x-b": "\u20ac" } })],
    ["upgrade", session.fetch("a", { headers: { upgrade: "h2c" } })],
  ];
  for (const [name, request] of refused) {
    await assert.rejects(
      request,
      (error: Error) =>
        error instanceof TypeError && error.message.includes(name),
      name,
    );
  }
  assert.equal(server.requests.length, 0, "nothing was sent");
  assert.throws(
    () => new Session({ headers: { Connection: "keep-alive" } }),
    /'Connection' is hop-by-hop/,
  );
  // A middleware cannot slip one in either.
  await using wedging = new Session({
    baseUrl: server.url,
    middleware: [(request, next) => {
      request.headers.set("connection", "upgrade");
      return next(request);
    }],
  });
  await assert.rejects(wedging.get("a"), /'connection' is hop-by-hop/);
  assert.equal(server.requests.length, 0);
  // The pool is untouched: the next request goes out on a fresh connection
  // and close() does not wait.
  const seen = await session.get("echo", {
    headers: { "x-latin": "caf\u00e9", "x-tab": "a\tb" },
  }).json() as { headers: Record<string, string> };
  assert.equal(seen.headers["x-tab"], "a\tb");
  assert.equal(
    server.requests[0].headers["x-latin"],
    "caf\u00e9",
    "sent as the byte 0xE9",
  );
});
