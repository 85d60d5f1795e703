/**
 * {@linkcode SessionRegistry}: named sessions shared by a whole
 * application, created on first use and closed together.
 *
 * @module
 */
import {
  applyCookies,
  fromConfig,
  parseSessionOptions,
  type SessionConfig,
} from "./_config.ts";
import { checkObject } from "./_checks.ts";
import type { SessionOptions } from "./options.ts";
import { Session } from "./session.ts";
import { SessionClosedError } from "./errors.ts";

/**
 * Named sessions with their own options ("one for GitHub, another for
 * Facebook"), created on first use, shared by the whole application, and
 * closed together with `close()` or `await using`.
 *
 * Typical lifecycle: create the registry when the server starts, close it
 * when the server stops, and import it wherever a session is needed.
 *
 * @example
 * ```ts
 * import { MockAdapter, SessionRegistry } from "@x/sessions";
 *
 * const adapter = new MockAdapter()
 *   .route("GET", "https://api.github.test/users/ada", { json: { login: "ada" } })
 *   .route("GET", "https://graph.facebook.test/me", { json: { id: "1" } });
 * await using sessions = new SessionRegistry({
 *   github: { baseUrl: "https://api.github.test", adapter },
 *   facebook: { baseUrl: "https://graph.facebook.test", adapter },
 * });
 * console.log(await sessions.get("github").get("users/ada").json()); // { login: "ada" }
 * console.log(await sessions.get("facebook").get("me").json()); // { id: "1" }
 * ```
 *
 * @typeParam Name The session names.
 */
export class SessionRegistry<Name extends string = string>
  implements AsyncDisposable {
  // Each definition is parsed once; its session is made from that.
  #configs = new Map<string, SessionConfig>();
  #sessions = new Map<string, Session>();
  #closed = false;

  /**
   * Create a registry. Does no I/O: each session is made at its first
   * `get()`.
   *
   * @param definitions Session options by name; more can be added with
   * `define()`.
   * @throws {TypeError | RangeError} for invalid options, as `new Session()`.
   */
  constructor(
    definitions: Record<Name, SessionOptions> = {} as Record<
      Name,
      SessionOptions
    >,
  ) {
    checkObject(definitions, "create session registry");
    for (const [name, options] of Object.entries<SessionOptions>(definitions)) {
      this.define(name, options);
    }
  }

  /**
   * Add a named session definition. Its options are checked at once.
   *
   * @example
   * ```ts
   * import { SessionRegistry } from "@x/sessions";
   * await using sessions = new SessionRegistry();
   * sessions.define("api", { baseUrl: "https://api.example.com" });
   * console.log(sessions.has("api")); // true
   * ```
   *
   * @param name The name.
   * @param options The session's options.
   * @returns This registry.
   * @throws {TypeError} when the name is already defined or the registry is closed.
   */
  define<N extends string>(
    name: N,
    options: SessionOptions = {},
  ): SessionRegistry<Name | N> {
    const action = `define session '${name}'`;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Cannot define session as its name must be a non-empty string`,
      );
    }
    if (this.#closed) {
      throw new TypeError(`Cannot ${action} as the registry is closed`);
    }
    if (this.#configs.has(name)) {
      throw new TypeError(`Cannot ${action} as it is already defined`);
    }
    checkObject(options, action);
    const config = parseSessionOptions(options, action);
    applyCookies(config);
    this.#configs.set(name, config);
    return this as SessionRegistry<Name | N>;
  }

  /**
   * `true` when a session of that name is defined.
   *
   * @example
   * ```ts
   * import { SessionRegistry } from "@x/sessions";
   * await using sessions = new SessionRegistry({ api: {} });
   * console.log(sessions.has("api"), sessions.has("other")); // true false
   * ```
   *
   * @param name The name.
   * @returns Whether it is defined.
   */
  has(name: string): name is Name {
    return this.#configs.has(name);
  }

  /**
   * The session of that name, created at the first call.
   *
   * @example
   * ```ts
   * import { SessionRegistry } from "@x/sessions";
   * await using sessions = new SessionRegistry({ api: { baseUrl: "https://api.example.com" } });
   * console.log(sessions.get("api") === sessions.get("api")); // true
   * ```
   *
   * @param name The name.
   * @returns The shared session.
   * @throws {TypeError} for an unknown name.
   * @throws {SessionClosedError} once the registry is closed.
   */
  get(name: Name): Session {
    if (this.#closed) {
      throw new SessionClosedError(
        `Cannot get session '${name}' as the registry is closed`,
      );
    }
    const config = this.#configs.get(name);
    if (config === undefined) {
      const known = [...this.#configs.keys()].map((k) => `'${k}'`).join(", ");
      throw new TypeError(
        `Cannot get session '${name}' as it is not defined (defined: ${
          known || "none"
        })`,
      );
    }
    let session = this.#sessions.get(name);
    if (session === undefined) {
      session = new Session(fromConfig(config));
      this.#sessions.set(name, session);
    }
    return session;
  }

  /**
   * `true` once `close()` was called.
   *
   * @example
   * ```ts
   * import { SessionRegistry } from "@x/sessions";
   * const sessions = new SessionRegistry();
   * await sessions.close();
   * console.log(sessions.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Close every session created so far, gracefully and in parallel.
   * Idempotent; `get()` throws afterwards.
   *
   * @example
   * ```ts
   * import { SessionRegistry } from "@x/sessions";
   * const sessions = new SessionRegistry({ api: {} });
   * sessions.get("api");
   * await sessions.close();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    const sessions = [...this.#sessions.values()];
    await Promise.all(sessions.map((session) => session.close()));
  }

  /**
   * Same as `close()`, for `await using`.
   *
   * @example
   * ```ts
   * import { SessionRegistry } from "@x/sessions";
   * {
   *   await using sessions = new SessionRegistry({ api: {} });
   *   sessions.get("api");
   * } // closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
