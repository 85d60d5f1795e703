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
} from "./adapter.ts";
import { fetchDispatch } from "./fetch.ts";

interface DenoHttpClient {
  close(): void;
}

interface DenoApi {
  createHttpClient(options: Record<string, unknown>): DenoHttpClient;
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
  /**
   * Deno's pool can open a spare connection when a queued request starts in
   * the same tick as the previous response ends: queued requests start one
   * macrotask later.
   */
  readonly deferHandoff: boolean = true;
  #options: Record<string, unknown>;
  #client: DenoHttpClient | undefined;
  #init: Record<string, unknown> | undefined;
  #closed = false;

  /**
   * Create the adapter. Does no I/O.
   *
   * @param options Options for `Deno.createHttpClient`.
   */
  constructor(options: DenoAdapterOptions = {}) {
    this.#options = { ...options.clientOptions };
  }

  /**
   * Send a request through the adapter's HTTP client.
   *
   * @example
   * ```ts ignore
   * import { DenoAdapter } from "@x/sessions";
   * const adapter = new DenoAdapter();
   * await adapter.close();
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
      this.#client = deno.createHttpClient(this.#options);
      this.#init = { client: this.#client };
    }
    return fetchDispatch(fetch, request, this.#init);
  }

  /**
   * Close the HTTP client and its connections. Idempotent.
   *
   * @example
   * ```ts ignore
   * import { DenoAdapter } from "@x/sessions";
   * await new DenoAdapter().close();
   * ```
   */
  close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#init = undefined;
    client?.close();
    return Promise.resolve();
  }

  /**
   * Same as `close()`: closing a Deno client drops its connections at once.
   *
   * @example
   * ```ts ignore
   * import { DenoAdapter } from "@x/sessions";
   * await new DenoAdapter().destroy();
   * ```
   */
  destroy(): Promise<void> {
    return this.close();
  }
}
