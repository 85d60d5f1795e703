// Redirects, cookies, progress and size limits against real loopback
// servers; proxies, TLS and unix sockets against the components that
// tests/_net.ts starts in a Node child process.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  brotliCompressSync,
  deflateRawSync,
  deflateSync,
  gzipSync,
} from "node:zlib";
import {
  CookieJar,
  HttpError,
  type Progress,
  RedirectError,
  ResponseSizeError,
  Session,
  SessionError,
} from "../mod.ts";
import { bypassesProxy, parseNoProxy } from "../src/proxy.ts";
import { type RouteSpec, startServer } from "./_server.ts";
import { startNetFixtures } from "./_net.ts";
import { runScript } from "./_child.ts";
import { runtime, test, waitFor } from "./_test.ts";

type Echo = {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
};

// ---------------------------------------------------------------- redirects

test("redirects: a chain across origins is followed; credentials stay behind", async () => {
  await using other = await startServer();
  await using server = await startServer({
    routes: {
      "/start": { status: 302, headers: { location: "/middle?x=1" } },
      "/middle": { status: 307, headers: { location: `${other.url}/end` } },
    },
  });
  await using session = new Session({
    baseUrl: server.url,
    headers: { authorization: "Bearer t0ken", "x-keep": "1" },
    retry: 0,
  });
  const response = await session.get("start", {
    headers: { cookie: "manual=1", "proxy-authorization": "Basic eA==" },
  });
  const echo = await response.json<Echo>();
  assert.equal(response.status, 200);
  assert.equal(response.url, `${other.url}/end`);
  assert.equal(response.redirected, true);
  assert.deepEqual(response.redirectUrls, [
    `${server.url}/middle?x=1`,
    `${other.url}/end`,
  ]);
  // Same origin: everything is sent again.
  const middle = server.requests[1];
  assert.equal(middle.url, "/middle?x=1");
  assert.equal(middle.headers.authorization, "Bearer t0ken");
  assert.equal(middle.headers.cookie, "manual=1");
  // Another origin: no credentials.
  assert.equal(echo.url, "/end");
  assert.equal(echo.headers.authorization, undefined);
  assert.equal(echo.headers.cookie, undefined);
  assert.equal(echo.headers["proxy-authorization"], undefined);
  assert.equal(echo.headers["x-keep"], "1");
});

test("redirects: 303 and 301/302 after POST become GET without a body; 307/308 resend it", async () => {
  await using server = await startServer({
    routes: {
      "/see-other": { status: 303, headers: { location: "/target" } },
      "/found": { status: 302, headers: { location: "/target" } },
      "/temporary": { status: 307, headers: { location: "/target" } },
      "/permanent": { status: 308, headers: { location: "/target" } },
    },
  });
  await using session = new Session({ baseUrl: server.url, retry: 0 });
  for (
    const [path, method, body] of [
      ["see-other", "GET", ""],
      ["found", "GET", ""],
      ["temporary", "POST", '{"n":1}'],
      ["permanent", "POST", '{"n":1}'],
    ]
  ) {
    const echo = await session.post(path, { json: { n: 1 } }).json<Echo>();
    assert.equal(echo.method, method, path);
    assert.equal(echo.body, body, path);
    assert.equal(
      echo.headers["content-type"],
      method === "GET" ? undefined : "application/json",
      path,
    );
  }
  // PUT keeps its method on 302 (only POST is rewritten), 303 does not.
  server.route("/put-found", { status: 302, headers: { location: "/t" } });
  const put = await session.put("put-found", { body: "x" }).json<Echo>();
  assert.deepEqual([put.method, put.body], ["PUT", "x"]);
});

