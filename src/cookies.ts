/**
 * The session's cookie jar: RFC 6265 storage and matching (domain, path,
 * `Secure`, `HttpOnly`, expiry, `SameSite`, public suffixes) by
 * [tough-cookie](https://github.com/salesforce/tough-cookie).
 *
 * @module
 */
import { CookieJar as ToughCookieJar } from "tough-cookie";
import type { HeaderRecord } from "./headers.ts";
import { TOKEN } from "./_http.ts";
import { typeName } from "./_checks.ts";

/**
 * One stored cookie, as {@linkcode CookieJar.getCookies} returns it.
 *
 * @example
 * ```ts
 * import { CookieJar } from "@x/sessions";
 * const jar = new CookieJar();
 * jar.setCookie("id=7; Path=/; HttpOnly", "https://a.test/login");
 * const [cookie] = jar.getCookies("https://a.test/");
 * console.log(cookie.name, cookie.value, cookie.httpOnly); // "id" "7" true
 * ```
 */
export interface CookieInfo {
  /** Cookie name. */
  readonly name: string;
  /** Cookie value. */
  readonly value: string;
  /** The domain it is sent to (the host itself for a host-only cookie). */
  readonly domain: string;
  /** `true` when it goes only to `domain` itself, not its subdomains. */
  readonly hostOnly: boolean;
  /** The path it is sent under. */
  readonly path: string;
  /** When it expires, or `undefined` for a session cookie. */
  readonly expires: Date | undefined;
  /** Sent only over https. */
  readonly secure: boolean;
  /** Hidden from scripts in a browser (stored and sent here as any other). */
  readonly httpOnly: boolean;
  /** `"strict"`, `"lax"`, `"none"`, or `undefined` when not set. */
  readonly sameSite: string | undefined;
}

/**
 * Options of {@linkcode CookieJar}.
 *
 * @example
 * ```ts
 * import { CookieJar, type CookieJarOptions } from "@x/sessions";
 * const options: CookieJarOptions = { rejectPublicSuffixes: true };
 * const jar = new CookieJar(options);
 * ```
 */
export interface CookieJarOptions {
  /**
   * Refuse cookies whose `Domain` is a public suffix such as `co.uk`
   * (default `true`, as browsers do).
   */
  rejectPublicSuffixes?: boolean;
}

/**
 * A cookie jar: what `Set-Cookie` headers stored, sent back in `Cookie`
 * headers to the URLs they match.
 *
 * Every session has its own jar unless it is given one with the
 * `cookieJar` option: pass the same jar to two sessions to share cookies,
 * and save it with `JSON.stringify(jar)` and {@linkcode CookieJar.fromJSON}
 * to keep them across runs.
 *
 * @example Share and persist a jar
 * ```ts
 * import { CookieJar, MockAdapter, Session } from "@x/sessions";
 *
 * const adapter = new MockAdapter().route("POST", "/login", {
 *   headers: { "set-cookie": "sid=abc; Path=/; HttpOnly" },
 * });
 * const jar = new CookieJar();
 * await using session = new Session({ baseUrl: "https://api.test", adapter, cookieJar: jar });
 * await session.post("login").text();
 * const saved = JSON.stringify(jar);
 * const restored = CookieJar.fromJSON(saved);
 * console.log(restored.getCookieHeader("https://api.test/me")); // "sid=abc"
 * ```
 */
export class CookieJar {
  #jar: ToughCookieJar;
  // Most sessions never get a cookie: skip the lookup until one is stored.
  #empty: boolean;
  // Cookie headers by URL, valid until the jar changes or a cookie in
  // them expires: a session asks for the same URLs again and again.
  #headers = new Map<string, CachedHeader>();

