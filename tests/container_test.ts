// SessionContainer, @attachSession and SessionRegistry against a real
// loopback server that counts connections.
import assert from "node:assert/strict";
import {
  attachSession,
  BunAdapter,
  type ContainerOptions,
  CookieJar,
  DenoAdapter,
  FetchAdapter,
  HttpError,
  NodeAdapter,
  type PoolAdapter,
  Session,
  SessionClosedError,
  SessionContainer,
  SessionRegistry,
  TimeoutError,
} from "../mod.ts";
import { runLifecycleFixture } from "./_child.ts";
import { startServer } from "./_server.ts";
import { delay, runtime, test, waitFor } from "./_test.ts";

class Api extends SessionContainer {
  seen: Session[] = [];

  constructor(options: ContainerOptions) {
    super(options);
  }

  @attachSession
  async getText(path: string): Promise<string> {
    this.seen.push(this.session);
    return await this.session.get(path).text();
  }

  @attachSession
  async outer(path: string): Promise<[string, boolean]> {
    const mine = this.session;
    const text = await this.getText(path);
    return [text, this.seen[this.seen.length - 1] === mine];
  }

  @attachSession
  async fail(): Promise<never> {
    await this.session.get("missing");
    throw new Error("unreachable");
  }

  @attachSession
  async *pages(count: number): AsyncGenerator<string> {
    for (let i = 0; i < count; i++) {
      this.seen.push(this.session);
      yield await this.session.get(`page/${i}`).text();
    }
  }

  sessionOutside(): Session {
    return this.session;
  }
}

test("Container: startSession() shares one session until closeSession()", async () => {
  await using server = await startServer();
  const api = new Api({ baseUrl: server.url });
  const session = api.startSession();
  assert.equal(api.startSession(), session, "startSession is idempotent");
  for (let i = 0; i < 10; i++) await api.getText(`n/${i}`);
  assert.equal(server.accepted, 1);
  assert.ok(api.seen.every((s) => s === session));
  await api.closeSession();
  assert.equal(session.closed, true);
  await waitFor(() => server.open === 0);
  assert.equal(api.hasSession, false);
  assert.throws(() => api.sessionOutside(), /@attachSession/);
});

test("Container: ten concurrent calls without an open session share one temporary session within limit", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 30, body: "ok" } },
  });
  const api = new Api({ baseUrl: server.url, limit: 3, idleDelay: 20 });
  assert.equal(api.hasSession, false);
  const results = await Promise.all(
    Array.from({ length: 10 }, () => api.getText("slow")),
  );
  assert.deepEqual(results, Array(10).fill("ok"));
  assert.equal(new Set(api.seen).size, 1, "one session for all ten");
  assert.ok(server.peakOpen <= 3, `peak ${server.peakOpen} sockets`);
  assert.equal(server.accepted, 3);
  // Closed after the idle delay, which frees every socket.
  await waitFor(() => !api.hasSession && server.open === 0);
  assert.equal(api.seen[0].closed, true);
});

test("Container: back-to-back calls reuse the temporary session within the idle delay", async () => {
  await using server = await startServer();
  const api = new Api({ baseUrl: server.url, idleDelay: 1_000 });
  for (let i = 0; i < 5; i++) await api.getText("x");
  assert.equal(server.accepted, 1);
  assert.equal(new Set(api.seen).size, 1);
  await api.closeSession(); // ends the idle wait now
  assert.equal(api.seen[0].closed, true);
  await waitFor(() => server.open === 0);
});

test("Container: a borrowed session is used and never closed", async () => {
  await using server = await startServer();
  await using session = new Session({ baseUrl: server.url });
  const api = new Api({ session });
  assert.equal(await api.getText("a"), await api.getText("a"));
  assert.ok(api.seen.every((s) => s === session));
  assert.equal(api.sessionOutside(), session);
  await api.closeSession();
  assert.equal(session.closed, false);
  assert.equal(await session.get("a").text(), await api.getText("a"));
});

test("Container: nested decorated calls share the session", async () => {
  await using server = await startServer({ routes: { "/n": { body: "n" } } });
  const api = new Api({ baseUrl: server.url, idleDelay: 0 });
  const [text, same] = await api.outer("n");
  assert.equal(text, "n");
  assert.equal(same, true);
  await waitFor(() => !api.hasSession);
});

test("Container: errors pass through unchanged and release the session", async () => {
  await using server = await startServer({
    routes: { "/missing": { status: 404, body: "no" } },
  });
  const api = new Api({ baseUrl: server.url, idleDelay: 0 });
  const error = await api.fail().then(() => undefined, (e) => e);
  assert.ok(error instanceof HttpError, String(error));
  assert.equal(error.status, 404);
  await waitFor(() => !api.hasSession);
  await waitFor(() => server.open === 0);
});

