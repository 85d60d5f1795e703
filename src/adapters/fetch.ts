/**
 * The plain `fetch` adapter: works on any runtime with a global `fetch`,
 * with no control over the pool (the runtime's shared pool is used and
 * cannot be closed).
 *
 * @module
 */
import type {
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
  PoolHints,
} from "./adapter.ts";
import { FetchResponse } from "./_fetch_response.ts";
import type { HttpVersion } from "../http2.ts";

/**
 * Options of {@linkcode FetchAdapter}.
 *
 * @example
 * ```ts
 * import { FetchAdapter, type FetchAdapterOptions } from "@x/sessions";
 * const options: FetchAdapterOptions = { fetch: globalThis.fetch };
 * const adapter = new FetchAdapter(options);
 * ```
 */
export interface FetchAdapterOptions {
  /**
   * The fetch function to call.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /** Extra `RequestInit` fields passed to every call (for example a runtime's `client`). */
  init?: Record<string, unknown>;
}

/**
 * A pool adapter over a `fetch` function.
 *
 * Used automatically on runtimes other than Deno, Node and Bun. The
 * session's `limit` and `limitPerHost` still hold, but the connections
 * belong to the runtime, so `close()` cannot close them.
 *
 * @example Force the global fetch on any runtime
 * ```ts
 * import { FetchAdapter, Session } from "@x/sessions";
 *
 * await using session = new Session({ adapter: new FetchAdapter() });
 * ```
 */
export class FetchAdapter implements PoolAdapter {
  /** Adapter name. */
  readonly name: string = "fetch";
  /** The runtime's fetch sends a User-Agent of its own. */
  readonly sendsUserAgent: boolean = true;
  #fetch: typeof fetch | undefined;
  #init: Record<string, unknown> | undefined;

  /**
   * Create a fetch adapter. Does no I/O.
   *
   * @param options The fetch function and extra init fields.
   * @param hints The session's settings: plain fetch has no TLS, unix
   *   socket or HTTP version options, so these are refused.
   * @throws {TypeError} when `hints` set `tls`, `socketPath` or `http2`.
   */
  constructor(options: FetchAdapterOptions = {}, hints?: PoolHints) {
    if (
      hints?.tls !== undefined || hints?.socketPath !== undefined ||
      hints?.http2
    ) {
      throw new TypeError(
        `Cannot create FetchAdapter as plain fetch has no ${
          hints.tls !== undefined
            ? "TLS"
            : hints.socketPath !== undefined
            ? "unix socket"
            : "HTTP version"
        } options (they work on Node, Deno and Bun)`,
      );
    }
    this.#fetch = options.fetch;
    this.#init = options.init;
  }

  /**
   * Send a request with `fetch` (redirects are returned to the session,
   * which follows them).
   *
   * @example
   * ```ts ignore
   * import { FetchAdapter, type PoolAdapter, Session } from "@x/sessions";
   *
   * // A session over the global fetch that logs every request slower than 500 ms.
   * const inner = new FetchAdapter();
   * const logged: PoolAdapter = {
   *   name: "logged-fetch",
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
    if (request.proxy !== undefined) {
      return Promise.reject(
        new TypeError(
          "Cannot send request through a proxy with FetchAdapter: plain fetch has no proxy option",
        ),
      );
    }
    return fetchDispatch(this.#fetch ?? fetch, request, this.#init);
  }

  /**
   * Nothing to close: the runtime owns the connections.
   *
   * @example
   * ```ts ignore
   * import { FetchAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new FetchAdapter() });
   * await session.get("https://example.com/").text();
   * // Waits for requests in flight, then calls the adapter's close(): every
   * // kept-alive connection closes and nothing holds the process open.
   * await session.close();
   * ```
   */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Nothing to destroy: the session aborts its requests itself.
   *
   * @example
   * ```ts ignore
   * import { FetchAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new FetchAdapter() });
   * const pending = session.get("https://example.com/").catch((error) => error);
   * // Fails requests in flight, then calls the adapter's destroy(), which
   * // drops every connection at once.
   * await session.destroy();
   * console.log((await pending).name); // "SessionClosedError"
   * ```
   */
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

/** What a runtime's adapter adds to {@linkcode fetchDispatch}. */
export interface FetchHooks {
  /** Replace the runtime's response (Deno's deflate bodies). */
  readonly adjust?: (response: Response) => Response;
  /** Map the runtime's rejection (Deno's permission errors). */
  readonly rejected?: (error: unknown) => never;
  /** The HTTP version the responses come over, when the adapter knows. */
  readonly httpVersion?: HttpVersion;
}

/** Send `request` through `fetchFn`; shared by the fetch-based adapters. */
export function fetchDispatch(
  fetchFn: (input: string, init: RequestInit) => Promise<Response>,
  request: AdapterRequest,
  extra?: Record<string, unknown>,
  hooks?: FetchHooks,
): Promise<AdapterResponse> {
  const url = request.url;
  // Only what differs from fetch's defaults: each init field costs the
  // runtime a conversion.
  const init: RequestInit & Record<string, unknown> = {
    signal: request.signal,
    redirect: "manual",
    ...extra,
  };
  if (request.method !== "GET") init.method = request.method;
  const headers = request.headers;
  if (Object.keys(headers).length > 0) {
    init.headers = headers as Record<string, string>;
  }
  if (request.body !== null) {
    init.body = request.body as BodyInit;
    if (request.body instanceof ReadableStream) init.duplex = "half";
  }
  const adjust = hooks?.adjust;
  const version = hooks?.httpVersion;
  return fetchFn(url, init).then(
    (response) => {
      const adapted = new FetchResponse(
        adjust === undefined ? response : adjust(response),
        url,
        request.onDone,
        request.method,
        request.bodyIdleTimeout,
      );
      if (version !== undefined) adapted.httpVersion = version;
      return adapted;
    },
    hooks?.rejected,
  );
}