  /**
   * Create an empty jar.
   *
   * @param options Public suffix handling.
   */
  constructor(options: CookieJarOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        "Cannot create cookie jar as options must be an object",
      );
    }
    const reject = options.rejectPublicSuffixes ?? true;
    if (typeof reject !== "boolean") {
      throw new TypeError(
        `Cannot create cookie jar as 'rejectPublicSuffixes' must be a boolean: received ${typeof reject}`,
      );
    }
    this.#jar = new ToughCookieJar(undefined, {
      rejectPublicSuffixes: reject,
    });
    this.#empty = true;
  }

  /**
   * Store a cookie as if `url` had answered with `Set-Cookie: setCookie`.
   * A cookie the rules refuse (a `Domain` that does not match `url` or is a
   * public suffix, `Secure` from http, a malformed header) is ignored.
   *
   * @example
   * ```ts
   * import { CookieJar } from "@x/sessions";
   * const jar = new CookieJar();
   * console.log(jar.setCookie("a=1; Domain=a.test", "https://www.a.test/")); // true
   * console.log(jar.setCookie("b=2; Domain=other.test", "https://a.test/")); // false
   * ```
   *
   * @param setCookie A `Set-Cookie` header value.
   * @param url The URL that sent it.
   * @returns `true` when the cookie was stored (or an expired one deleted).
   */
  setCookie(setCookie: string, url: string | URL): boolean {
    const stored = this.#jar.setCookieSync(setCookie, String(url), {
      ignoreError: true,
    });
    if (stored === undefined) return false;
    this.#empty = false;
    this.#headers.clear();
    return true;
  }

  /**
   * The `Cookie` header value to send to `url`: the cookies that match it,
   * most specific path first; `""` when none.
   *
   * @example
   * ```ts
   * import { CookieJar } from "@x/sessions";
   * const jar = new CookieJar();
   * jar.setCookie("a=1; Path=/docs", "https://a.test/docs/");
   * jar.setCookie("b=2", "https://a.test/");
   * console.log(jar.getCookieHeader("https://a.test/docs/x")); // "a=1; b=2"
   * console.log(jar.getCookieHeader("https://a.test/")); // "b=2"
   * ```
   *
   * @param url Where the request goes.
   * @returns The header value, or `""`.
   */
  getCookieHeader(url: string | URL): string {
    if (this.#empty) return "";
    const key = String(url);
    const cached = this.#headers.get(key);
    if (
      cached !== undefined &&
      (cached.until === Infinity || Date.now() < cached.until)
    ) {
      return cached.value;
    }
    return this.#lookUp(key);
  }

  #lookUp(url: string): string {
    const cookies = this.#jar.getCookiesSync(url);
    let until = Infinity;
    for (const cookie of cookies) {
      const expiry = cookie.expiryTime();
      if (expiry !== undefined && expiry < until) until = expiry;
    }
    const value = cookies.map((cookie) => cookie.cookieString()).join("; ");
    if (this.#headers.size >= 256) this.#headers.clear();
    this.#headers.set(url, { value, until });
    return value;
  }

  /**
   * The cookies that would be sent to `url`, with their attributes.
   *
   * @example
   * ```ts
   * import { CookieJar } from "@x/sessions";
   * const jar = new CookieJar();
   * jar.setCookie("a=1; Max-Age=60; SameSite=Strict", "https://a.test/");
   * const [cookie] = jar.getCookies("https://a.test/");
   * console.log(cookie.sameSite, cookie.expires instanceof Date); // "strict" true
   * ```
   *
   * @param url A URL.
   * @returns The matching cookies.
   */
  getCookies(url: string | URL): CookieInfo[] {
    if (this.#empty) return [];
    return this.#jar.getCookiesSync(String(url)).map((cookie) => {
      const expiry = cookie.expiryTime();
      return {
        name: cookie.key,
        value: cookie.value,
        domain: cookie.domain ?? "",
        hostOnly: cookie.hostOnly === true,
        path: cookie.path ?? "/",
        expires: expiry === undefined || expiry === Infinity
          ? undefined
          : new Date(expiry),
        secure: cookie.secure,
        httpOnly: cookie.httpOnly,
        sameSite: cookie.sameSite,
      };
    });
  }

  /**
   * Forget every cookie.
   *
   * @example
   * ```ts
   * import { CookieJar } from "@x/sessions";
   * const jar = new CookieJar();
   * jar.setCookie("a=1", "https://a.test/");
   * jar.clear();
   * console.log(jar.getCookieHeader("https://a.test/")); // ""
   * ```
   */
  clear(): void {
    this.#jar.removeAllCookiesSync();
    this.#empty = true;
    this.#headers.clear();
  }

  /**
   * The jar as a JSON-compatible object, for `JSON.stringify`; read it back
   * with {@linkcode CookieJar.fromJSON}. Session cookies are included.
   *
   * @example
   * ```ts
   * import { CookieJar } from "@x/sessions";
   * const jar = new CookieJar();
   * jar.setCookie("a=1; Max-Age=3600", "https://a.test/");
   * const copy = CookieJar.fromJSON(JSON.stringify(jar));
   * console.log(copy.getCookieHeader("https://a.test/")); // "a=1"
   * ```
   *
   * @returns A plain object.
   */
  toJSON(): Record<string, unknown> {
    return this.#jar.toJSON() as unknown as Record<string, unknown>;
  }

  /**
   * Make a jar from what {@linkcode CookieJar.toJSON} gave (as an object or
   * as a JSON string).
   *
   * @example
   * ```ts
   * import { CookieJar } from "@x/sessions";
   * const jar = new CookieJar();
   * jar.setCookie("a=1", "https://a.test/");
   * console.log(CookieJar.fromJSON(jar.toJSON()).getCookieHeader("https://a.test/")); // "a=1"
   * ```
   *
   * @param json The saved jar.
   * @returns A new jar with the saved cookies.
   * @throws {TypeError} when `json` is not a saved jar.
   */
  static fromJSON(json: string | Record<string, unknown>): CookieJar {
    let restored: ToughCookieJar;
    try {
      restored = ToughCookieJar.deserializeSync(
        json as Parameters<typeof ToughCookieJar.deserializeSync>[0],
      );
    } catch (error) {
      throw new TypeError(
        `Cannot restore cookie jar as the input is not a saved jar (${
          error instanceof Error ? error.message : String(error)
        })`,
      );
    }
    const jar = new CookieJar();
    jar.#jar = restored;
    jar.#empty = (restored.serializeSync()?.cookies.length ?? 0) === 0;
    return jar;
  }
}

