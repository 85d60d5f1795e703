/**
 * Real network components for tests of proxies, TLS and unix sockets.
 *
 * {@linkcode startNetFixtures} runs tests/fixtures/net_server.mjs in a
 * **Node** child process (whatever runtime runs the tests, so the servers
 * and proxies behave the same on Deno, Node and Bun): an HTTPS server with a
 * test CA that asks for a client certificate, an HTTPS server with an
 * untrusted self-signed certificate, a plain HTTP target, a forward proxy
 * (npm `proxy`) without and one with Basic authentication, and an HTTP server
 * on a unix socket. Everything listens on 127.0.0.1 (or the socket) only, and
 * the child exits when the fixtures are disposed, or by itself after 120 s.
 *
 * ```ts
 * await using net = await startNetFixtures();
 * // ... requests through net.proxyUrl to net.httpUrl ...
 * const { log } = await net.log();
 * ```
 *
 * @module
 */
import { rmSync } from "node:fs";
import { startFixtureProcess } from "./_fixture_process.ts";

/** Which proxy handled a request: without or with authentication. */
export type ProxyName = "open" | "auth";

/** One request a proxy handled (logged before authentication). */
export type ProxyLogEntry =
  | {
    proxy: ProxyName;
    /** An absolute-form request (`GET http://host/path`). */
    kind: "http";
    method: string;
    url: string;
    /** The `Proxy-Authorization` header, or `null`. */
    auth: string | null;
  }
  | {
    proxy: ProxyName;
    /** A `CONNECT host:port` tunnel request. */
    kind: "connect";
    /** `host:port`. */
    target: string;
    /** The `Proxy-Authorization` header, or `null`. */
    auth: string | null;
  };

/** What the proxies saw since the start or the last `reset()`. */
export interface ProxyLog {
  /** Requests, in arrival order. */
  log: ProxyLogEntry[];
  /** TCP connections accepted by each proxy. */
  connections: Record<ProxyName, number>;
}

/** The running fixtures. PEMs are EC P-256; keys are PKCS#8. */
export interface NetFixtures extends AsyncDisposable {
  /** HTTPS server with the CA-signed certificate (SAN 127.0.0.1, localhost);
   * asks for, but does not require, a client certificate, and answers
   * `{ path, method, clientCert: CN | null, authorized, headers }`. */
  readonly httpsPort: number;
  /** `https://127.0.0.1:<httpsPort>`. */
  readonly httpsUrl: string;
  /** HTTPS server with the self-signed {@linkcode untrustedCa}; answers
   * `{ ok: true }`. */
  readonly untrustedPort: number;
  /** `https://127.0.0.1:<untrustedPort>`. */
  readonly untrustedUrl: string;
  /** Plain HTTP target; answers `{ path, method, headers }`. */
  readonly httpPort: number;
  /** `http://127.0.0.1:<httpPort>`. */
  readonly httpUrl: string;
  /** Unix socket of an HTTP server answering
   * `{ path, method, headers, via: "unix" }`. */
  readonly socketPath: string;
  /** The temporary directory holding {@linkcode socketPath}. */
  readonly tmpDir: string;
  /** The test CA's certificate (PEM). */
  readonly ca: string;
  /** The HTTPS server's certificate (PEM), signed by the CA. */
  readonly serverCert: string;
  /** The HTTPS server's private key (PEM). */
  readonly serverKey: string;
  /** Client certificate (PEM), CN "test-client", clientAuth, signed by the CA. */
  readonly clientCert: string;
  /** The client certificate's private key (PEM). */
  readonly clientKey: string;
  /** The untrusted server's self-signed certificate (PEM): trusting it as a
   * CA makes that server trusted. */
  readonly untrustedCa: string;
  /** Port of the proxy without authentication. */
  readonly proxyPort: number;
  /** `http://127.0.0.1:<proxyPort>`. */
  readonly proxyUrl: string;
  /** Port of the proxy with Basic authentication (407 without it). */
  readonly authProxyPort: number;
  /** `http://user:p%40ss%20word@127.0.0.1:<authProxyPort>`: credentials
   * percent-encoded in the userinfo. */
  readonly authProxyUrl: string;
  /** The auth proxy's user name, raw: `user`. */
  readonly authProxyUser: string;
  /** The auth proxy's password, raw: `p@ss word`. */
  readonly authProxyPassword: string;
  /** What the proxies saw since the start or the last {@linkcode reset}. */
  log(): Promise<ProxyLog>;
  /** Clear the proxy log and the connection counts. */
  reset(): Promise<void>;
  /** End the child (close its stdin; SIGKILL after 3 s) and remove the
   * temporary directory. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@linkcode startNetFixtures}. */
export interface NetFixturesOptions {
  /** The child exits by itself after this many milliseconds. @default 120_000 */
  lifetimeMs?: number;
}

const FIXTURE = "tests/fixtures/net_server.mjs";

/** Start the network fixtures in a Node child process (ready within 20 s). */
export async function startNetFixtures(
  options: NetFixturesOptions = {},
): Promise<NetFixtures> {
  const fixture = await startFixtureProcess(FIXTURE, {
    lifetimeMs: options.lifetimeMs ?? 120_000,
  });
  const ready = fixture.ready;
  const tmpDir = ready.tmpDir as string;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= fixture.close().then(() => {
      rmSync(tmpDir, { recursive: true, force: true });
    });
  const command = (cmd: string) => fixture.command(cmd);
  const port = (name: string) => ready[name] as number;
  const text = (name: string) => ready[name] as string;
  return {
    httpsPort: port("httpsPort"),
    httpsUrl: `https://127.0.0.1:${port("httpsPort")}`,
    untrustedPort: port("untrustedPort"),
    untrustedUrl: `https://127.0.0.1:${port("untrustedPort")}`,
    httpPort: port("httpPort"),
    httpUrl: `http://127.0.0.1:${port("httpPort")}`,
    socketPath: text("socketPath"),
    tmpDir: text("tmpDir"),
    ca: text("ca"),
    serverCert: text("serverCert"),
    serverKey: text("serverKey"),
    clientCert: text("clientCert"),
    clientKey: text("clientKey"),
    untrustedCa: text("untrustedCa"),
    proxyPort: port("proxyPort"),
    proxyUrl: text("proxyUrl"),
    authProxyPort: port("authProxyPort"),
    authProxyUrl: text("authProxyUrl"),
    authProxyUser: text("authProxyUser"),
    authProxyPassword: text("authProxyPassword"),
    async log() {
      return (await command("log")) as unknown as ProxyLog;
    },
    async reset() {
      await command("reset");
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
