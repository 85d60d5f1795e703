/**
 * The Node adapter: npm undici 7 `Client`s, one per connection, driven
 * through their `request()` API (not fetch).
 *
 * @module
 */
import type { Client, Dispatcher, ProxyAgent } from "undici";
import type { Readable, Transform } from "node:stream";
import type {
  AbortSource,
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
  PoolHints,
  ProxyInfo,
} from "./adapter.ts";
import {
  concat,
  DUMP_BYTES,
  DUMP_WAIT,
  type ErrorMapper,
  FetchResponse,
  idleRead,
  tooBigToDrain,
} from "./_fetch_response.ts";
import { undiciTls } from "./_tls.ts";
import { markClosed } from "./_errors.ts";
import { hasNoBody, isNullBodyStatus } from "../_http.ts";
import { statusText as reasonPhrase } from "../_status.ts";

type Undici = typeof import("undici");
type BodyReadable = Dispatcher.ResponseData["body"];

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
  #connect: Record<string, unknown> | undefined;
  #socketPath: string | undefined;
  #closed = false;

  /**
   * Create the adapter. Does no I/O; undici is loaded at the first request.
   *
   * @param options Client settings.
   * @param hints The session's limits (the session enforces them), TLS
   *   settings and unix socket path.
   */
  constructor(options: NodeAdapterOptions = {}, hints?: PoolHints) {
    this.#options = options;
    this.#socketPath = hints?.socketPath;
    if (hints?.tls !== undefined) this.#connect = undiciTls(hints.tls);
  }

  /**
   * Send a request on a free connection of its origin, or a new one.
   *
   * @example
   * ```ts ignore
   * import { NodeAdapter } from "@x/sessions";
   * await new NodeAdapter().close();
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
    let pool = this.#origins.get(request.origin);
    if (pool === undefined) {
      pool = new OriginPool();
      this.#origins.set(request.origin, pool);
    }
    let client = pool.free.pop();
    if (client === undefined) {
      const options = this.#options;
      client = new undici.Client(request.origin, {
        keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
        // The session's own connect timer fires first; undici's is a
        // backstop (its timers have a resolution of about a second).
        connectTimeout: request.connectTimeout
          ? request.connectTimeout + 1_000
          : (options.connectTimeout ?? 10_000),
        pipelining: 1,
        ...(this.#connect && { connect: this.#connect }),
        ...(this.#socketPath && { socketPath: this.#socketPath }),
        ...options.clientOptions,
      });
      pool.all.add(client);
      request.reused = false;
      // undici rejects an aborted request only once its connection is up
      // (or its own connect timer fires): destroy a connection still being
      // made, so an abort or a timeout fails the request at once.
      const source = (request.abortSource ?? request.signal) as AbortSource;
      const connecting = client;
      const onAbort = () => {
        connecting.destroy(source.reason as Error).catch(() => {});
      };
      source.addEventListener("abort", onAbort);
      // Both listeners go once either fires: a listener left on the client
      // would keep this request (and its session) reachable.
      const onConnect = () => {
        settle();
        request.onConnect?.();
      };
      const settle = () => {
        source.removeEventListener("abort", onAbort);
        connecting.off("connect", onConnect);
        connecting.off("connectionError", settle);
      };
      connecting.once("connect", onConnect);
      connecting.once("connectionError", settle);
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
    return used.request(requestOptions(request)).then(
      (data) => new UndiciResponse(data, request, release),
      (error) => {
        release();
        throw markClosed(error);
      },
    );
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
      const tls = this.#connect;
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
    return agent.request({ ...requestOptions(request), origin: request.origin })
      .then(
        (data): AdapterResponse => new UndiciResponse(data, request, () => {}),
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
   * import { NodeAdapter } from "@x/sessions";
   * await new NodeAdapter().close();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    const clients = this.#take();
    await Promise.all([
      ...clients.map((client) => client.closed ? undefined : client.close()),
      ...this.#takeProxies().map((agent) => agent.close()),
    ]);
  }

  /**
   * Destroy every connection, failing requests in flight. Idempotent.
   *
   * @example
   * ```ts ignore
   * import { NodeAdapter } from "@x/sessions";
   * await new NodeAdapter().destroy();
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
    return clients;
  }
}

/** undici's request options for `request`. */
function requestOptions(request: AdapterRequest): Dispatcher.RequestOptions {
  return {
    path: request.path,
    method: request.method as Dispatcher.HttpMethod,
    headers: withEncoding(request.headers),
    body: request.body as Dispatcher.DispatchOptions["body"],
    signal: (request.abortSource ?? request.signal) as AbortSignal,
    // The session times headers, and the response times body gaps, itself:
    // undici's timers tick every half second.
    headersTimeout: 0,
    bodyTimeout: 0,
  };
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

type Zlib = typeof import("node:zlib") & {
  // Node 22.15+ and 23.8+.
  createZstdDecompress?: () => Transform;
};
type Streams = typeof import("node:stream");
const builtin = (globalThis as {
  process?: { getBuiltinModule?: (name: string) => unknown };
}).process?.getBuiltinModule;
const zlib = builtin?.("node:zlib") as Zlib | undefined;
const streams = builtin?.("node:stream") as Streams | undefined;
const ACCEPT_ENCODING = typeof zlib?.createZstdDecompress === "function"
  ? "gzip, deflate, br, zstd"
  : "gzip, deflate, br";

function decoderFor(encoding: string): Transform | undefined {
  if (zlib === undefined) return undefined;
  switch (encoding.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      // Lenient about a missing end, as browsers are.
      return zlib.createGunzip({
        flush: zlib.constants.Z_SYNC_FLUSH,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
    case "deflate":
      return inflater(zlib);
    case "br":
      return zlib.createBrotliDecompress();
    case "zstd":
      return zlib.createZstdDecompress?.();
  }
  return undefined;
}

/**
 * A `deflate` decoder for both forms servers send: zlib-wrapped (RFC 1950,
 * as the specification says) and raw (RFC 1951), told apart by the first
 * byte, as browsers and undici's fetch do.
 */
function inflater(zlib: Zlib): Transform {
  let inner: Transform | undefined;
  return new streams!.Transform({
    transform(chunk: Uint8Array, _encoding, callback) {
      if (inner === undefined) {
        inner = (chunk[0] & 0x0f) === 0x08
          ? zlib.createInflate()
          : zlib.createInflateRaw();
        inner.on("data", (data) => this.push(data));
        inner.on("error", (error) => this.destroy(error));
      }
      inner.write(chunk, callback);
    },
    flush(callback) {
      if (inner === undefined) return callback();
      inner.once("end", () => callback());
      inner.end();
    },
  });
}

async function collect(stream: Readable): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Uint8Array);
    size += (chunk as Uint8Array).byteLength;
  }
  return concat(chunks, size);
}

