import assert from "node:assert/strict";
import { appendParams, parseBaseUrl, resolveTarget } from "../src/url.ts";
import { test } from "./_test.ts";

test("resolveTarget() joins relative paths onto baseUrl", () => {
  const table: [string, string, string][] = [
    ["https://api.test/v1", "users", "https://api.test/v1/users"],
    ["https://api.test/v1/", "users", "https://api.test/v1/users"],
    ["https://api.test/v1", "/users", "https://api.test/v1/users"],
    ["https://api.test/v1/", "/users", "https://api.test/v1/users"],
    ["https://api.test/v1", "users/42?x=1", "https://api.test/v1/users/42?x=1"],
    ["https://api.test/v1", "", "https://api.test/v1"],
    ["https://api.test/v1", "?q=1", "https://api.test/v1?q=1"],
    ["https://api.test", "users", "https://api.test/users"],
    ["https://api.test/", "", "https://api.test/"],
    ["https://api.test/v1", "a/../b", "https://api.test/v1/b"],
    ["https://api.test/v1", "a b", "https://api.test/v1/a%20b"],
    ["https://api.test:443/v1", "x", "https://api.test/v1/x"],
    ["http://127.0.0.1:8081/v4", "", "http://127.0.0.1:8081/v4"],
    ["https://api.test/v1", "https://other.test/x", "https://other.test/x"],
    ["https://api.test/v1", "HTTP://Other.test:80/x", "http://other.test/x"],
  ];
  for (const [base, input, expected] of table) {
    const target = resolveTarget(input, parseBaseUrl(base));
    assert.equal(target.origin + target.path, expected, `${base} + ${input}`);
  }
});

test("resolveTarget() accepts URL objects and rejects bad input", () => {
  const target = resolveTarget(new URL("http://a.test/x?y=1"), undefined);
  assert.equal(target.origin + target.path, "http://a.test/x?y=1");
  assert.throws(() => resolveTarget("users", undefined), {
    name: "TypeError",
    message: /relative URL and the session has no 'baseUrl'/,
  });
  assert.throws(() => resolveTarget("ftp://a.test/x", undefined), {
    name: "TypeError",
    message: /only http and https/,
  });
  assert.throws(() => resolveTarget("http://[bad", undefined), TypeError);
});

test("resolveTarget() turns URL user info into Basic auth", () => {
  const target = resolveTarget("https://ada:s3cr%20t@api.test/x", undefined);
  assert.equal(target.origin + target.path, "https://api.test/x");
  assert.equal(target.authorization, "Basic " + btoa("ada:s3cr t"));
});

test("parseBaseUrl() rejects what is not an absolute http(s) URL", () => {
  for (
    const bad of [
      "api.test/v1",
      "/v1",
      "file:///etc",
      "https://api.test/v1?key=1",
      "https://api.test/#x",
    ]
  ) {
    assert.throws(() => parseBaseUrl(bad), TypeError, bad);
  }
  assert.throws(() => parseBaseUrl("https://user:hunter2@"), (error: Error) => {
    assert.ok(!error.message.includes("hunter2"), error.message);
    return error instanceof TypeError;
  });
});

test("appendParams() encodes records, arrays and URLSearchParams", () => {
  const table: [string, Parameters<typeof appendParams>[1], string][] = [
    ["/s", { q: "x" }, "/s?q=x"],
    ["/s", { q: "a b&c=d" }, "/s?q=a+b%26c%3Dd"],
    ["/s", { tag: ["a", "b"] }, "/s?tag=a&tag=b"],
    ["/s", { n: 1, t: true, u: undefined, z: null }, "/s?n=1&t=true"],
    ["/s?x=1", { y: "2" }, "/s?x=1&y=2"],
    ["/s", new URLSearchParams([["a", "1"], ["a", "2"]]), "/s?a=1&a=2"],
    ["/s", {}, "/s"],
    ["/s", { "ü": "é" }, "/s?%C3%BC=%C3%A9"],
  ];
  for (const [path, params, expected] of table) {
    assert.equal(appendParams(path, params), expected);
  }
  assert.throws(() => appendParams("/s", "q=1" as never), TypeError);
});