test("redirects: maxRedirects, manual, error, fetch() and unreplayable streams", async () => {
  await using server = await startServer({
    routes: {
      "/loop": { status: 301, headers: { location: "/loop" } },
      "/once": { status: 302, headers: { location: "/done" } },
      "/keep-body": { status: 307, headers: { location: "/done" } },
      "/bad": { status: 302, headers: { location: "ftp://127.0.0.1/x" } },
    },
  });
  await using session = new Session({
    baseUrl: server.url,
    maxRedirects: 3,
    retry: 0,
  });
  const loop = await session.get("loop").then(() => undefined, (e) => e);
  assert.ok(loop instanceof RedirectError);
  assert.equal(loop.reason, "max-redirects");
  assert.equal(loop.redirects, 3);
  assert.equal(loop.status, 301);
  assert.equal(server.requests.length, 4);

  const manual = await session.get("once", {
    redirect: "manual",
    raiseForStatus: false,
  });
  assert.equal(manual.status, 302);
  assert.equal(manual.redirected, false);
  assert.equal(manual.headers.get("location"), "/done");
  await manual.dump();
  // raiseForStatus treats a returned redirect as any other non-2xx.
  await assert.rejects(session.get("once", { redirect: "manual" }), HttpError);

  const forbidden = await session.get("once", { redirect: "error" }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(forbidden instanceof RedirectError);
  assert.equal(forbidden.reason, "forbidden");
  assert.equal(forbidden.location, `${server.url}/done`);

  const fetched = await session.fetch("once");
  assert.equal(fetched.redirected, true);
  assert.equal(fetched.url, `${server.url}/done`);
  assert.equal((await fetched.json() as Echo).url, "/done");
  const notFollowed = await session.fetch("once", { redirect: "manual" });
  assert.equal(notFollowed.status, 302);
  await notFollowed.body?.cancel();
  await assert.rejects(
    session.fetch("once", { redirect: "error" }),
    RedirectError,
  );

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("once"));
      controller.close();
    },
  });
  const unreplayable = await session.post("keep-body", { body: stream }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(unreplayable instanceof RedirectError);
  assert.equal(unreplayable.reason, "unreplayable");

  const invalid = await session.get("bad").then(() => undefined, (e) => e);
  assert.ok(invalid instanceof RedirectError);
  assert.equal(invalid.reason, "invalid-location");

  // Every redirect body was discarded: the pool is fine.
  assert.equal((await session.get("done").json<Echo>()).url, "/done");
  assert.ok(server.peakOpen <= 2, `peak ${server.peakOpen} connections`);
});

// ------------------------------------------------------------------ cookies

test("cookies: stored from responses, sent by path, expired, isolated per session", async () => {
  await using server = await startServer({
    routes: {
      "/login": {
        headers: {
          "set-cookie": [
            "sid=abc; Path=/; HttpOnly",
            "scoped=1; Path=/admin",
            "old=1; Path=/",
          ],
        },
        body: "ok",
      },
      "/logout": {
        headers: {
          "set-cookie": "sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        },
        body: "bye",
      },
      "/redirect-with-cookie": {
        status: 302,
        headers: { location: "/next", "set-cookie": "hop=1; Path=/" },
      },
    },
  });
  await using session = new Session({ baseUrl: server.url });
  await using stranger = new Session({ baseUrl: server.url });
  await session.get("login").text();
  const cookie = async (s: Session, path: string) =>
    (await s.get(path).json<Echo>()).headers.cookie;
  assert.equal(await cookie(session, "anything"), "sid=abc; old=1");
  assert.equal(
    await cookie(session, "admin/users"),
    "scoped=1; sid=abc; old=1",
  );
  assert.equal(await cookie(stranger, "anything"), undefined);

  await session.get("logout").text();
  assert.equal(await cookie(session, "anything"), "old=1");

  // A Set-Cookie on a redirect counts for the next hop.
  const hop = await session.get("redirect-with-cookie").json<Echo>();
  assert.equal(hop.url, "/next");
  assert.equal(hop.headers.cookie, "old=1; hop=1");

  // Host-only: 127.0.0.1's cookies are not sent to localhost.
  const port = new URL(server.url).port;
  const local = await session.get(`http://localhost:${port}/x`).json<Echo>();
  assert.equal(local.headers.cookie, undefined);

  // An explicit Cookie header replaces the jar's for that request.
  const explicit = await session.get("x", { headers: { cookie: "mine=1" } })
    .json<Echo>();
  assert.equal(explicit.headers.cookie, "mine=1");
});

test("cookies: initial values, a shared jar, persistence, and off", async () => {
  await using server = await startServer({
    routes: {
      "/set": { headers: { "set-cookie": "later=2; Max-Age=3600" }, body: "" },
    },
  });
  await using session = new Session({
    baseUrl: `${server.url}/api`,
    cookies: { theme: "dark" },
  });
  assert.equal(
    (await session.get("x").json<Echo>()).headers.cookie,
    "theme=dark",
  );

  const jar = new CookieJar();
  await using first = new Session({ baseUrl: server.url, cookieJar: jar });
  await using second = new Session({ baseUrl: server.url, cookieJar: jar });
  await first.get("set").text();
  assert.equal((await second.get("x").json<Echo>()).headers.cookie, "later=2");
  assert.equal(first.cookieJar, jar);

  const restored = CookieJar.fromJSON(JSON.stringify(jar));
  assert.equal(restored.getCookieHeader(`${server.url}/`), "later=2");
  const [info] = restored.getCookies(`${server.url}/`);
  assert.equal(info.name, "later");
  assert.ok(info.expires instanceof Date && info.expires > new Date());

  await using off = new Session({ baseUrl: server.url, cookieJar: false });
  await off.get("set").text();
  assert.equal(off.cookieJar, undefined);
  assert.equal((await off.get("x").json<Echo>()).headers.cookie, undefined);

  // Public suffixes and foreign domains are refused.
  assert.equal(
    jar.setCookie("a=1; Domain=co.uk", "https://www.a.co.uk/"),
    false,
  );
  assert.equal(jar.setCookie("a=1; Domain=b.test", "https://a.test/"), false);
  assert.equal(
    jar.setCookie("a=1; Domain=a.co.uk", "https://www.a.co.uk/"),
    true,
  );
  assert.equal(jar.getCookieHeader("https://x.a.co.uk/"), "a=1");
});

// ------------------------------------------------------- progress and size

const encoder = new TextEncoder();

function checkProgress(events: Progress[], size: number, total?: number) {
  assert.ok(events.length >= 2, `${events.length} progress events`);
  assert.equal(events[0].loaded, 0);
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].loaded >= events[i - 1].loaded, "never goes back");
  }
  assert.equal(events.at(-1)!.loaded, size);
  for (const event of events) assert.equal(event.total, total);
}

