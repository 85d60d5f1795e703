import assert from "node:assert/strict";
import {
  DEFAULT_REDIRECTS,
  isRedirect,
  parseRedirects,
  type RedirectInput,
  redirectStep,
} from "../src/_redirects.ts";
import { test } from "./_test.ts";

const base: RedirectInput = {
  status: 302,
  location: "/next",
  method: "GET",
  url: "https://api.test/start",
  origin: "https://api.test",
  followed: 0,
  hasBody: false,
  replayable: true,
};

test("redirectStep() follows, changes the method, or says why not", () => {
  const table: [Partial<RedirectInput>, Record<string, unknown>][] = [
    [{}, { follow: true, method: "GET", dropBody: false, crossOrigin: false }],
    [{ status: 303, method: "POST", hasBody: true }, {
      follow: true,
      method: "GET",
      dropBody: true,
    }],
    [{ status: 303, method: "HEAD" }, { follow: true, method: "HEAD" }],
    [{ status: 301, method: "POST", hasBody: true }, {
      follow: true,
      method: "GET",
      dropBody: true,
    }],
    [{ status: 302, method: "PUT", hasBody: true }, {
      follow: true,
      method: "PUT",
      dropBody: false,
    }],
    [{ status: 307, method: "POST", hasBody: true }, {
      follow: true,
      method: "POST",
      dropBody: false,
    }],
    [{ status: 308, method: "POST", hasBody: true, replayable: false }, {
      follow: false,
      reason: "unreplayable",
    }],
    [{ status: 303, method: "POST", hasBody: true, replayable: false }, {
      follow: true,
      dropBody: true,
    }],
    [{ location: "https://cdn.test/x" }, { follow: true, crossOrigin: true }],
    [{ location: "http://api.test/x" }, { follow: true, crossOrigin: true }],
    [{ location: "ftp://api.test/x" }, {
      follow: false,
      reason: "invalid-location",
    }],
    [{ location: "http://[::1" }, {
      follow: false,
      reason: "invalid-location",
    }],
    [{ followed: 10 }, { follow: false, reason: "max-redirects" }],
  ];
  for (const [change, expected] of table) {
    const step = redirectStep({ ...base, ...change }, DEFAULT_REDIRECTS);
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(
        (step as unknown as Record<string, unknown>)[key],
        value,
        `${JSON.stringify(change)}: ${key}`,
      );
    }
  }
  const error = redirectStep(base, { mode: "error", max: 10 });
  assert.equal(error.follow ? "" : error.reason, "forbidden");
  const step = redirectStep(
    { ...base, location: "https://u:p@cdn.test/a?b=1" },
    DEFAULT_REDIRECTS,
  );
  assert.ok(step.follow);
  assert.equal(step.target.url, "https://cdn.test/a?b=1", "no credentials");
  assert.match(step.target.authorization ?? "", /^Basic /);
});

test("isRedirect() and parseRedirects()", () => {
  for (const status of [301, 302, 303, 307, 308]) assert.ok(isRedirect(status));
  for (const status of [200, 300, 304, 305, 306, 309, 404]) {
    assert.ok(!isRedirect(status), String(status));
  }
  assert.equal(parseRedirects({}, DEFAULT_REDIRECTS, "x"), DEFAULT_REDIRECTS);
  assert.deepEqual(
    parseRedirects({ redirect: "manual" }, DEFAULT_REDIRECTS, "x"),
    { mode: "manual", max: 10 },
  );
  assert.throws(
    () => parseRedirects({ redirect: "never" }, DEFAULT_REDIRECTS, "x"),
    /'redirect' must be "follow", "manual" or "error"/,
  );
  assert.throws(
    () => parseRedirects({ maxRedirects: -1 }, DEFAULT_REDIRECTS, "x"),
    RangeError,
  );
});
