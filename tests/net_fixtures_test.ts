// Self-test of tests/_net.ts: the network fixtures answer as documented,
// checked with node:http, node:net and node:tls clients (the same on Deno,
// Node and Bun). Each test starts its own fixtures and disposes of them.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { type NetFixtures, startNetFixtures } from "./_net.ts";
import { test } from "./_test.ts";

/** Deno's sanitizers stay on: disposing of the fixtures leaves nothing open. */
const options = { timeout: 30_000 };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Send one request with node:http (or node:https) and read the answer. */
function send(
  requestFn: typeof httpRequest | typeof httpsRequest,
  requestOptions: Record<string, unknown>,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = requestFn(
      { agent: false, timeout: 10_000, ...requestOptions },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on(
          "end",
          () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
            }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Wait for `socket` to emit `event`, failing on "error" or after 10 s. */
function once(socket: Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${event}`));
    }, 10_000);
    const onEvent = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off(event, onEvent);
      socket.off("error", onError);
    };
    socket.on(event, onEvent);
    socket.on("error", onError);
  });
}

/** Read until the end of an HTTP head; give back any bytes after it. */
function readHead(socket: Socket): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error("timed out reading the response head"));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end === -1) return;
      cleanup();
      socket.pause();
      const rest = data.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(parseHead(data.subarray(0, end).toString("latin1")));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onEnd = () => {
      cleanup();
      reject(new Error(`connection closed before the head: ${data}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("end", onEnd);
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("end", onEnd);
  });
}

function parseHead(head: string): Answer {
  const [statusLine, ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line
      .slice(colon + 1)
      .trim();
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: "" };
}

/** Read a whole `Connection: close` HTTP response. */
function readResponse(socket: Socket): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timed out reading the response"));
    }, 10_000);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("end", () => {
      clearTimeout(timer);
      const end = data.indexOf("\r\n\r\n");
      if (end === -1) {
        reject(new Error(`no HTTP head in ${JSON.stringify(data)}`));
        return;
      }
      resolve({ ...parseHead(data.slice(0, end)), body: data.slice(end + 4) });
    });
    socket.resume();
  });
}

/** Open a CONNECT tunnel to `target` through the proxy on `proxyPort`. */
async function connectTunnel(
  proxyPort: number,
  target: string,
  proxyAuthorization?: string,
): Promise<{ socket: Socket; answer: Answer }> {
  const socket = netConnect({ host: "127.0.0.1", port: proxyPort });
  await once(socket, "connect");
  const auth = proxyAuthorization
    ? `Proxy-Authorization: ${proxyAuthorization}\r\n`
    : "";
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
  const answer = await readHead(socket);
  return { socket, answer };
}

