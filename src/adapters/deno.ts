/**
 * The Deno adapter: `fetch` with a dedicated `Deno.createHttpClient` pool,
 * closed by the session.
 *
 * @module
 */
import type {
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
  PoolHints,
  ProxyInfo,
} from "./adapter.ts";
import { fetchDispatch, type FetchHooks } from "./fetch.ts";
import { IDEMPOTENT } from "../_http.ts";
import {
  isGoaway,
  markClosed,
  markDenied,
  markGoaway,
  refusedH2,
} from "./_errors.ts";
import { type Http2Mode, mayUseH2 } from "../http2.ts";
import { caList } from "./_tls.ts";

/**
 * Deno's client sends a request again, once, when its connection closes
 * before the answer, whatever the method, unless the body is a Blob or a
 * stream: a request that is not idempotent goes with a Blob body, so the
 * server never gets it twice without the user's say.
 */
function denoFetch(input: string, init: RequestInit): Promise<Response> {
  const method = init.method;
  if (method !== undefined && !IDEMPOTENT.has(method)) {
    const body = init.body;
    if (body === undefined || typeof body === "string") {
      init.body = new Blob(body === undefined ? [] : [body]);
    } else if (body instanceof Uint8Array) {
      init.body = new Blob([body as Uint8Array<ArrayBuffer>]);
    }
  }
  return fetch(input, init);
}

/**
 * Deno's fetch decodes gzip and br but hands deflate bodies over as they
 * came: decode them as Node and Bun do (zlib-wrapped or raw).
 */
function inflateDeflate(response: Response): Response {
  const encoding = response.headers.get("content-encoding");
  if (
    encoding === null || encoding.trim().toLowerCase() !== "deflate" ||
    response.body === null
  ) {
    return response;
  }
  let decoded: Response;
  try {
    decoded = new Response(inflate(response.body), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  } catch {
    return response; // a status a Response cannot be built with
  }
  Object.defineProperty(decoded, "url", { value: response.url });
  return decoded;
}

const DENO_HOOKS: FetchHooks = {
  adjust: inflateDeflate,
  rejected: (error) => {
    throw markClosed(markDenied(error));
  },
};

// Requests on the client that speaks only h2.
const DENO_H2_HOOKS: FetchHooks = {
  adjust: inflateDeflate,
  httpVersion: "2",
  rejected: (error) => {
    throw isGoaway(error) ? markGoaway(error) : markClosed(markDenied(error));
  },
};
// The same, leaving the rejection as it came (to tell a refused h2).
const DENO_H2_TRY_HOOKS: FetchHooks = { ...DENO_H2_HOOKS, rejected: undefined };

/** `true` when `bytes` start with a zlib header (RFC 1950). */
function isZlib(bytes: Uint8Array): boolean {
  const first = bytes[0];
  if ((first & 0x0f) !== 8) return false;
  return bytes.length < 2 || ((first << 8) | bytes[1]) % 31 === 0;
}

function inflate(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const source = body.getReader();
  let decoded: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const open = async (): Promise<boolean> => {
    const first = await source.read();
    if (first.done) return false;
    const compressed = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(first.value),
      pull: async (controller) => {
        const next = await source.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: (reason) => source.cancel(reason),
    });
    const format = isZlib(first.value) ? "deflate" : "deflate-raw";
    decoded = compressed.pipeThrough(
      new DecompressionStream(format) as unknown as TransformStream<
        Uint8Array,
        Uint8Array
      >,
    ).getReader();
    return true;
  };
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      if (decoded === undefined && !await open()) {
        controller.close();
        return;
      }
      const next = await decoded!.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => (decoded ?? source).cancel(reason),
  }, { highWaterMark: 0 });
}

interface DenoHttpClient {
  close(): void;
}

interface DenoApi {
  createHttpClient(options: Record<string, unknown>): DenoHttpClient;
  env: {
    get(name: string): string | undefined;
    set(name: string, value: string): void;
    delete(name: string): void;
  };
}

// Deno's clients read these when they are created, and NO_PROXY even
// overrides an explicit proxy: the session decides which proxy each request
// uses, so clients are created with them out of sight.
const PROXY_VARIABLES = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
].flatMap((name) => [name, name.toLowerCase()]);

