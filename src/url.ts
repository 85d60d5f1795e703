/**
 * URL helpers: joining a request URL onto a session's `baseUrl` and encoding
 * query parameters.
 *
 * @module
 */
import { basicAuth } from "./_http.ts";

/**
 * Values accepted for one query parameter; arrays repeat the key, `undefined` skips it.
 *
 * @example
 * ```ts
 * import type { ParamValue } from "@x/sessions";
 * const tags: ParamValue = ["a", "b"];
 * ```
 */
export type ParamValue =
  | string
  | number
  | boolean
  | bigint
  | undefined
  | null
  | ReadonlyArray<string | number | boolean | bigint>;

/**
 * Query parameters: a record (arrays repeat the key) or `URLSearchParams`.
 *
 * @example
 * ```ts
 * import type { SearchParams } from "@x/sessions";
 * const params: SearchParams = { q: "x", page: 2, tag: ["a", "b"] };
 * ```
 */
export type SearchParams = Record<string, ParamValue> | URLSearchParams;

/** A request URL split into the parts the pools need. */
export interface Target {
  /** `scheme://host[:port]`, lower case, default port omitted. */
  origin: string;
  /** Path and query, starting with "/". */
  path: string;
  /** `authorization` header derived from URL user info, if any. */
  authorization?: string;
  /** `origin + path`, made once (the same string each time helps the runtimes' URL caches). */
  url: string;
}

const SCHEME = /^[a-zA-Z][a-zA-Z\d+\-.]*:/;
// Characters that may appear in a path as they are; anything else (spaces,
// non-ASCII, backslashes, dot segments) goes through the URL parser.
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$|\?)/;

/**
 * Parse and check a session's `baseUrl`.
 *
 * @throws {TypeError} when it is not an absolute http(s) URL, or has a query or fragment.
 */
export function parseBaseUrl(baseUrl: string | URL): Target {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(
      `Cannot create session as 'baseUrl' must be an absolute http(s) URL: current value is ${
        JSON.stringify(redact(String(baseUrl)))
      }`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot create session as 'baseUrl' must use http or https: current scheme is '${url.protocol}'`,
    );
  }
  if (url.search || url.hash) {
    throw new TypeError(
      "Cannot create session as 'baseUrl' must not have a query or fragment: use the 'params' option for query parameters",
    );
  }
  const target = fromUrl(url);
  // Keep the base path without its trailing slash; joining adds one.
  target.path = target.path.replace(/\/+$/, "");
  target.url = target.origin + target.path;
  return target;
}

/**
 * Resolve a request URL against a base.
 *
 * A relative path is appended to the base path ("/v1" + "users" and
 * "/v1/" + "/users" both give "/v1/users"); an absolute URL is used as is.
 *
 * @throws {TypeError} for a relative URL without a base, or a non-http(s) URL.
 */
export function resolveTarget(
  input: string | URL,
  base: Target | undefined,
): Target {
  if (typeof input !== "string") {
    if (input instanceof URL) return checkScheme(input, fromUrl(input));
    throw new TypeError(
      `Cannot send request as the URL must be a string or URL: received ${typeof input}`,
    );
  }
  if (SCHEME.test(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new TypeError(
        `Cannot send request as the URL is invalid: ${
          JSON.stringify(redact(input))
        }`,
      );
    }
    return checkScheme(url, fromUrl(url));
  }
  if (base === undefined) {
    throw new TypeError(
      `Cannot send request to ${
        JSON.stringify(redact(input))
      } as it is a relative URL and the session has no 'baseUrl'`,
    );
  }
  let start = 0;
  while (input.charCodeAt(start) === 47 /* "/" */) start++;
  const rest = start === 0 ? input : input.slice(start);
  let path = rest === ""
    ? base.path || "/"
    : rest.charCodeAt(0) === 63 /* "?" */
    ? (base.path || "/") + rest
    : base.path + "/" + rest;
  if (!PLAIN_PATH.test(path) || DOT_SEGMENT.test(path)) {
    const url = new URL(base.origin + path);
    path = url.pathname + url.search;
  }
  return { origin: base.origin, path, url: base.origin + path };
}

function checkScheme(url: URL, target: Target): Target {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot send request as only http and https URLs are supported: received scheme '${url.protocol}'`,
    );
  }
  return target;
}

function fromUrl(url: URL): Target {
  const path = url.pathname + url.search;
  const target: Target = { origin: url.origin, path, url: url.origin + path };
  if (url.username || url.password) {
    target.authorization = basicAuth(
      decodeURIComponent(url.username),
      decodeURIComponent(url.password),
    );
  }
  return target;
}

/**
 * Append query parameters to a path.
 *
 * @param path A path, possibly with a query already.
 * @param params Parameters to add; `undefined` and `null` values are skipped.
 * @returns The path with the encoded parameters appended.
 */
export function appendParams(path: string, params: SearchParams): string {
  let query: string;
  if (params instanceof URLSearchParams) {
    query = params.toString();
  } else if (typeof params === "object" && params !== null) {
    const search = new URLSearchParams();
    for (const key in params) {
      const value = params[key];
      if (value === undefined || value === null) continue;
      if (Array.isArray(value)) {
        for (const item of value) search.append(key, paramText(key, item));
      } else {
        search.append(key, paramText(key, value));
      }
    }
    query = search.toString();
  } else {
    throw new TypeError(
      `Cannot send request as 'params' must be a record or URLSearchParams: received ${typeof params}`,
    );
  }
  if (query === "") return path;
  return path + (path.includes("?") ? "&" : "?") + query;
}

/** One parameter value as text; objects and functions are refused. */
function paramText(key: string, value: unknown): string {
  const type = typeof value;
  if (
    type === "string" || type === "number" || type === "boolean" ||
    type === "bigint"
  ) {
    return String(value);
  }
  throw new TypeError(
    `Cannot send request as 'params.${key}' must be a string, number, boolean or bigint, or an array of them: received ${
      value === null ? "null" : Array.isArray(value) ? "a nested array" : type
    }`,
  );
}

/** Remove user name and password from a URL string, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z\d+\-.]*:\/\/)[^/?#@]*@/, "$1");
}