/** Speak TLS over `socket`, GET `path`, read the whole answer. */
async function getOverTls(
  socket: Socket,
  path: string,
  tlsOptions: { ca: string; cert?: string; key?: string },
): Promise<Answer> {
  const secure: TLSSocket = tlsConnect({
    socket,
    servername: "localhost",
    ...tlsOptions,
  });
  try {
    await once(secure, "secureConnect");
    secure.write(
      `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    return await readResponse(secure);
  } finally {
    secure.destroy();
    socket.destroy();
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** The auth proxy's credentials, as a client decodes them from its URL. */
function credentialsFromUrl(net: NetFixtures): [string, string] {
  const url = new URL(net.authProxyUrl);
  return [decodeURIComponent(url.username), decodeURIComponent(url.password)];
}

test("net fixtures: the plain target answers with its request", async () => {
  await using net = await startNetFixtures();
  const response = await fetch(`${net.httpUrl}/hello?x=1`, {
    headers: { "x-test": "1" },
  });
  const body = await response.json();
  assert.equal(response.status, 200);
  assert.equal(body.path, "/hello?x=1");
  assert.equal(body.method, "GET");
  assert.equal(body.headers["x-test"], "1");
}, options);

test("net fixtures: the unix socket answers", async () => {
  await using net = await startNetFixtures();
  assert.ok(net.socketPath.startsWith(net.tmpDir));
  const answer = await send(httpRequest, {
    socketPath: net.socketPath,
    path: "/over-unix",
    method: "POST",
  });
  assert.equal(answer.status, 200);
  const body = JSON.parse(answer.body);
  assert.deepEqual(
    [body.via, body.path, body.method],
    ["unix", "/over-unix", "POST"],
  );
}, options);

test(
  "net fixtures: the open proxy relays an absolute-form GET and logs it",
  async () => {
    await using net = await startNetFixtures();
    const url = `${net.httpUrl}/via-proxy?q=1`;
    const answer = await send(httpRequest, {
      host: "127.0.0.1",
      port: net.proxyPort,
      path: url,
      headers: { host: `127.0.0.1:${net.httpPort}` },
    });
    assert.equal(answer.status, 200);
    const body = JSON.parse(answer.body);
    assert.equal(body.path, "/via-proxy?q=1");
    assert.match(body.headers.via, /proxy\//);
    const { log, connections } = await net.log();
    assert.deepEqual(log, [
      { proxy: "open", kind: "http", method: "GET", url, auth: null },
    ]);
    assert.deepEqual(connections, { open: 1, auth: 0 });
    await net.reset();
    assert.deepEqual(await net.log(), {
      log: [],
      connections: { open: 0, auth: 0 },
    });
  },
  options,
);

test(
  "net fixtures: the auth proxy answers 407 without or with wrong credentials, 200 with them",
  async () => {
    await using net = await startNetFixtures();
    assert.equal(net.authProxyUser, "user");
    assert.equal(net.authProxyPassword, "p@ss word");
    assert.equal(
      net.authProxyUrl,
      `http://user:p%40ss%20word@127.0.0.1:${net.authProxyPort}`,
    );
    const [user, password] = credentialsFromUrl(net);
    assert.deepEqual([user, password], ["user", "p@ss word"]);
    const url = `${net.httpUrl}/secret`;
    const through = (headers: Record<string, string>) =>
      send(httpRequest, {
        host: "127.0.0.1",
        port: net.authProxyPort,
        path: url,
        headers: { host: `127.0.0.1:${net.httpPort}`, ...headers },
      });

    const missing = await through({});
    assert.equal(missing.status, 407);
    assert.equal(missing.headers["proxy-authenticate"], 'Basic realm="proxy"');
    const wrong = await through({
      "proxy-authorization": basic("user", "p%40ss%20word"),
    });
    assert.equal(wrong.status, 407);
    const good = await through({
      "proxy-authorization": basic(user, password),
    });
    assert.equal(good.status, 200);
    const body = JSON.parse(good.body);
    assert.equal(body.path, "/secret");
    assert.equal(body.headers["proxy-authorization"], undefined);

    const { log, connections } = await net.log();
    assert.deepEqual(
      log.map((entry) => [entry.proxy, entry.kind, entry.auth]),
      [
        ["auth", "http", null],
        ["auth", "http", basic("user", "p%40ss%20word")],
        ["auth", "http", basic(user, password)],
      ],
    );
    assert.deepEqual(connections, { open: 0, auth: 3 });

    // CONNECT is guarded the same way.
    const target = `127.0.0.1:${net.httpsPort}`;
    const refused = await connectTunnel(net.authProxyPort, target);
    refused.socket.destroy();
    assert.equal(refused.answer.status, 407);
    const tunnel = await connectTunnel(
      net.authProxyPort,
      target,
      basic(user, password),
    );
    assert.equal(tunnel.answer.status, 200);
    const answer = await getOverTls(tunnel.socket, "/auth-tunnel", {
      ca: net.ca,
    });
    assert.equal(JSON.parse(answer.body).path, "/auth-tunnel");
  },
  options,
);

test(
  "net fixtures: CONNECT through the open proxy, then TLS with and without a client certificate",
  async () => {
    await using net = await startNetFixtures();
    const target = `127.0.0.1:${net.httpsPort}`;

    const first = await connectTunnel(net.proxyPort, target);
    assert.equal(first.answer.status, 200);
    const anonymous = await getOverTls(first.socket, "/anonymous", {
      ca: net.ca,
    });
    assert.equal(anonymous.status, 200);
    const anonymousBody = JSON.parse(anonymous.body);
    assert.equal(anonymousBody.path, "/anonymous");
    assert.equal(anonymousBody.clientCert, null);
    assert.equal(anonymousBody.authorized, false);

    const second = await connectTunnel(net.proxyPort, target);
    assert.equal(second.answer.status, 200);
    const withCert = await getOverTls(second.socket, "/with-cert", {
      ca: net.ca,
      cert: net.clientCert,
      key: net.clientKey,
    });
    const withCertBody = JSON.parse(withCert.body);
    assert.equal(withCertBody.clientCert, "test-client");
    assert.equal(withCertBody.authorized, true);

    const { log, connections } = await net.log();
    assert.deepEqual(log, [
      { proxy: "open", kind: "connect", target, auth: null },
      { proxy: "open", kind: "connect", target, auth: null },
    ]);
    assert.deepEqual(connections, { open: 2, auth: 0 });
  },
  options,
);

test(
  "net fixtures: HTTPS servers are trusted with their own CA only",
  async () => {
    await using net = await startNetFixtures();
    const direct = await send(httpsRequest, {
      host: "127.0.0.1",
      port: net.httpsPort,
      path: "/direct",
      ca: net.ca,
      cert: net.clientCert,
      key: net.clientKey,
    });
    assert.equal(JSON.parse(direct.body).clientCert, "test-client");

    const trusted = await send(httpsRequest, {
      host: "127.0.0.1",
      port: net.untrustedPort,
      path: "/",
      ca: net.untrustedCa,
    });
    assert.deepEqual(JSON.parse(trusted.body), { ok: true });
    await assert.rejects(
      send(httpsRequest, {
        host: "127.0.0.1",
        port: net.untrustedPort,
        path: "/",
        ca: net.ca,
      }),
    );
    await assert.rejects(
      send(httpsRequest, {
        host: "127.0.0.1",
        port: net.httpsPort,
        path: "/",
        ca: net.untrustedCa,
      }),
    );
  },
  options,
);
