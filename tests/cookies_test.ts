import assert from "node:assert/strict";
import { CookieJar } from "../mod.ts";
import {
  CookieAttacher,
  parseCookieOptions,
  writeInitialCookies,
} from "../src/cookies.ts";
import { delay, test } from "./_test.ts";

test("CookieAttacher attaches the jar's cookies and stores Set-Cookie values", () => {
  const jar = new CookieJar();
  const cookies = new CookieAttacher(jar);
  const headers = { accept: "*/*" };
  const table: [Record<string, string>, string, Record<string, string>][] = [
    [headers, "https://a.test/", headers],
  ];
  for (const [input, url, expected] of table) {
    assert.equal(cookies.attach(input, url), expected, "no cookie: itself");
  }
  cookies.store(
    ["sid=1; Path=/", "theme=dark; Path=/docs"],
    "https://a.test/x",
  );
  const attached = cookies.attach(headers, "https://a.test/docs/y");
  assert.deepEqual(attached, { accept: "*/*", cookie: "theme=dark; sid=1" });
  // The same headers with the same cookie: the same object (adapters
  // cache work by it).
  assert.equal(cookies.attach(headers, "https://a.test/docs/y"), attached);
  assert.deepEqual(cookies.attach(headers, "https://a.test/"), {
    accept: "*/*",
    cookie: "sid=1",
  });
  // An explicit Cookie header wins; another host gets nothing.
  const explicit = { cookie: "mine=1" };
  assert.equal(cookies.attach(explicit, "https://a.test/"), explicit);
  assert.equal(cookies.attach(headers, "https://b.test/"), headers);
});

test("CookieJar.getCookieHeader() keeps up with changes and expiry", async () => {
  const jar = new CookieJar();
  jar.setCookie("a=1; Path=/", "https://a.test/");
  assert.equal(jar.getCookieHeader("https://a.test/"), "a=1");
  jar.setCookie("a=2; Path=/", "https://a.test/");
  assert.equal(jar.getCookieHeader("https://a.test/"), "a=2", "a change");
  jar.setCookie("b=1; Path=/; Max-Age=1", "https://a.test/");
  assert.equal(jar.getCookieHeader("https://a.test/"), "a=2; b=1");
  await delay(1_100);
  assert.equal(jar.getCookieHeader("https://a.test/"), "a=2", "expired");
  jar.clear();
  assert.equal(jar.getCookieHeader("https://a.test/"), "");
});

test("parseCookieOptions() checks and writes nothing", () => {
  const shared = new CookieJar();
  const config = parseCookieOptions(
    { cookieJar: shared, cookies: { sid: "x" } },
    true,
    "x",
  );
  assert.equal(config.jar, shared);
  assert.equal(shared.getCookieHeader("https://a.test/"), "", "not written");
  writeInitialCookies(shared, config.initial!, "https://a.test");
  assert.equal(shared.getCookieHeader("https://a.test/any"), "sid=x");
  assert.equal(
    parseCookieOptions({ cookieJar: false }, true, "x").jar,
    undefined,
  );
  for (
    const [options, hasBase, message] of [
      [{ cookieJar: {} }, true, /'cookieJar' must be a CookieJar or false/],
      [{ cookieJar: false, cookies: {} }, true, /needs a cookie jar/],
      [{ cookies: { a: "1" } }, false, /needs 'baseUrl'/],
      [{ cookies: { "a b": "1" } }, true, /not a valid cookie name/],
      [{ cookies: { a: "x;y" } }, true, /not a valid cookie name/],
      [{ cookies: [] }, true, /must be an object of names and values/],
    ] as const
  ) {
    assert.throws(() => parseCookieOptions(options, hasBase, "x"), message);
  }
});