test("progress: download and upload callbacks add up to the body size", async () => {
  const size = 300_000;
  await using server = await startServer({
    routes: {
      "/big": { bodySize: size },
      "/chunked": (_request, response) => {
        response.writeHead(200, { "content-type": "text/plain" });
        response.write("x".repeat(70_000));
        response.end("y".repeat(30_000));
      },
      "/upload": (_request, response, body) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({
          size: body.byteLength,
          length: _request.headers["content-length"] ?? null,
        }));
      },
    },
  });
  await using session = new Session({ baseUrl: server.url });
  const down: Progress[] = [];
  const text = await session.get("big", {
    onDownloadProgress: (p) => down.push(p),
  }).text();
  assert.equal(text.length, size);
  checkProgress(down, size, size);

  const chunked: Progress[] = [];
  const bytes = await session.get("chunked", {
    onDownloadProgress: (p) => chunked.push(p),
  }).bytes();
  assert.equal(bytes.byteLength, 100_000);
  checkProgress(chunked, 100_000, undefined);

  const up: Progress[] = [];
  const payload = "z".repeat(size);
  const result = await session.post("upload", {
    body: payload,
    onUploadProgress: (p) => up.push(p),
  }).json<{ size: number }>();
  assert.equal(result.size, size);
  checkProgress(up, size, size);
  assert.ok(up.length >= 4, "sent in several chunks");

  // A stream body of unknown length: total stays undefined.
  const streamed: Progress[] = [];
  const parts = ["a".repeat(1000), "b".repeat(2000)];
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
  const echoed = await session.post("upload", {
    body: stream,
    onUploadProgress: (p) => streamed.push(p),
  }).json<{ size: number }>();
  assert.equal(echoed.size, 3000);
  checkProgress(streamed, 3000, undefined);

  // Session-wide callbacks apply to every request.
  const seen: Progress[] = [];
  await using watched = new Session({
    baseUrl: server.url,
    onDownloadProgress: (p) => seen.push(p),
  });
  await watched.get("big").bytes();
  checkProgress(seen, size, size);
});

