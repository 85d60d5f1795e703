// Credentials stay on the origin they were given for: baseUrl's user info
// and the session's Authorization, Proxy-Authorization and Cookie headers go
// to baseUrl's origin only, through every path a request can take.
import assert from "node:assert/strict";
import { type Middleware, Session } from "../mod.ts";
import { type SeenRequest, startServer } from "./_server.ts";
import { test } from "./_test.ts";

const SECRETS = {
  authorization: "Bearer s3cret",
  "proxy-authorization": "Basic cHJveHk6cHc=",
  cookie: "sid=abc",
};

function credentials(seen: SeenRequest): Record<string, unknown> {
  return {
    authorization: seen.headers.authorization,
    "proxy-authorization": seen.headers["proxy-authorization"],
    cookie: seen.headers.cookie,
  };
}

const NONE = {
  authorization: undefined,
  "proxy-authorization": undefined,
  cookie: undefined,
};

test("credentials: baseUrl user info is sent to baseUrl's origin only", async () => {
  await using api = await startServer();
  await using other = await startServer();
  const base = api.url.replace("http://", "http://ada:hunter2@") + "/v1";
  await using session = new Session({ baseUrl: base });
  await session.get("users").text();
  await session.get(`${api.url}/absolute`).text(); // same origin, absolute
  await session.get(`${other.url}/elsewhere`).text();
  const basic = "Basic " + btoa("ada:hunter2");
  assert.equal(api.requests[0].headers.authorization, basic);
  assert.equal(api.requests[1].headers.authorization, basic);
  assert.equal(other.requests[0].headers.authorization, undefined);
});

test("credentials: session Authorization, Proxy-Authorization and Cookie stay on baseUrl's origin", async () => {
  await using api = await startServer();
  await using other = await startServer();
  await using session = new Session({
    baseUrl: api.url,
    headers: { ...SECRETS, "x-team": "core" },
  });
  await session.get("x").text();
  await session.get(`${other.url}/y`).text();
  await session.get(`${other.url}/z`, {
    headers: { authorization: "Bearer own" },
  }).text();
  assert.deepEqual(credentials(api.requests[0]), SECRETS);
  assert.deepEqual(credentials(other.requests[0]), NONE);
  assert.equal(other.requests[0].headers["x-team"], "core", "others stay");
  assert.equal(other.requests[1].headers.authorization, "Bearer own");
  assert.equal(other.requests[1].headers.cookie, undefined);
});

test("credentials: without a baseUrl, session headers go to every origin", async () => {
  await using one = await startServer();
  await using two = await startServer();
  await using session = new Session({ headers: SECRETS });
  await session.get(`${one.url}/a`).text();
  await session.get(`${two.url}/b`).text();
  assert.deepEqual(credentials(one.requests[0]), SECRETS);
  assert.deepEqual(credentials(two.requests[0]), SECRETS);
});

test("credentials: session.fetch() scopes them the same way", async () => {
  await using api = await startServer();
  await using other = await startServer();
  await using session = new Session({ baseUrl: api.url, headers: SECRETS });
  await (await session.fetch("a")).text();
  await (await session.fetch(`${other.url}/b`)).text();
  await (await session.fetch(
    new Request(`${other.url}/c`, { headers: { authorization: "Bearer own" } }),
  )).text();
  assert.deepEqual(credentials(api.requests[0]), SECRETS);
  assert.deepEqual(credentials(other.requests[0]), NONE);
  assert.equal(other.requests[1].headers.authorization, "Bearer own");
});

test("credentials: a middleware that sends the request elsewhere does not take them along", async () => {
  await using api = await startServer();
  await using mirror = await startServer();
  const toMirror: Middleware = (request, next) => {
    request.url = request.url.replace(api.url, mirror.url);
    if (request.url.endsWith("/signed")) {
      request.headers.set("authorization", "Bearer mirror-token");
    }
    return next(request);
  };
  await using session = new Session({
    baseUrl: api.url,
    headers: SECRETS,
    middleware: [toMirror],
  });
  await session.get("plain").text();
  await session.get("signed").text();
  assert.equal(api.requests.length, 0);
  assert.deepEqual(credentials(mirror.requests[0]), NONE);
  assert.equal(mirror.requests[1].headers.authorization, "Bearer mirror-token");
  assert.equal(mirror.requests[1].headers.cookie, undefined);
});

test("credentials: retries and redirects keep the rule", async () => {
  let calls = 0;
  await using other = await startServer({
    routes: {
      "/flaky": (_req, res) => {
        res.writeHead(++calls === 1 ? 503 : 200, { "retry-after": "0" });
        res.end("ok");
      },
    },
  });
  await using api = await startServer({
    routes: {
      "/away": { status: 302, headers: { location: `${other.url}/landed` } },
    },
  });
  await using session = new Session({
    baseUrl: api.url.replace("http://", "http://ada:hunter2@"),
    headers: { cookie: "sid=abc" },
  });
  await session.get(`${other.url}/flaky`).text();
  assert.equal(other.requests.length, 2, "retried once");
  for (const seen of other.requests) assert.deepEqual(credentials(seen), NONE);
  await session.get("away").text();
  assert.equal(api.requests[0].headers.cookie, "sid=abc");
  assert.ok(
    api.requests[0].headers.authorization?.toString().startsWith("Basic"),
  );
  assert.deepEqual(credentials(other.requests[2]), NONE);
});