class UndiciResponse implements AdapterResponse {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  #rawHeaders: Record<string, string | string[] | undefined>;
  #headers: Headers | undefined;
  #body: BodyReadable;
  // The decoded body, for a compressed response.
  #decoded: Readable | undefined;
  // The longest gap between chunks while reading (0: none).
  #idle: number;

  constructor(
    data: Dispatcher.ResponseData,
    request: AdapterRequest,
    release: () => void,
  ) {
    this.status = data.statusCode;
    this.statusText = (data as { statusText?: string }).statusText ||
      reasonPhrase(data.statusCode);
    this.url = request.url;
    this.#rawHeaders = data.headers;
    this.#idle = request.bodyIdleTimeout ?? 0;
    const body = data.body;
    this.#body = body;
    // "end" (read to the end) comes before "close" and before the reader's
    // promise resolves, so the next request finds this connection free.
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      release();
      request.onDone((body as { errored?: unknown }).errored ?? undefined);
    };
    body.once("end", finish);
    body.once("close", finish);
    if (hasNoBody(request.method, this.status)) {
      body.dump().catch(() => {});
    } else if (data.headers["content-encoding"] !== undefined) {
      const decoder = decoderFor(String(data.headers["content-encoding"]));
      if (decoder !== undefined) {
        this.#decoded = decoder;
        streams!.pipeline(body, decoder, () => {});
      }
    }
  }

  getSetCookie(): string[] {
    const value = this.#rawHeaders["set-cookie"];
    return value === undefined
      ? []
      : typeof value === "string"
      ? [value]
      : value;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      const raw = this.#rawHeaders;
      for (const name in raw) {
        const value = raw[name];
        if (value === undefined) continue;
        if (typeof value === "string") headers.append(name, value);
        else for (const item of value) headers.append(name, item);
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** `true` once anything read from the body (its web stream included). */
  get disturbed(): boolean {
    return (this.#body as { bodyUsed?: boolean }).bodyUsed === true;
  }

  // undici's body mixin reads fastest; a compressed body, or one whose
  // gaps are timed, is read chunk by chunk.
  #direct(): boolean {
    return this.#decoded === undefined && this.#idle === 0;
  }

  text(): Promise<string> {
    if (this.#direct()) return this.#body.text();
    return this.bytes().then((bytes) => new TextDecoder().decode(bytes));
  }

  json(): Promise<unknown> {
    if (this.#direct()) return this.#body.json();
    return this.text().then(JSON.parse);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#direct()) return this.#body.arrayBuffer();
    return this.bytes().then((bytes) =>
      bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer
    );
  }

  bytes(): Promise<Uint8Array> {
    if (this.#idle > 0) return this.#collectTimed();
    if (this.#decoded !== undefined) return collect(this.#decoded);
    const body = this.#body as BodyReadable & {
      bytes?: () => Promise<Uint8Array>;
    };
    if (typeof body.bytes === "function") return body.bytes();
    return body.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }

  blob(): Promise<Blob> {
    if (this.#direct()) {
      return this.#body.blob() as unknown as Promise<Blob>;
    }
    const type = this.headers.get("content-type") ?? "";
    return this.bytes().then((bytes) =>
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type })
    );
  }

  /** The (decoded) body as a web stream. */
  #source(): ReadableStream<Uint8Array> {
    return (this.#decoded !== undefined
      ? streams!.Readable.toWeb(this.#decoded)
      : this.#body.body) as unknown as ReadableStream<Uint8Array>;
  }

  // Whole-body read with each gap timed by the response's own timer.
  async #collectTimed(): Promise<Uint8Array> {
    const reader = this.#source().getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await idleRead(reader, this.#idle);
        if (done) return concat(chunks, size);
        chunks.push(value);
        size += value.byteLength;
      }
    } catch (error) {
      await this.#destroy();
      throw error;
    }
  }

  // Cancelling undici's web stream does not end the response: destroying
  // the body closes its connection and ends the exchange (once the body's
  // "close" event ran, which this waits for).
  #destroy(): Promise<void> {
    const body = this.#body;
    this.#decoded?.destroy();
    if (body.closed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => body.once("close", resolve));
    if (!body.destroyed) {
      body.on("error", () => {});
      body.destroy();
    }
    return closed;
  }

  stream(mapError?: ErrorMapper): ReadableStream<Uint8Array> | null {
    const body = this.#body;
    if (
      this.#decoded === undefined && body.readableEnded &&
      body.readableLength === 0
    ) {
      return null;
    }
    const reader = this.#source().getReader();
    const idle = this.#idle;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const { done, value } = await idleRead(reader, idle);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          await this.#destroy();
          controller.error(mapError === undefined ? error : mapError(error));
        }
      },
      cancel: (reason) => {
        const cancelled = reader.cancel(reason).catch(() => {});
        this.#destroy();
        return cancelled;
      },
    }, { highWaterMark: 0 });
  }

  dump(): Promise<void> {
    const body = this.#body;
    if (body.destroyed || body.readableEnded) return Promise.resolve();
    if (tooBigToDrain(this.#rawHeaders["content-length"])) {
      this.#destroy();
      return Promise.resolve();
    }
    // Drain what comes at once; a slow or long rest closes the connection.
    const timer = setTimeout(() => this.#destroy(), DUMP_WAIT);
    return body.dump({ limit: DUMP_BYTES }).then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
  }

  toResponse(onRead?: () => void, mapError?: ErrorMapper): Response {
    return new NodeFetchResponse(this, onRead, mapError);
  }
}

const BODY_USED = "Body is unusable: Body has already been read";

/**
 * What `session.fetch()` returns on Node: a `Response` whose body readers
 * go straight to undici's body (no web stream, no `Headers` built unless
 * asked), which is what makes it faster than `undici.fetch`. `body`,
 * `headers` and `clone()` build the web objects on first use.
 */
class NodeFetchResponse extends Response {
  #raw: UndiciResponse;
  #used = false;
  #teed = false;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | null | undefined;

  #onRead: (() => void) | undefined;
  #mapError: ErrorMapper | undefined;

  constructor(
    raw: UndiciResponse,
    onRead?: () => void,
    mapError?: ErrorMapper,
  ) {
    super(null, { status: raw.status, statusText: raw.statusText });
    this.#raw = raw;
    this.#onRead = onRead;
    this.#mapError = mapError;
    if (isNullBodyStatus(raw.status)) {
      raw.dump();
      this.#stream = null;
    }
  }

  override get headers(): Headers {
    return this.#raw.headers;
  }

  override get url(): string {
    return this.#raw.url;
  }

  #started(): void {
    const onRead = this.#onRead;
    if (onRead !== undefined) {
      this.#onRead = undefined;
      onRead();
    }
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    this.#started();
    if (this.#stream === undefined) {
      this.#stream = this.#raw.stream(this.#mapError) as
        | ReadableStream<Uint8Array<ArrayBuffer>>
        | null;
    }
    return this.#stream;
  }

  override get bodyUsed(): boolean {
    if (this.#used) return true;
    // After clone(), the body is one branch of a tee of undici's stream.
    if (this.#teed) return this.#stream?.locked ?? false;
    return this.#raw.disturbed || (this.#stream?.locked ?? false);
  }

  #read<T>(read: () => Promise<T>): Promise<T> {
    if (this.#used) return Promise.reject(new TypeError(BODY_USED));
    this.#used = true;
    this.#started();
    const mapError = this.#mapError;
    if (mapError === undefined) return read();
    return read().catch((error) => {
      throw mapError(error);
    });
  }

  override json(): Promise<unknown> {
    if (this.#stream !== undefined) return this.#viaStream("json");
    return this.#read(() => this.#raw.json());
  }

  override text(): Promise<string> {
    if (this.#stream !== undefined) return this.#viaStream("text");
    return this.#read(() => this.#raw.text());
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#stream !== undefined) return this.#viaStream("arrayBuffer");
    return this.#read(() => this.#raw.arrayBuffer());
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#stream !== undefined) return this.#viaStream("bytes");
    return this.#read(() =>
      this.#raw.bytes() as Promise<Uint8Array<ArrayBuffer>>
    );
  }

  override blob(): Promise<Blob> {
    if (this.#stream !== undefined) return this.#viaStream("blob");
    return this.#read(() => this.#raw.blob());
  }

  override formData(): Promise<FormData> {
    return this.#viaStream("formData");
  }

  override clone(): Response {
    if (this.bodyUsed) {
      throw new TypeError("Response.clone: Body has already been consumed.");
    }
    const body = this.body;
    let copy: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
    if (body !== null) {
      const [mine, theirs] = body.tee();
      this.#stream = mine;
      this.#teed = true;
      copy = theirs;
    }
    const clone = new Response(copy, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    Object.defineProperty(clone, "url", { value: this.url });
    return clone;
  }

  // Read through a real Response over the web stream (after `body` or
  // `clone()` was used, or for formData).
  #viaStream<
    K extends "json" | "text" | "arrayBuffer" | "bytes" | "blob" | "formData",
  >(
    kind: K,
  ): ReturnType<Response[K]> {
    if (this.bodyUsed) {
      return Promise.reject(new TypeError(BODY_USED)) as ReturnType<
        Response[K]
      >;
    }
    const body = this.body;
    this.#used = true;
    const native = new Response(body, { headers: this.headers });
    return (native[kind] as () => ReturnType<Response[K]>).call(native);
  }
}
