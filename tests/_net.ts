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
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime } from "./_test.ts";

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

const READY_TIMEOUT_MS = 20_000;
const COMMAND_TIMEOUT_MS = 5_000;
const KILL_AFTER_MS = 3_000;
const FIXTURE = join("tests", "fixtures", "net_server.mjs");

/** The repository root: the nearest ancestor holding package.json and the
 * fixture script (tests run from tests/ or, compiled, from .build/tests/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (
      existsSync(join(dir, "package.json")) && existsSync(join(dir, FIXTURE))
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`_net.ts: no ${FIXTURE} above ${import.meta.url}`);
    }
    dir = parent;
  }
}

/**
 * Node itself on Node; else the Node the test runner named
 * (`SESSIONS_TEST_NODE`); else `node` on PATH.
 */
function nodeBinary(): string {
  if (runtime === "node") return process.execPath;
  return process.env.SESSIONS_TEST_NODE ?? "node";
}

/** Start the network fixtures in a Node child process (ready within 20 s). */
export async function startNetFixtures(
  options: NetFixturesOptions = {},
): Promise<NetFixtures> {
  const root = repoRoot();
  const config = JSON.stringify({ lifetimeMs: options.lifetimeMs ?? 120_000 });
  const child: ChildProcess = spawn(
    nodeBinary(),
    [join(root, FIXTURE), config],
    { cwd: root, stdio: ["pipe", "pipe", "pipe"] },
  );

  let stderr = "";
  let buffer = "";
  let exited = false;
  let exitCode: number | null = null;
  let spawnError: Error | undefined;
  /** Waiters for the next stdout lines, in order. */
  const waiters: Array<{
    resolve: (line: string) => void;
    reject: (error: Error) => void;
  }> = [];
  let onExit!: () => void;
  const exitedPromise = new Promise<void>((resolve) => (onExit = resolve));
  function finish(code: number | null): void {
    if (exited) return;
    exited = true;
    exitCode = code;
    const error = new Error(
      `net_server exited (${code})${spawnError ? `: ${spawnError}` : ""}\n${
        stderr.slice(-4_000)
      }`,
    );
    for (const waiter of waiters.splice(0)) waiter.reject(error);
    onExit();
  }
  child.once("close", (code) => finish(code));
  child.once("error", (error) => {
    spawnError = error;
    // Spawning failed (no pid): there may be no "close" event.
    if (child.pid === undefined) finish(null);
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_000);
  });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim() === "") continue;
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(line);
      else stderr += `\n(unexpected stdout line) ${line}`;
    }
  });
  child.stdin!.on("error", () => {
    // EPIPE after the child is gone: reported through "close".
  });

  /** The next stdout line, within `ms`. */
  function nextLine(ms: number, what: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (exited) {
        reject(new Error(`net_server exited (${exitCode})\n${stderr}`));
        return;
      }
      const waiter = {
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = waiters.indexOf(waiter);
        if (index !== -1) waiters.splice(index, 1);
        reject(
          new Error(`net_server: no ${what} after ${ms} ms\n${stderr}`),
        );
      }, ms);
      waiters.push(waiter);
    });
  }

  let closing: Promise<void> | undefined;
  let tmpDir: string | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      if (!exited) {
        child.stdin!.end();
        const timer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
        await exitedPromise;
        clearTimeout(timer);
      }
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    })();
    return closing;
  }

  let ready: Record<string, unknown>;
  try {
    const line = await nextLine(READY_TIMEOUT_MS, "ready line");
    ready = JSON.parse(line);
    if (ready.ready !== true) {
      throw new Error(`net_server: unexpected first line ${line}`);
    }
    tmpDir = ready.tmpDir as string;
  } catch (error) {
    if (!exited) child.kill("SIGKILL");
    await exitedPromise;
    throw error;
  }

  async function command(cmd: string): Promise<Record<string, unknown>> {
    if (closing || exited) throw new Error("net_server: already closed");
    const reply = nextLine(COMMAND_TIMEOUT_MS, `reply to ${cmd}`);
    child.stdin!.write(JSON.stringify({ cmd }) + "\n");
    const parsed = JSON.parse(await reply);
    if (parsed.error) throw new Error(`net_server: ${parsed.error}`);
    return parsed;
  }

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