test("Container: an async generator keeps its session until it finishes or is left early", async () => {
  await using server = await startServer();
  const api = new Api({ baseUrl: server.url, idleDelay: 0 });
  const all: string[] = [];
  for await (const page of api.pages(3)) all.push(page);
  assert.equal(all.length, 3);
  assert.equal(new Set(api.seen).size, 1);
  await waitFor(() => !api.hasSession);

  api.seen = [];
  for await (const _page of api.pages(100)) {
    assert.ok(api.hasSession);
    break; // return() runs the finally: the session is released
  }
  assert.equal(api.seen.length, 1);
  await waitFor(() => !api.hasSession);
  assert.equal(api.seen[0].closed, true);
  await waitFor(() => server.open === 0);
});

test("Container: closeSession() waits for calls in flight", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 100, body: "done" } },
  });
  const api = new Api({ baseUrl: server.url });
  const session = api.startSession();
  const call = api.getText("slow");
  await waitFor(() => server.active === 1);
  const closing = api.closeSession();
  assert.equal(await call, "done");
  await closing;
  assert.equal(session.closed, true);
  await waitFor(() => server.open === 0);
  // A new call after closing opens a new (temporary) session.
  assert.equal(await api.getText("slow"), "done");
  await api.closeSession();
});

test("Container: await using closes the session, also when the block throws", async () => {
  await using server = await startServer();
  let session: Session | undefined;
  await assert.rejects(
    (async () => {
      await using api = new Api({ baseUrl: server.url });
      session = api.startSession();
      await api.getText("x");
      throw new Error("boom");
    })(),
    /boom/,
  );
  assert.equal(session!.closed, true);
  await waitFor(() => server.open === 0);
});

test("Container: an adapter instance is shared by its sessions and left open", async () => {
  await using server = await startServer();
  const adapter = runtime === "deno"
    ? new DenoAdapter()
    : runtime === "bun"
    ? new BunAdapter()
    : new NodeAdapter();
  const api = new Api({ baseUrl: server.url, adapter, idleDelay: 0 });
  assert.equal(await api.getText("a"), await api.getText("a"));
  await waitFor(() => !api.hasSession); // the temporary session closed
  const again = await api.getText("a"); // a new session, same adapter
  assert.match(again, /"url":"\/a"/);
  await api.closeSession();
  await adapter.close();
});

test("Container: closeSession() does not wait for an abandoned generator", async () => {
  await using server = await startServer();
  const api = new Api({ baseUrl: server.url });
  const session = api.startSession();
  const pages = api.pages(10);
  assert.ok((await pages.next()).value);
  // The consumer walks away without return(): closing must not hang.
  await api.closeSession();
  assert.equal(session.closed, true);
  // Its next step finds no open session.
  await assert.rejects(pages.next(), /No open session/);
});

test("Container: bad options throw at construction", async () => {
  assert.throws(() => new Api({ idleDelay: -1 }), RangeError);
  assert.throws(
    () => new Api({ idleDelay: "1" as unknown as number }),
    TypeError,
  );
  assert.throws(
    () => new Api({ limit: -1 }),
    (error) =>
      error instanceof RangeError &&
      /^Cannot create session container as 'limit'/.test(error.message),
  );
  assert.throws(
    () => new Api("x" as unknown as ContainerOptions),
    /options must be an object: received string/,
  );
  assert.throws(() => new Api({ baseUrl: "ftp://x" }), TypeError);
  await using borrowed = new Session();
  assert.throws(
    () => new Api({ session: borrowed, timeout: 5 }),
    /borrowed with its own options: remove 'timeout'/,
  );
  assert.throws(
    () => new Api({ session: {} as Session }),
    /'session' must be a Session/,
  );
});

test("Container: the idle delay does not keep the process alive", async () => {
  await using server = await startServer({ keepAliveTimeout: 120_000 });
  const outcome = await runLifecycleFixture(
    "container",
    `${server.url}/hello`,
  );
  assert.match(outcome.stdout, /container: returning during the idle delay/);
});

