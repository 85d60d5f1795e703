/**
 * The Node adapter: npm undici 7 `Client`s, one per connection, driven
 * through their `request()` API (not fetch).
 *
 * @module
 */
import type { Client, Dispatcher, ProxyAgent } from "undici";
import type {
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
  PoolHints,
  ProxyInfo,
} from "./adapter.ts";
import { FetchResponse } from "./_fetch_response.ts";
import { ACCEPT_ENCODING } from "./_decode.ts";
import { UndiciResponse } from "./_undici_response.ts";
import { undiciTls } from "./_tls.ts";
import { isGoaway, markClosed, markGoaway } from "./_errors.ts";
import {
  h2SessionOf,
  SharedConnection,
  SharedOrigin,
} from "./_undici_shared.ts";
import { type Http2Mode, mayUseH2 } from "../http2.ts";

type Undici = typeof import("undici");

/**
 * Options of {@linkcode NodeAdapter}.
 *
 * @example
 * ```ts
 * import { NodeAdapter, type NodeAdapterOptions } from "@x/sessions";
 * const options: NodeAdapterOptions = { keepAliveTimeout: 10_000, connectTimeout: 5_000 };
 * const adapter = new NodeAdapter(options);
 * await adapter.close();
 * ```
 */
export interface NodeAdapterOptions {
  /** Idle time after which a kept-alive socket is closed, in milliseconds. @default 4_000 */
  keepAliveTimeout?: number;
  /** Time to establish a connection, in milliseconds. @default 10_000 */
  connectTimeout?: number;
  /** Further options for each `new undici.Client()`. */
  clientOptions?: Record<string, unknown>;
}

let undiciModule: Promise<Undici> | undefined;

function loadUndici(): Promise<Undici> {
  return undiciModule ??= import("undici");
}

// The connections of one origin: one undici Client per socket. A client is
// handed out only when no request runs on it, and the most recently freed
// one first, so connections opened = the peak number of requests at once.
class OriginPool {
  readonly free: Client[] = [];
  readonly all = new Set<Client>();
}

/**
 * A pool adapter over npm undici 7. Chosen automatically on Node.
 *
 * It keeps one undici `Client` per connection and origin, hands a client
 * to a request only when none of the session's requests is running on it
 * (so a session never opens more sockets than it runs requests at once,
 * and sequential requests share one socket), and calls its `request()`
 * API, not fetch. The result is wrapped in a light object with the
 * `Response` surface, which is what lets a session run at `undici.request`
 * speed; `session.fetch()` builds a real WHATWG `Response` only when asked.
 *
 * @example
 * ```ts ignore
 * import { NodeAdapter, Session } from "@x/sessions";
 *
 * await using session = new Session({
 *   adapter: new NodeAdapter({ keepAliveTimeout: 10_000 }),
 * });
 * ```
 */
export class NodeAdapter implements PoolAdapter {
  /** Adapter name. */
  readonly name: string = "undici";
  /** Calls `request.onConnect()` when the connection is up. */
  readonly reportsConnect: boolean = true;
  #options: NodeAdapterOptions;
  #undici: Undici | undefined;
  #origins = new Map<string, OriginPool>();
  #proxies = new Map<string, ProxyAgent>();
  #tls: Record<string, unknown> | undefined;
  #socketPath: string | undefined;
  #closed = false;
  #http2: Http2Mode;
  // Origins that may speak h2 (see _undici_shared.ts).
  #shared = new Map<string, SharedOrigin>();

  /**
   * Create the adapter. Does no I/O; undici is loaded at the first request.
   *
   * @param options Client settings.
   * @param hints The session's limits (the session enforces them), TLS
   *   settings, unix socket path and `http2` mode (h2 over TLS by ALPN, or
   *   h2c with prior knowledge).
   */
  constructor(options: NodeAdapterOptions = {}, hints?: PoolHints) {
    this.#options = options;
    this.#socketPath = hints?.socketPath;
    this.#http2 = hints?.http2 ?? false;
    if (hints?.tls !== undefined) this.#tls = undiciTls(hints.tls);
  }