interface CachedHeader {
  readonly value: string;
  /** When the first of its cookies expires (ms since the epoch). */
  readonly until: number;
}

/** The checked `cookieJar` and `cookies` options. */
export interface CookieConfig {
  /** The jar, or `undefined` when cookies are off. */
  readonly jar: CookieJar | undefined;
  /** Starting cookies for the base URL's origin (written by the owner). */
  readonly initial: readonly (readonly [string, string])[] | undefined;
}

// RFC 6265 cookie-octets (no spaces, quotes, commas, semicolons or backslashes).
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/**
 * Check the `cookieJar` and `cookies` options. Writes nothing: the jar is
 * new (or the user's) and `initial` is applied by whoever makes sessions.
 */
export function parseCookieOptions(
  options: { cookieJar?: unknown; cookies?: unknown },
  hasBase: boolean,
  action: string,
): CookieConfig {
  const { cookieJar, cookies } = options;
  let jar: CookieJar | undefined;
  if (cookieJar === undefined) {
    jar = new CookieJar();
  } else if (cookieJar instanceof CookieJar) {
    jar = cookieJar;
  } else if (cookieJar !== false) {
    throw new TypeError(
      `Cannot ${action} as 'cookieJar' must be a CookieJar or false: received ${
        typeName(cookieJar)
      }`,
    );
  }
  if (cookies === undefined) return { jar, initial: undefined };
  if (jar === undefined) {
    throw new TypeError(
      `Cannot ${action} as 'cookies' needs a cookie jar but 'cookieJar' is false`,
    );
  }
  if (
    typeof cookies !== "object" || cookies === null || Array.isArray(cookies)
  ) {
    throw new TypeError(
      `Cannot ${action} as 'cookies' must be an object of names and values`,
    );
  }
  if (!hasBase) {
    throw new TypeError(
      `Cannot ${action} as 'cookies' needs 'baseUrl' (they are stored for its host); to set cookies for other hosts, use a CookieJar and its setCookie()`,
    );
  }
  const initial = Object.entries(cookies);
  for (const [name, value] of initial) {
    if (
      typeof value !== "string" || !TOKEN.test(name) ||
      !COOKIE_VALUE.test(value)
    ) {
      throw new TypeError(
        `Cannot ${action} as cookie '${name}' is not a valid cookie name and string value`,
      );
    }
  }
  return { jar, initial: initial as [string, string][] };
}

/** Write starting cookies into `jar` for `origin`, on every path. */
export function writeInitialCookies(
  jar: CookieJar,
  initial: readonly (readonly [string, string])[],
  origin: string,
): void {
  for (const [name, value] of initial) {
    jar.setCookie(`${name}=${value}; Path=/`, origin + "/");
  }
}

/**
 * Lays the jar's cookies over request headers. An explicit `Cookie` header
 * wins. The same headers with the same cookie give the same object, so an
 * adapter that caches work by headers object keeps its cache.
 */
export class CookieAttacher {
  readonly #jar: CookieJar;
  #headers: HeaderRecord | undefined;
  #cookie = "";
  #merged: HeaderRecord | undefined;

  constructor(jar: CookieJar) {
    this.#jar = jar;
  }

  /** `headers` with the cookies for `url` (itself when there are none). */
  attach(headers: HeaderRecord, url: string): HeaderRecord {
    if (headers.cookie !== undefined) return headers;
    const cookie = this.#jar.getCookieHeader(url);
    if (cookie === "") return headers;
    if (headers === this.#headers && cookie === this.#cookie) {
      return this.#merged!;
    }
    const merged = { ...headers, cookie };
    this.#headers = headers;
    this.#cookie = cookie;
    this.#merged = merged;
    return merged;
  }

  /** Store a response's `Set-Cookie` values, as `url` sent them. */
  store(setCookies: readonly string[], url: string): void {
    for (let i = 0; i < setCookies.length; i++) {
      this.#jar.setCookie(setCookies[i], url);
    }
  }
}