test("Container: middleware, retries and observe from the container's options apply to its calls", async () => {
  let calls = 0;
  await using server = await startServer({
    routes: {
      "/flaky": (req, res) => {
        calls++;
        if (calls === 1) res.writeHead(503).end("busy");
        else res.writeHead(200).end(String(req.headers["x-api-key"]));
      },
    },
  });
  const types: string[] = [];
  const api = new Api({
    baseUrl: server.url,
    middleware: [(request, next) => {
      request.headers.set("x-api-key", "k1");
      return next();
    }],
    retry: { limit: 1, backoff: () => 0 },
    observe: (event) => types.push(event.type),
  });
  // A temporary session (none opened), then an opened one: both inherit.
  assert.equal(await api.getText("flaky"), "k1");
  assert.equal(calls, 2);
  await api.startSession();
  assert.equal(await api.getText("flaky"), "k1");
  await api.closeSession();
  assert.equal(types.filter((type) => type === "retry").length, 1);
  assert.equal(types.filter((type) => type === "end").length, 3);
});

class Account extends SessionContainer {
  @attachSession
  async login(): Promise<void> {
    await this.session.post("login").text();
  }

  @attachSession
  async me(): Promise<string> {
    return await this.session.get("me").text();
  }

  @attachSession
  async unread(): Promise<Response> {
    return await this.session.fetch("me");
  }

  @attachSession
  async unreadResponse(): Promise<{ text(): Promise<string> }> {
    return await this.session.get("me");
  }
}

test("Container: temporary sessions share one cookie jar for the container's lifetime", async () => {
  await using server = await startServer({
    routes: {
      "/login": {
        headers: { "set-cookie": "sid=s1; Path=/; HttpOnly" },
        body: "ok",
      },
      "/me": (req, res) => {
        res.end(String(req.headers.cookie ?? ""));
      },
    },
  });
  await using account = new Account({ baseUrl: server.url, idleDelay: 0 });
  await account.login();
  await waitFor(() => !account.hasSession, { message: "temporary closed" });
  await delay(300);
  assert.equal(await account.me(), "sid=s1");
  // Each container has its own jar.
  await using stranger = new Account({ baseUrl: server.url, idleDelay: 0 });
  assert.equal(await stranger.me(), "");
});

test("Container and registry: the cookies option is applied once, never over what the server set", async () => {
  await using server = await startServer({
    routes: {
      "/login": {
        headers: { "set-cookie": "sid=from-server; Path=/" },
        body: "ok",
      },
      "/me": (req, res) => {
        res.end(String(req.headers.cookie ?? ""));
      },
    },
  });
  const jar = new CookieJar();
  await using account = new Account({
    baseUrl: server.url,
    cookieJar: jar,
    cookies: { sid: "initial" },
    idleDelay: 0,
  });
  assert.equal(await account.me(), "sid=initial");
  await account.login();
  await waitFor(() => !account.hasSession);
  assert.equal(await account.me(), "sid=from-server");
  assert.equal(jar.getCookieHeader(server.url + "/"), "sid=from-server");

  const shared = new CookieJar();
  await using sessions = new SessionRegistry({
    api: {
      baseUrl: server.url,
      cookieJar: shared,
      cookies: { sid: "initial" },
    },
  });
  await sessions.get("api").post("login").text();
  assert.equal(await sessions.get("api").get("me").text(), "sid=from-server");
});

test("Container: a shared adapter instance keeps what it reports (connect timing)", async () => {
  await using server = await startServer({
    routes: { "/slow": { delay: 1_000, body: "late" } },
  });
  const inner = new FetchAdapter();
  // Reports the connection at once, so only `headers` times the wait.
  const reporting: PoolAdapter = {
    name: "reporting",
    reportsConnect: true,
    dispatch(request) {
      request.onConnect?.();
      return inner.dispatch(request);
    },
    close: () => inner.close(),
    destroy: () => inner.destroy(),
  };
  await using api = new Api({
    baseUrl: server.url,
    adapter: reporting,
    retry: 0,
    timeout: { connect: 5_000, headers: 100 },
  });
  const error = await api.getText("slow").then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.phase, "headers");
  assert.equal(error.timeout, 100, "not connect + headers");
});

// Timers of one delay fire in the order they were made: one made now fires
// after the grace timer close() made before.
function afterCloseGrace(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

test("Container: a body read after the method returned says why it is gone and what to do", async () => {
  await using server = await startServer({
    routes: { "/me": { body: "me" } },
  });
  await using account = new Account({ baseUrl: server.url, idleDelay: 0 });
  const response = await account.unreadResponse();
  await waitFor(() => !account.hasSession);
  // close() gives code that just got a response one turn to start reading
  // it (a timer made as the session closed); let that turn pass.
  await afterCloseGrace();
  await assert.rejects(
    response.text(),
    (error: Error) =>
      error instanceof SessionClosedError &&
      /temporary session closed when the decorated method returned/.test(
        error.message,
      ) && /startSession\(\)/.test(error.message),
  );
  const fetched = await account.unread();
  await waitFor(() => !account.hasSession);
  await afterCloseGrace();
  await assert.rejects(fetched.text(), TypeError);
});