function createClient(
  deno: DenoApi,
  options: Record<string, unknown>,
): DenoHttpClient {
  const saved: [string, string][] = [];
  try {
    for (const name of PROXY_VARIABLES) {
      const value = deno.env.get(name);
      if (value !== undefined) {
        saved.push([name, value]);
        deno.env.delete(name);
      }
    }
  } catch {
    // No permission to read the environment: nor can the client.
  }
  try {
    return deno.createHttpClient(options);
  } finally {
    for (const [name, value] of saved) deno.env.set(name, value);
  }
}

/**
 * Options of {@linkcode DenoAdapter}.
 *
 * @example
 * ```ts
 * import type { DenoAdapterOptions } from "@x/sessions";
 * const options: DenoAdapterOptions = { clientOptions: { http2: false } };
 * ```
 */
export interface DenoAdapterOptions {
  /**
   * Options passed to `Deno.createHttpClient` (`caCerts`, `proxy`,
   * `poolMaxIdlePerHost`, `http2`, ...).
   * @default {}
   */
  clientOptions?: Record<string, unknown>;
}

/**
 * A pool adapter over `Deno.createHttpClient`. Chosen automatically on
 * Deno.
 *
 * The client is created at the first request and closed by `close()`, so a
 * closed session leaves no connection open.
 *
 * @example
 * ```ts ignore
 * import { DenoAdapter, Session } from "@x/sessions";
 *
 * await using session = new Session({
 *   adapter: new DenoAdapter({ clientOptions: { http2: false } }),
 * });
 * ```
 */
export class DenoAdapter implements PoolAdapter {
  /** Adapter name. */
  readonly name: string = "deno";
  /** The runtime's fetch sends a User-Agent of its own. */
  readonly sendsUserAgent: boolean = true;
  /**
   * Deno's pool can open a spare connection when a queued request starts in
   * the same tick as the previous response ends: queued requests start one
   * macrotask later.
   */
  readonly deferHandoff: boolean = true;
  #options: Record<string, unknown>;
  #client: DenoHttpClient | undefined;
  #init: Record<string, unknown> | undefined;
  // With the session's `http2`: a second client that speaks only h2 (Deno
  // opens one connection per origin on it and multiplexes every request),
  // and the origins that turned out to speak HTTP/1.1 only.
  #http2: Http2Mode;
  #h2Options: Record<string, unknown> | undefined;
  #h2Client: DenoHttpClient | undefined;
  #h2Init: Record<string, unknown> | undefined;
  #h1Origins = new Set<string>();
  // One client per proxy, made at its first request.
  #proxied = new Map<string, [DenoHttpClient, Record<string, unknown>]>();
  #closed = false;