test("maxResponseSize: large, chunked and compressed bodies fail clearly; the session goes on", async () => {
  const limit = 10_000;
  const compressed = gzipSync(encoder.encode("c".repeat(50_000)));
  const small = gzipSync(
    encoder.encode(JSON.stringify({ ok: "s".repeat(5000) })),
  );
  await using server = await startServer({
    routes: {
      "/large": { bodySize: 50_000 },
      "/chunked": (_request, response) => {
        response.writeHead(200);
        let sent = 0;
        const more = () => {
          if (response.destroyed) return;
          if (sent >= 50_000) return void response.end();
          sent += 5_000;
          response.write("x".repeat(5_000), () => setTimeout(more, 1));
        };
        more();
      },
      "/gzip": {
        headers: {
          "content-encoding": "gzip",
          "content-type": "text/plain",
        },
        body: compressed,
      },
      "/gzip-small": {
        headers: {
          "content-encoding": "gzip",
          "content-type": "application/json",
        },
        body: small,
      },
    },
  });
  assert.ok(
    compressed.byteLength < limit,
    "compressed body is under the limit",
  );
  await using session = new Session({
    baseUrl: server.url,
    maxResponseSize: limit,
  });

  // Content-Length says it all: fails before reading.
  const early = await session.get("large").then(() => undefined, (e) => e);
  assert.ok(early instanceof ResponseSizeError, String(early));
  assert.equal(early.limit, limit);
  assert.equal(early.received, 50_000);
  assert.match(early.message, /maxResponseSize \(10000 bytes/);

  for (const path of ["chunked", "gzip"]) {
    const response = await session.get(path);
    const error = await response.text().then(() => undefined, (e) => e);
    assert.ok(error instanceof ResponseSizeError, `${path}: ${error}`);
    assert.ok(error.received > limit && error.received <= limit + 65_536);
  }

  // Under the limit, a compressed body arrives decoded.
  const decoded = await session.get("gzip-small").json<{ ok: string }>();
  assert.equal(decoded.ok.length, 5000);
  // A request can lift the limit.
  assert.equal(
    (await session.get("large", { maxResponseSize: 0 }).text()).length,
    50_000,
  );
});

test("decoding: gzip, deflate (zlib and raw) and br bodies are decoded on every runtime without options", async () => {
  const json = { list: Array.from({ length: 200 }, (_, i) => i) };
  const bytes = encoder.encode(JSON.stringify(json));
  const encoded: Record<string, [string, Uint8Array]> = {
    "/gz": ["gzip", gzipSync(bytes)],
    "/deflate": ["deflate", deflateSync(bytes)],
    "/deflate-raw": ["deflate", deflateRawSync(bytes)],
    "/br": ["br", brotliCompressSync(bytes)],
  };
  const routes: Record<string, RouteSpec> = {};
  for (const [path, [encoding, body]] of Object.entries(encoded)) {
    routes[path] = {
      headers: {
        "content-encoding": encoding,
        "content-type": "application/json",
      },
      body,
    };
  }
  await using server = await startServer({ routes });
  await using session = new Session({ baseUrl: server.url });
  for (const path of Object.keys(encoded)) {
    const name = path.slice(1);
    assert.deepEqual(await session.get(name).json(), json, name);
    assert.deepEqual(
      await (await session.get(name)).text(),
      JSON.stringify(json),
    );
    const streamed = await new Response((await session.get(name)).body).json();
    assert.deepEqual(streamed, json, `${name} streamed`);
    const native = await session.fetch(name);
    assert.deepEqual(await native.json(), json, `${name} through fetch()`);
  }
  const seen = await session.get("echo").json<Echo>();
  assert.match(seen.headers["accept-encoding"] ?? "", /gzip/);
});

// ---------------------------------------------------------------- TLS

test("tls: a private CA, a client certificate, and insecure", async () => {
  await using net = await startNetFixtures();
  await using trusting = new Session({ tls: { ca: net.ca }, retry: 0 });
  const plain = await trusting.get(`${net.httpsUrl}/who`).json<
    { path: string; clientCert: string | null }
  >();
  assert.equal(plain.path, "/who");
  assert.equal(plain.clientCert, null);

  await using withCert = new Session({
    tls: { ca: [net.ca], cert: net.clientCert, key: net.clientKey },
    retry: 0,
  });
  const mutual = await withCert.get(`${net.httpsUrl}/who`).json<
    { clientCert: string | null; authorized: boolean }
  >();
  assert.equal(mutual.clientCert, "test-client");
  assert.equal(mutual.authorized, true);

  await using untrusting = new Session({ retry: 0 });
  const refused = await untrusting.get(`${net.httpsUrl}/`).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(refused instanceof SessionError, String(refused));

  // The wrong CA is still refused.
  await assert.rejects(trusting.get(`${net.untrustedUrl}/`), SessionError);

  // A Secure cookie from https goes back over https (and, as in browsers,
  // loopback counts as secure; another host over http does not).
  const jar = new CookieJar();
  assert.equal(jar.setCookie("s=1; Secure; Path=/", `${net.httpsUrl}/`), true);
  await using cookied = new Session({ tls: { ca: net.ca }, cookieJar: jar });
  const secure = await cookied.get(`${net.httpsUrl}/`).json<
    { headers: Record<string, string> }
  >();
  assert.equal(secure.headers.cookie, "s=1");
  jar.setCookie("t=1; Secure", "https://a.test/");
  assert.equal(jar.getCookieHeader("https://a.test/"), "t=1");
  assert.equal(jar.getCookieHeader("http://a.test/"), "");
});

// -------------------------------------------------------------- proxies

test("proxy: http targets through the proxy, https targets through CONNECT, with basic auth", async () => {
  await using net = await startNetFixtures();
  await using session = new Session({
    proxy: net.proxyUrl,
    tls: { ca: net.ca },
    retry: 0,
  });
  const viaHttp = await session.get(`${net.httpUrl}/plain?q=1`).json<
    { path: string }
  >();
  assert.equal(viaHttp.path, "/plain?q=1");
  const viaConnect = await session.get(`${net.httpsUrl}/secure`).json<
    { path: string }
  >();
  assert.equal(viaConnect.path, "/secure");
  const { log } = await net.log();
  const port = (url: string) => new URL(url).port;
  assert.deepEqual(
    log.map((entry) =>
      entry.kind === "http"
        ? [entry.proxy, entry.kind, entry.method, entry.url, entry.auth]
        : [entry.proxy, entry.kind, entry.target, entry.auth]
    ),
    [
      ["open", "http", "GET", `${net.httpUrl}/plain?q=1`, null],
      ["open", "connect", `127.0.0.1:${port(net.httpsUrl)}`, null],
    ],
  );
  await net.reset();

  const expected = "Basic " +
    btoa(`${net.authProxyUser}:${net.authProxyPassword}`);
  await using authed = new Session({
    proxy: net.authProxyUrl,
    tls: { ca: net.ca },
    retry: 0,
  });
  assert.equal(
    (await authed.get(`${net.httpUrl}/a`).json<{ path: string }>()).path,
    "/a",
  );
  assert.equal(
    (await authed.get(`${net.httpsUrl}/b`).json<{ path: string }>()).path,
    "/b",
  );
  const authLog = (await net.log()).log;
  assert.deepEqual(authLog.map((entry) => [entry.kind, entry.auth]), [
    ["http", expected],
    ["connect", expected],
  ]);

  // Without credentials the proxy says 407.
  await using anonymous = new Session({
    proxy: `http://127.0.0.1:${net.authProxyPort}`,
    retry: 0,
  });
  const denied = await anonymous.get(`${net.httpUrl}/a`, {
    raiseForStatus: false,
  });
  assert.equal(denied.status, 407);
  await denied.dump();
  // A refused CONNECT is an error.
  await assert.rejects(
    anonymous.get(`${net.httpsUrl}/b`),
    (error: Error) => error instanceof SessionError,
  );
});

test("proxy: trustEnv reads HTTP_PROXY and NO_PROXY; without it the environment is ignored", async () => {
  await using net = await startNetFixtures();
  const names = ["HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];
  const env = envAccess();
  const saved = names.map((name) => [name, env.get(name)] as const);
  try {
    for (const name of names) env.delete(name);
    env.set("HTTP_PROXY", net.proxyUrl);
    {
      await using session = new Session({ trustEnv: true, retry: 0 });
      await session.get(`${net.httpUrl}/env`).text();
      await using ignoring = new Session({ retry: 0 });
      await ignoring.get(`${net.httpUrl}/direct`).text();
    }
    env.set("NO_PROXY", "example.test, 127.0.0.1");
    {
      await using bypassing = new Session({ trustEnv: true, retry: 0 });
      await bypassing.get(`${net.httpUrl}/bypassed`).text();
    }
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) env.delete(name);
      else env.set(name, value);
    }
  }
  const { log } = await net.log();
  assert.deepEqual(
    log.map((entry) => entry.kind === "http" ? entry.url : entry.target),
    [`${net.httpUrl}/env`],
  );
});