  /**
   * Send a request on a free connection of its origin, or a new one.
   *
   * @example
   * ```ts ignore
   * import { NodeAdapter, type PoolAdapter, Session } from "@x/sessions";
   *
   * // A session over undici that logs every request slower than 500 ms.
   * const inner = new NodeAdapter({ keepAliveTimeout: 30_000 });
   * const logged: PoolAdapter = {
   *   name: "logged-node",
   *   async dispatch(request) {
   *     const started = performance.now();
   *     const response = await inner.dispatch(request);
   *     const ms = performance.now() - started;
   *     if (ms > 500) console.log(`slow: ${request.method} ${request.url} ${ms} ms`);
   *     return response;
   *   },
   *   close: () => inner.close(),
   *   destroy: () => inner.destroy(),
   * };
   * await using session = new Session({ adapter: logged });
   * await session.get("https://example.com/").text();
   * ```
   *
   * @param request The prepared request.
   * @returns The response once its headers arrived.
   */
  dispatch(request: AdapterRequest): Promise<AdapterResponse> {
    const undici = this.#undici;
    if (undici !== undefined) return this.#send(undici, request);
    return loadUndici().then((loaded) => {
      this.#undici = loaded;
      return this.#send(loaded, request);
    });
  }

  #send(undici: Undici, request: AdapterRequest): Promise<AdapterResponse> {
    if (this.#closed) return Promise.reject(new Error("NodeAdapter is closed"));
    if (request.proxy !== undefined) {
      return this.#sendProxied(undici, request, request.proxy);
    }
    if (this.#http2 !== false && mayUseH2(this.#http2, request.origin)) {
      return this.#sendShared(undici, request);
    }
    let pool = this.#origins.get(request.origin);
    if (pool === undefined) {
      pool = new OriginPool();
      this.#origins.set(request.origin, pool);
    }
    let client = pool.free.pop();
    while (client !== undefined && (client.destroyed || client.closed)) {
      pool.all.delete(client);
      client = pool.free.pop();
    }
    if (client === undefined) {
      client = this.#connect(undici, request);
      pool.all.add(client);
      request.reused = false;
    } else {
      request.reused = true;
      request.onConnect?.();
    }
    const owner = pool;
    const used = client;
    const release = () => {
      if (this.#closed || used.closed || used.destroyed) {
        owner.all.delete(used);
      } else {
        owner.free.push(used);
      }
    };
    // The client serves this request alone: a request aborted while its
    // connection is being made closes that connection.
    const cancel = (reason: unknown) => {
      used.destroy(reason as Error).catch(() => {});
    };
    return dispatch(used, request, release, undefined, cancel).catch(
      (error) => {
        throw markClosed(error);
      },
    );
  }

  /** undici Client options for a new connection of `request`'s origin. */
  #clientOptions(request: AdapterRequest): Record<string, unknown> {
    const options = this.#options;
    return {
      keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
      // The session's own connect timer fires first; undici's is a
      // backstop (its timers have a resolution of about a second).
      connectTimeout: request.connectTimeout
        ? request.connectTimeout + 1_000
        : (options.connectTimeout ?? 10_000),
      pipelining: 1,
      ...(this.#tls && { connect: this.#tls }),
      ...(this.#socketPath && { socketPath: this.#socketPath }),
      ...options.clientOptions,
    };
  }

  /** A client (a new connection) for `request`, which it reports when up. */
  #connect(undici: Undici, request: AdapterRequest): Client {
    const client = new undici.Client(
      request.origin,
      this.#clientOptions(request),
    );
    // Both listeners go once either fires: a listener left on the client
    // would keep this request (and its session) reachable.
    const onConnect = () => {
      forget();
      request.onConnect?.();
    };
    const forget = () => {
      client.off("connect", onConnect);
      client.off("connectionError", forget);
    };
    client.once("connect", onConnect);
    client.once("connectionError", forget);
    return client;
  }