  /**
   * Create the adapter. Does no I/O.
   *
   * @param options Options for `Deno.createHttpClient`.
   * @param hints The session's TLS settings (`insecure` and `socketPath`
   *   cannot be done with Deno's client: the default adapter uses undici
   *   on Deno for them) and `http2` mode (without it, HTTP/1.1).
   * @throws {TypeError} when `hints` ask for `insecure` or `socketPath`.
   */
  constructor(options: DenoAdapterOptions = {}, hints?: PoolHints) {
    const tls = hints?.tls;
    if (tls?.insecure || hints?.socketPath !== undefined) {
      throw new TypeError(
        `Cannot create DenoAdapter as Deno.createHttpClient has no ${
          tls?.insecure
            ? "option to skip certificate checks"
            : "unix socket transport that sends origin-form requests"
        }: use NodeAdapter (undici), which the default adapter picks on Deno for this`,
      );
    }
    const base: Record<string, unknown> = {};
    if (tls !== undefined) {
      const ca = caList(tls);
      if (ca.length > 0) base.caCerts = ca;
      if (tls.cert !== undefined) {
        base.cert = tls.cert;
        base.key = tls.key;
      }
    }
    // HTTP/1.1 unless the session asks for h2 (Deno's own default
    // negotiates it).
    this.#options = { http2: false, ...base, ...options.clientOptions };
    this.#http2 = hints?.http2 ?? false;
    if (this.#http2 !== false) {
      this.#h2Options = {
        ...base,
        ...options.clientOptions,
        http1: false,
        http2: true,
      };
    }
  }

  /**
   * Send a request through the adapter's HTTP client.
   *
   * @example
   * ```ts ignore
   * import { DenoAdapter, type PoolAdapter, Session } from "@x/sessions";
   *
   * // A session over Deno's client that logs every request slower than 500 ms.
   * const inner = new DenoAdapter();
   * const logged: PoolAdapter = {
   *   name: "logged-deno",
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
    if (this.#init === undefined) {
      if (this.#closed) {
        return Promise.reject(new Error("DenoAdapter is closed"));
      }
      const deno = (globalThis as { Deno?: DenoApi }).Deno;
      if (!deno?.createHttpClient) {
        return Promise.reject(
          new Error("DenoAdapter needs Deno.createHttpClient (run on Deno)"),
        );
      }
      this.#client = createClient(deno, this.#options);
      this.#init = { client: this.#client };
      if (this.#h2Options !== undefined) {
        this.#h2Client = createClient(deno, this.#h2Options);
        this.#h2Init = { client: this.#h2Client };
      }
    }
    const proxy = request.proxy;
    let init = this.#init;
    if (proxy !== undefined) {
      try {
        init = this.#proxiedInit(proxy);
      } catch (error) {
        // Deno checks the proxy's net permission when the client is made.
        return Promise.reject(markDenied(error));
      }
    }
    if (
      this.#h2Init !== undefined && proxy === undefined &&
      mayUseH2(this.#http2, request.origin) &&
      !this.#h1Origins.has(request.origin)
    ) {
      return this.#sendH2(request, this.#h2Init, init);
    }
    return fetchDispatch(denoFetch, request, init, DENO_HOOKS);
  }

  // Over the h2-only client; an origin whose server refuses h2 in the
  // handshake (nothing was sent) goes over HTTP/1.1 from then on, unless
  // h2 was asked for with prior knowledge.
  #sendH2(
    request: AdapterRequest,
    h2Init: Record<string, unknown>,
    h1Init: Record<string, unknown>,
  ): Promise<AdapterResponse> {
    const sent = fetchDispatch(denoFetch, request, h2Init, DENO_H2_TRY_HOOKS);
    return sent.catch((error) => {
      if (
        this.#http2 === "prior-knowledge" || !refusedH2(error) ||
        request.body instanceof ReadableStream
      ) {
        return DENO_H2_HOOKS.rejected!(error);
      }
      this.#h1Origins.add(request.origin);
      return fetchDispatch(denoFetch, request, h1Init, DENO_HOOKS);
    });
  }

  #proxiedInit(proxy: ProxyInfo): Record<string, unknown> {
    const key = proxy.url + " " + (proxy.authorization ?? "");
    let entry = this.#proxied.get(key);
    if (entry === undefined) {
      const deno = (globalThis as { Deno?: DenoApi }).Deno!;
      const client = createClient(deno, {
        ...this.#options,
        proxy: {
          url: proxy.url,
          ...(proxy.authorization !== undefined && {
            basicAuth: {
              username: proxy.username ?? "",
              password: proxy.password ?? "",
            },
          }),
        },
      });
      entry = [client, { client }];
      this.#proxied.set(key, entry);
    }
    return entry[1];
  }

  /**
   * Close the HTTP client and its connections. Idempotent.
   *
   * @example
   * ```ts ignore
   * import { DenoAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new DenoAdapter() });
   * await session.get("https://example.com/").text();
   * // Waits for requests in flight, then calls the adapter's close(): every
   * // kept-alive connection closes and nothing holds the process open.
   * await session.close();
   * ```
   */
  close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#init = undefined;
    client?.close();
    this.#h2Client?.close();
    this.#h2Client = undefined;
    this.#h2Init = undefined;
    for (const [proxied] of this.#proxied.values()) proxied.close();
    this.#proxied.clear();
    return Promise.resolve();
  }

  /**
   * Same as `close()`: closing a Deno client drops its connections at once.
   *
   * @example
   * ```ts ignore
   * import { DenoAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new DenoAdapter() });
   * const pending = session.get("https://example.com/").catch((error) => error);
   * // Fails requests in flight, then calls the adapter's destroy(), which
   * // drops every connection at once.
   * await session.destroy();
   * console.log((await pending).name); // "SessionClosedError"
   * ```
   */
  destroy(): Promise<void> {
    return this.close();
  }
}