function envAccess() {
  const deno = (globalThis as {
    Deno?: {
      env: {
        get(name: string): string | undefined;
        set(name: string, value: string): void;
        delete(name: string): void;
      };
    };
  }).Deno;
  if (deno !== undefined) return deno.env;
  const env = (globalThis as {
    process: { env: Record<string, string | undefined> };
  }).process.env;
  return {
    get: (name: string) => env[name],
    set: (name: string, value: string) => void (env[name] = value),
    delete: (name: string) => void delete env[name],
  };
}

test("proxy: NO_PROXY rules match hosts, domains, ports and *", () => {
  const rules = parseNoProxy(
    "example.test, .sub.test,*.wild.test 10.0.0.1 host.test:8080",
  );
  const bypass = (url: string) => bypassesProxy(rules, new URL(url));
  assert.equal(bypass("http://example.test/"), true);
  assert.equal(bypass("http://api.example.test/"), true);
  assert.equal(bypass("http://notexample.test/"), false);
  assert.equal(bypass("http://a.sub.test/"), true);
  assert.equal(bypass("http://x.wild.test/"), true);
  assert.equal(bypass("http://10.0.0.1:99/"), true);
  assert.equal(bypass("http://10.0.0.12/"), false);
  assert.equal(bypass("http://host.test:8080/"), true);
  assert.equal(bypass("http://host.test/"), false);
  assert.equal(
    bypassesProxy(parseNoProxy("*"), new URL("https://any.test")),
    true,
  );
  assert.equal(
    bypassesProxy(parseNoProxy(""), new URL("https://any.test")),
    false,
  );
});