  // To an origin that may speak h2: a connection with room, or a new one
  // (see _undici_shared.ts).
  #sendShared(
    undici: Undici,
    request: AdapterRequest,
  ): Promise<AdapterResponse> {
    let origin = this.#shared.get(request.origin);
    if (origin === undefined) {
      origin = new SharedOrigin();
      this.#shared.set(request.origin, origin);
    }
    let connection = origin.free();
    if (connection === undefined) {
      if (origin.undecided) {
        return origin.decided(request).then(() => this.#send(undici, request));
      }
      connection = this.#connectShared(undici, request, origin);
      request.reused = false;
    } else {
      request.reused = true;
    }
    connection.take();
    if (request.onConnect !== undefined) {
      connection.whenConnected(() => request.onConnect!());
    }
    const used = connection;
    const shared = origin;
    const release = () => {
      used.release(this.#options.keepAliveTimeout ?? 4_000, () => {
        shared.remove(used);
        used.client.close().catch(() => {});
      });
      if (!used.usable) shared.remove(used);
    };
    return dispatch(used.client, request, release).then(
      (response) => {
        (response as UndiciResponse).httpVersion = used.version;
        return response;
      },
      (error) => {
        const away = used.version === "2" && (used.gone || isGoaway(error));
        throw away ? markGoaway(error) : markClosed(error);
      },
    );
  }

  /** A new connection of `origin`, with as many streams as it last allowed. */
  #connectShared(
    undici: Undici,
    request: AdapterRequest,
    origin: SharedOrigin,
  ): SharedConnection {
    const streams = origin.version === "2" ? origin.streams : 1;
    const cleartext = request.origin.startsWith("http:");
    const client = new undici.Client(request.origin, {
      ...this.#clientOptions(request),
      allowH2: true,
      ...(cleartext && { useH2c: true }),
      // Until the server's SETTINGS arrive, no more streams than it allowed
      // on its last connection: more could be refused.
      maxConcurrentStreams: streams,
      pipelining: streams,
    });
    const connection = new SharedConnection(client, streams);
    origin.connections.push(connection);
    const onConnect = () => {
      client.off("connectionError", onError);
      this.#connectedShared(connection, origin, request.origin);
    };
    const onError = (_origin: unknown, _targets: unknown, error: unknown) => {
      client.off("connect", onConnect);
      origin.failed(connection, error);
    };
    client.once("connect", onConnect);
    client.once("connectionError", onError);
    // The server sent it away (GOAWAY) or closed it: undici would connect
    // it again for requests queued on it; they fail instead, and go again
    // on a new connection (see markGoaway).
    client.once("disconnect", (_origin, _targets, error) => {
      origin.failed(connection, error);
      client.destroy().catch(() => {});
    });
    return connection;
  }

  #connectedShared(
    connection: SharedConnection,
    origin: SharedOrigin,
    url: string,
  ): void {
    const client = connection.client;
    const session = h2SessionOf(client);
    if (session === undefined) {
      if (this.#http2 === "prior-knowledge") {
        // Never a silent HTTP/1.1 when h2 was asked for without asking.
        const error = new Error(
          `Cannot speak HTTP/2 with prior knowledge to ${url} as the server chose HTTP/1.1 in the TLS handshake`,
        );
        origin.failed(connection, error);
        client.destroy(error).catch(() => {});
        return;
      }
      connection.capacity = 1;
      client.pipelining = 1;
      connection.connected("1.1");
      origin.learn("1.1", 1);
      return;
    }
    connection.connected("2");
    session.once("remoteSettings", (settings) => {
      const streams = connection.allow(settings.maxConcurrentStreams);
      origin.learn("2", streams);
    });
  }

  // Through a proxy: undici's ProxyAgent (CONNECT tunnels for https
  // targets, absolute-form requests for http ones), one per proxy. It does
  // not report connects: the connect phase is timed with the headers.
  #sendProxied(
    undici: Undici,
    request: AdapterRequest,
    proxy: ProxyInfo,
  ): Promise<AdapterResponse> {
    const key = proxy.url + " " + (proxy.authorization ?? "");
    let agent = this.#proxies.get(key);
    if (agent === undefined) {
      const tls = this.#tls;
      agent = new undici.ProxyAgent({
        uri: proxy.url,
        ...(proxy.authorization && { token: proxy.authorization }),
        proxyTunnel: false,
        keepAliveTimeout: this.#options.keepAliveTimeout ?? 4_000,
        connectTimeout: request.connectTimeout
          ? request.connectTimeout + 1_000
          : (this.#options.connectTimeout ?? 10_000),
        ...(tls && { requestTls: tls, proxyTls: tls }),
      });
      this.#proxies.set(key, agent);
    }
    request.onConnect?.();
    return dispatch(agent, request, () => {}, request.origin)
      .catch(
        (error) => {
          // undici fails a request the proxy refused with 407: answer it as
          // the proxy did, as Deno and Bun do (for http targets; a refused
          // CONNECT is an error on every runtime).
          if (
            request.origin.startsWith("http:") &&
            /\(407\)/.test((error as Error)?.message ?? "")
          ) {
            return new FetchResponse(
              new Response(null, {
                status: 407,
                statusText: "Proxy Authentication Required",
              }),
              request.url,
              request.onDone,
            );
          }
          throw error;
        },
      );
  }

  /**
   * Close every connection once its requests are done. Idempotent.
   *
   * @example
   * ```ts ignore
   * import { NodeAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new NodeAdapter({ keepAliveTimeout: 30_000 }) });
   * await session.get("https://example.com/").text();
   * // Waits for requests in flight, then calls the adapter's close(): every
   * // kept-alive connection closes and nothing holds the process open.
   * await session.close();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    const clients = this.#take();
    await Promise.all([
      ...clients.map((client) =>
        client.closed || client.destroyed ? undefined : client.close()
      ),
      ...this.#takeProxies().map((agent) => agent.close()),
    ]);
  }

  /**
   * Destroy every connection, failing requests in flight. Idempotent.
   *
   * @example
   * ```ts ignore
   * import { NodeAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new NodeAdapter({ keepAliveTimeout: 30_000 }) });
   * const pending = session.get("https://example.com/").catch((error) => error);
   * // Fails requests in flight, then calls the adapter's destroy(), which
   * // drops every connection at once.
   * await session.destroy();
   * console.log((await pending).name); // "SessionClosedError"
   * ```
   */
  async destroy(): Promise<void> {
    this.#closed = true;
    const clients = this.#take();
    await Promise.all([
      ...clients.map((client) =>
        client.destroyed ? undefined : client.destroy()
      ),
      ...this.#takeProxies().map((agent) => agent.destroy()),
    ]);
  }

  #takeProxies(): ProxyAgent[] {
    const agents = [...this.#proxies.values()];
    this.#proxies.clear();
    return agents;
  }

  #take(): Client[] {
    const clients: Client[] = [];
    for (const pool of this.#origins.values()) clients.push(...pool.all);
    this.#origins.clear();
    for (const origin of this.#shared.values()) {
      for (const connection of origin.connections) {
        connection.forget();
        clients.push(connection.client);
      }
    }
    this.#shared.clear();
    return clients;
  }
}