// ------------------------------------------------------------ bad options

// On Deno these two use undici (Deno's client cannot do them), whose
// internal one-second timer outlives the test by up to a second: Deno's
// op sanitizer is off for them, and they run last.
const UNDICI_ON_DENO = { sanitize: false };

test("tls: insecure accepts a certificate nobody vouches for", async () => {
  await using net = await startNetFixtures();
  await using insecure = new Session({ tls: { insecure: true }, retry: 0 });
  assert.deepEqual(
    await insecure.get(`${net.untrustedUrl}/`).json(),
    { ok: true },
  );
  await using strict = new Session({ retry: 0 });
  await assert.rejects(strict.get(`${net.untrustedUrl}/`), SessionError);
}, UNDICI_ON_DENO);

// ---------------------------------------------------------- unix sockets

test("socketPath: every request goes over the unix socket", async () => {
  await using net = await startNetFixtures();
  await using session = new Session({
    baseUrl: "http://unix.test/v1",
    socketPath: net.socketPath,
  });
  const first = await session.get("items", { params: { q: "1" } }).json<
    { path: string; via: string; headers: Record<string, string> }
  >();
  assert.equal(first.via, "unix");
  assert.equal(first.path, "/v1/items?q=1");
  assert.equal(first.headers.host, "unix.test");
}, UNDICI_ON_DENO);