/**
 * Send `request` on `dispatcher` (a Client, or a ProxyAgent given the
 * origin); resolves once the response headers arrived.
 */
function dispatch(
  dispatcher: Dispatcher,
  request: AdapterRequest,
  release: () => void,
  origin?: string,
  cancel?: (reason: unknown) => void,
): Promise<AdapterResponse> {
  return new Promise((resolve, reject) => {
    const response = new UndiciResponse(
      request,
      release,
      [resolve, reject],
      cancel,
    );
    // Aborted already (while undici loaded, say): it failed when set.
    request.abortTransport = (reason) => response.abort(reason);
    if (response.aborted) return;
    dispatcher.dispatch(
      {
        origin,
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: withEncoding(request.headers),
        body: request.body as Dispatcher.DispatchOptions["body"],
        // The session times headers, and the response times body gaps,
        // itself: undici's timers tick every half second.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      response as unknown as Dispatcher.DispatchHandler,
    );
  });
}

// Like fetch, ask for compressed bodies (and decode them) unless the
// caller chose an encoding.
function withEncoding(
  headers: Readonly<Record<string, string>>,
): Record<string, string> {
  if (headers["accept-encoding"] !== undefined) {
    return headers as Record<string, string>;
  }
  // Most requests share the session's headers object: copy it once.
  let copy = withAcceptEncoding.get(headers);
  if (copy === undefined) {
    copy = { ...headers, "accept-encoding": ACCEPT_ENCODING };
    withAcceptEncoding.set(headers, copy);
  }
  return copy;
}

const withAcceptEncoding = new WeakMap<object, Record<string, string>>();