test("network options: bad values throw clear errors without secrets", async () => {
  const cases: [Record<string, unknown>, RegExp, ErrorConstructor][] = [
    [
      { redirect: "always" },
      /'redirect' must be "follow", "manual" or "error"/,
      TypeError,
    ],
    [
      { maxRedirects: -1 },
      /'maxRedirects' must be a non-negative integer/,
      RangeError,
    ],
    [
      { maxResponseSize: 1.5 },
      /'maxResponseSize' must be a non-negative integer/,
      RangeError,
    ],
    [
      { onDownloadProgress: 1 },
      /'onDownloadProgress' must be a function/,
      TypeError,
    ],
    [{ cookies: { a: "1" } }, /'cookies' needs 'baseUrl'/, TypeError],
    [
      { baseUrl: "http://a.test", cookies: { "a b": "1" } },
      /cookie 'a b' is not a valid cookie name/,
      TypeError,
    ],
    [
      { baseUrl: "http://a.test", cookieJar: false, cookies: { a: "1" } },
      /'cookieJar' is false/,
      TypeError,
    ],
    [{ cookieJar: {} }, /'cookieJar' must be a CookieJar or false/, TypeError],
    [
      { proxy: "socks5://u:secret@127.0.0.1:1080" },
      /'proxy' must be an http: or https: URL/,
      TypeError,
    ],
    [
      { proxy: "http://u:secret@127.0.0.1:1080/path" },
      /only a scheme, host and port/,
      TypeError,
    ],
    [{ proxy: 42 }, /'proxy' must be a URL string or URL/, TypeError],
    [{ trustEnv: "yes" }, /'trustEnv' must be a boolean/, TypeError],
    [
      { tls: { ca: "not a pem" } },
      /'tls.ca' must be a PEM certificate/,
      TypeError,
    ],
    [
      { tls: { cert: "-----BEGIN CERTIFICATE-----" } },
      /'tls.cert' and 'tls.key' go together/,
      TypeError,
    ],
    [
      { tls: { cert: "-----BEGIN CERTIFICATE-----", key: "secret" } },
      /'tls.key' must be a PEM key/,
      TypeError,
    ],
    [
      { tls: { verify: false } },
      /'tls.verify' is not a known option/,
      TypeError,
    ],
    [{ socketPath: "" }, /'socketPath' must be a non-empty string/, TypeError],
  ];
  for (const [options, message, type] of cases) {
    assert.throws(
      () => new Session(options),
      (error: Error) => {
        assert.ok(
          error instanceof type,
          `${JSON.stringify(options)}: ${error}`,
        );
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
  }
  await using session = new Session();
  await assert.rejects(
    session.get("http://a.test/", { redirect: "nope" as "manual" }),
    /'redirect' must be/,
  );
});

test("fetch(): cancelling a body frees its exchange, so close() does not wait", async () => {
  await using server = await startServer({
    routes: {
      "/big": { bodySize: 200_000 },
      "/moved": { status: 302, headers: { location: "/big" } },
    },
  });
  const session = new Session({ baseUrl: server.url });
  for (const [path, redirect] of [["big", "follow"], ["moved", "manual"]]) {
    const response = await session.fetch(path, {
      redirect: redirect as RequestRedirect,
    });
    await response.body?.cancel();
    await waitFor(() => session.pending === 0, { message: `${path} freed` });
  }
  await session.close();
  assert.equal(session.pending, 0);
});

test("tls: ca adds to the runtime's trusted roots instead of replacing them", async () => {
  await using net = await startNetFixtures();
  // The runtime's default roots trust the "untrusted" server's certificate
  // through the environment; the session's tls.ca trusts the test CA.
  const rootFile = join(net.tmpDir, "default-root.pem");
  const caFile = join(net.tmpDir, "session-ca.pem");
  writeFileSync(rootFile, net.untrustedCa);
  writeFileSync(caFile, net.ca);
  const env: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(process.env)) {
    // This machine may point these at its own bundle: leave only ours.
    if (
      !/^(NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR)|DENO_CERT|DENO_TLS_CA_STORE|NODE_USE_SYSTEM_CA)$/
        .test(name)
    ) {
      env[name] = value;
    }
  }
  env[runtime === "deno" ? "DENO_CERT" : "NODE_EXTRA_CA_CERTS"] = rootFile;
  const urls = [`${net.httpsUrl}/`, `${net.untrustedUrl}/`];
  const ask = async (ca: string) => {
    const outcome = await runScript(
      import.meta.url,
      "./fixtures/tls_roots.ts",
      [ca, ...urls],
      30_000,
      env,
    );
    assert.equal(outcome.code, 0, outcome.stderr);
    return Object.values(JSON.parse(outcome.stdout)) as string[];
  };
  // Without tls.ca: only the server the default roots trust.
  const [privateApi, publicHost] = await ask("-");
  assert.notEqual(privateApi, "ok");
  assert.equal(publicHost, "ok", "the environment's root works");
  // With tls.ca: both.
  assert.deepEqual(await ask(caFile), ["ok", "ok"]);
});
