/**
 * Checks of session and request options, shared by `Session`,
 * `SessionContainer` and `SessionRegistry`.
 *
 * @module
 */
import { type HeaderRecord, mergeHeaders } from "./headers.ts";
import { MAX_TIMER } from "./_timers.ts";
import { parseBaseUrl, type Target } from "./url.ts";
import type {
  SessionOptions,
  StatusPredicate,
  TimeoutOptions,
} from "./session.ts";
import type { Middleware } from "./middleware.ts";
import type { SessionEvent } from "./events.ts";
import { DEFAULT_RETRY, type RetryOptions, type RetryPolicy } from "./retry.ts";
import { CookieJar } from "./cookies.ts";
import type { ProgressCallback, RedirectMode, TlsOptions } from "./network.ts";
import type { ProxyInfo, TlsConfig } from "./adapters/adapter.ts";
import { parseProxy } from "./proxy.ts";
import { USER_AGENT } from "./_version.ts";

const SESSION_KEYS = new Set([
  "baseUrl",
  "headers",
  "timeout",
  "limit",
  "limitPerHost",
  "maxQueue",
  "raiseForStatus",
  "adapter",
  "retry",
  "middleware",
  "observe",
  "redirect",
  "maxRedirects",
  "maxResponseSize",
  "onDownloadProgress",
  "onUploadProgress",
  "cookies",
  "cookieJar",
  "proxy",
  "trustEnv",
  "tls",
  "socketPath",
]);
export const REQUEST_KEYS = new Set([
  "params",
  "headers",
  "json",
  "body",
  "signal",
  "timeout",
  "raiseForStatus",
  "priority",
  "retry",
  "redirect",
  "maxRedirects",
  "maxResponseSize",
  "onDownloadProgress",
  "onUploadProgress",
]);

/** Session options, checked and with their defaults. */
/** Checked timeouts in ms; 0 means none. */
export interface Timeouts {
  total: number;
  connect: number;
  headers: number;
  bodyIdle: number;
}

export interface SessionConfig {
  base: Target | undefined;
  /** Headers for requests to `base`'s origin (all of them without a base). */
  headers: HeaderRecord;
  /** Headers for other origins: `headers` without the session's credentials. */
  foreignHeaders: HeaderRecord;
  timeouts: Timeouts;
  retry: RetryPolicy;
  middleware: readonly Middleware[];
  observe: ((event: SessionEvent) => void) | undefined;
  limit: number;
  limitPerHost: number;
  maxQueue: number;
  raise: boolean | StatusPredicate;
  adapter: SessionOptions["adapter"];
  /** Close the adapter with the session (false for a container's shared one). */
  ownsAdapter: boolean;
  /** Why a body nobody started reading is gone after close(). */
  unreadMessage: string;
  transfer: Transfer;
  network: NetworkConfig;
}

/**
 * The key under which containers and registries hand a session the config
 * they parsed once (a symbol: user options never carry it).
 */
export const PARSED: unique symbol = Symbol("parsed session options");

/** Options that carry an already parsed config. */
export interface ParsedOptions {
  [PARSED]: SessionConfig;
}

/** Options a session is made from: the config `options` carry, or parsed now. */
export function sessionConfig(
  options: SessionOptions | ParsedOptions,
  where: string,
): SessionConfig {
  checkObject(options, where);
  const parsed = (options as Partial<ParsedOptions>)[PARSED];
  if (parsed !== undefined) return parsed;
  const config = parseSessionOptions(options as SessionOptions, where);
  applyCookies(config);
  return config;
}

/** Write the `cookies` option into the config's jar (once per config). */
export function applyCookies(config: SessionConfig): void {
  const { jar, cookies } = config.network;
  if (jar === undefined || cookies === undefined) return;
  const url = config.base!.origin + "/";
  for (const [name, value] of cookies) {
    jar.setCookie(`${name}=${value}; Path=/`, url);
  }
}

// Never sent to another origin than baseUrl's unless a request passes them.
export const CREDENTIAL_HEADERS = [
  "authorization",
  "cookie",
  "proxy-authorization",
] as const;

/** `headers` without the credential headers (itself when it has none). */
export function withoutCredentials(headers: HeaderRecord): HeaderRecord {
  let copy: HeaderRecord | undefined;
  for (const name of CREDENTIAL_HEADERS) {
    if (headers[name] !== undefined) {
      copy ??= { ...headers };
      delete copy[name];
    }
  }
  return copy ?? headers;
}

/** Throw a TypeError unless `options` is an object. */
export function checkObject(options: unknown, where: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${where} as options must be an object: received ${
        options === null ? "null" : typeof options
      }`,
    );
  }
}

/**
 * Check `options` as `new Session()` does and fill in the defaults.
 *
 * @throws {TypeError | RangeError} naming `where` and the bad option.
 */
export function parseSessionOptions(
  options: SessionOptions,
  where: string,
): SessionConfig {
  checkObject(options, where);
  checkKeys(options, SESSION_KEYS, where);
  const base = options.baseUrl === undefined
    ? undefined
    : parseBaseUrl(options.baseUrl);
  // A new record each time: it is the session's own (and gets its credentials).
  const headers = mergeHeaders(
    { "user-agent": USER_AGENT },
    options.headers,
    where,
  );
  if (base?.authorization && !("authorization" in headers)) {
    headers.authorization = base.authorization;
  }
  const adapter = options.adapter;
  if (
    adapter !== undefined && typeof adapter !== "function" &&
    (typeof adapter !== "object" || adapter === null ||
      typeof adapter.dispatch !== "function" ||
      typeof adapter.close !== "function")
  ) {
    throw new TypeError(
      `Cannot ${where} as 'adapter' must be a PoolAdapter (with dispatch and close) or a function returning one`,
    );
  }
  return {
    base,
    headers,
    foreignHeaders: base === undefined ? headers : withoutCredentials(headers),
    timeouts: parseTimeouts(options.timeout, DEFAULT_TIMEOUTS, where),
    retry: options.retry === undefined
      ? DEFAULT_RETRY
      : parseRetry(options.retry, where),
    middleware: checkMiddleware(options.middleware, where),
    observe: checkObserve(options.observe, where),
    limit: options.limit === undefined
      ? 100
      : checkCount("limit", options.limit, where),
    limitPerHost: options.limitPerHost === undefined
      ? 0
      : checkCount("limitPerHost", options.limitPerHost, where),
    maxQueue: options.maxQueue === undefined
      ? Infinity
      : checkCount("maxQueue", options.maxQueue, where, true),
    raise: options.raiseForStatus === undefined
      ? true
      : checkRaise(options.raiseForStatus, where),
    adapter,
    ownsAdapter: true,
    unreadMessage: UNREAD_MESSAGE,
    transfer: parseTransfer(options, DEFAULT_TRANSFER, where),
    network: parseNetwork(options, base, where),
  };
}

const UNREAD_MESSAGE =
  "Cannot read the body as the session was closed before anyone started reading it";

const DEFAULT_TIMEOUTS: Timeouts = {
  total: 300_000,
  connect: 0,
  headers: 0,
  bodyIdle: 0,
};
const TIMEOUT_KEYS = new Set(["total", "connect", "headers", "bodyIdle"]);

/** A `timeout` option over `base`: a number is the total; an object sets phases. */
export function parseTimeouts(
  value: number | TimeoutOptions | undefined,
  base: Timeouts,
  where: string,
): Timeouts {
  if (value === undefined) return base;
  if (typeof value === "number") {
    return { ...base, total: checkTimeout(value, where) };
  }
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Cannot ${where} as 'timeout' must be a number of milliseconds or an object with total, connect, headers and bodyIdle: received ${
        value === null ? "null" : typeof value
      }`,
    );
  }
  const timeouts = { ...base };
  for (const key in value) {
    if (!TIMEOUT_KEYS.has(key)) {
      throw new TypeError(
        `Cannot ${where} as 'timeout.${key}' is not a known phase: expected one of ${
          [...TIMEOUT_KEYS].join(", ")
        }`,
      );
    }
    const limit = value[key as keyof TimeoutOptions];
    if (limit !== undefined) {
      timeouts[key as keyof Timeouts] = checkTimeout(
        limit,
        where,
        `timeout.${key}`,
      );
    }
  }
  return timeouts;
}

function checkMiddleware(value: unknown, where: string): Middleware[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    value.some((item) => typeof item !== "function")
  ) {
    throw new TypeError(
      `Cannot ${where} as 'middleware' must be an array of functions (request, next) => response`,
    );
  }
  return [...value];
}

function checkObserve(
  value: unknown,
  where: string,
): ((event: SessionEvent) => void) | undefined {
  if (value === undefined) return undefined;
  return checkFunction("observe", value, where);
}

const RETRY_KEYS = new Set([
  "limit",
  "methods",
  "statusCodes",
  "backoff",
  "maxRetryAfter",
  "shouldRetry",
]);

const NO_RETRY: RetryPolicy = { ...DEFAULT_RETRY, limit: 0 };

/** Check a `retry` option over `base`. */
export function parseRetry(
  value: unknown,
  where: string,
  base: RetryPolicy = DEFAULT_RETRY,
): RetryPolicy {
  if (typeof value === "number") {
    checkCount("retry", value, where);
    return value === 0 ? NO_RETRY : { ...base, limit: value };
  }
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Cannot ${where} as 'retry' must be a number or an object: received ${
        value === null ? "null" : typeof value
      }`,
    );
  }
  for (const key in value) {
    if (!RETRY_KEYS.has(key)) {
      throw new TypeError(
        `Cannot ${where} as 'retry.${key}' is not a known option: expected one of ${
          [...RETRY_KEYS].join(", ")
        }`,
      );
    }
  }
  const options = value as RetryOptions;
  const policy: RetryPolicy = { ...base };
  if (options.limit !== undefined) {
    checkCount("retry.limit", options.limit, where);
    policy.limit = options.limit;
  }
  if (options.methods !== undefined) {
    if (
      !Array.isArray(options.methods) ||
      options.methods.some((method) => typeof method !== "string")
    ) {
      throw new TypeError(
        `Cannot ${where} as 'retry.methods' must be an array of method names`,
      );
    }
    policy.methods = new Set(
      options.methods.map((method) => method.toUpperCase()),
    );
  }
  if (options.statusCodes !== undefined) {
    if (
      !Array.isArray(options.statusCodes) ||
      options.statusCodes.some((code) =>
        !Number.isInteger(code) || code < 100 || code > 999
      )
    ) {
      throw new TypeError(
        `Cannot ${where} as 'retry.statusCodes' must be an array of HTTP status codes`,
      );
    }
    policy.statusCodes = new Set(options.statusCodes);
  }
  if (options.backoff !== undefined) {
    policy.backoff = checkFunction("retry.backoff", options.backoff, where);
  }
  if (options.maxRetryAfter !== undefined) {
    const max = options.maxRetryAfter;
    if (typeof max !== "number" || Number.isNaN(max) || max < 0) {
      throw new RangeError(
        `Cannot ${where} as 'retry.maxRetryAfter' must be a non-negative number of milliseconds: current value is ${max}`,
      );
    }
    policy.maxRetryAfter = max;
  }
  if (options.shouldRetry !== undefined) {
    policy.shouldRetry = checkFunction(
      "retry.shouldRetry",
      options.shouldRetry,
      where,
    );
  }
  return policy;
}

function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value);
}

function checkCount(
  name: string,
  value: unknown,
  where: string,
  infinite = false,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${where} as '${name}' must be a number: received ${typeof value}`,
    );
  }
  if (!(infinite && value === Infinity) && (!isInteger(value) || value < 0)) {
    throw new RangeError(
      `Cannot ${where} as '${name}' must be a non-negative integer${
        infinite ? " or Infinity" : ""
      }: current value is ${value}`,
    );
  }
  return value;
}

export function checkTimeout(
  value: unknown,
  where: string,
  name = "timeout",
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${where} as '${name}' must be a number of milliseconds: received ${typeof value}`,
    );
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Cannot ${where} as '${name}' must be a non-negative number of milliseconds: current value is ${value}`,
    );
  }
  if (value === Infinity) return 0;
  if (value > MAX_TIMER) {
    throw new RangeError(
      `Cannot ${where} as '${name}' must be at most ${MAX_TIMER} ms (use 0 or Infinity for none): current value is ${value}`,
    );
  }
  return value;
}

export function checkRaise(
  value: unknown,
  where: string,
): boolean | StatusPredicate {
  if (typeof value !== "boolean" && typeof value !== "function") {
    throw new TypeError(
      `Cannot ${where} as 'raiseForStatus' must be a boolean or a function: received ${typeof value}`,
    );
  }
  return value as boolean | StatusPredicate;
}

export function checkKeys(
  options: object,
  known: Set<string>,
  where: string,
): void {
  for (const key in options) {
    if (!known.has(key)) {
      throw new TypeError(
        `Cannot ${where} as '${key}' is not a known option: expected one of ${
          [...known].join(", ")
        }`,
      );
    }
  }
}

/** Redirect, size and progress options, checked. */
export interface Transfer {
  redirect: RedirectMode;
  maxRedirects: number;
  maxResponseSize: number;
  onDownloadProgress: ProgressCallback | undefined;
  onUploadProgress: ProgressCallback | undefined;
}

export const DEFAULT_TRANSFER: Transfer = {
  redirect: "follow",
  maxRedirects: 10,
  maxResponseSize: 0,
  onDownloadProgress: undefined,
  onUploadProgress: undefined,
};

const REDIRECT_MODES = new Set(["follow", "manual", "error"]);

/** The transfer options of session or request `options` over `base`. */
export function parseTransfer(
  options: {
    redirect?: unknown;
    maxRedirects?: unknown;
    maxResponseSize?: unknown;
    onDownloadProgress?: unknown;
    onUploadProgress?: unknown;
  },
  base: Transfer,
  where: string,
): Transfer {
  const {
    redirect,
    maxRedirects,
    maxResponseSize,
    onDownloadProgress,
    onUploadProgress,
  } = options;
  if (
    redirect === undefined && maxRedirects === undefined &&
    maxResponseSize === undefined && onDownloadProgress === undefined &&
    onUploadProgress === undefined
  ) {
    return base;
  }
  const transfer = { ...base };
  if (redirect !== undefined) {
    if (typeof redirect !== "string" || !REDIRECT_MODES.has(redirect)) {
      throw new TypeError(
        `Cannot ${where} as 'redirect' must be "follow", "manual" or "error": received ${
          typeof redirect === "string"
            ? JSON.stringify(redirect)
            : typeof redirect
        }`,
      );
    }
    transfer.redirect = redirect as RedirectMode;
  }
  if (maxRedirects !== undefined) {
    transfer.maxRedirects = checkCount("maxRedirects", maxRedirects, where);
  }
  if (maxResponseSize !== undefined) {
    transfer.maxResponseSize = maxResponseSize === Infinity
      ? 0
      : checkCount("maxResponseSize", maxResponseSize, where);
  }
  if (onDownloadProgress !== undefined) {
    transfer.onDownloadProgress = checkFunction(
      "onDownloadProgress",
      onDownloadProgress,
      where,
    );
  }
  if (onUploadProgress !== undefined) {
    transfer.onUploadProgress = checkFunction(
      "onUploadProgress",
      onUploadProgress,
      where,
    );
  }
  return transfer;
}

// The caller's type says which function it is: only `typeof` is checked.
function checkFunction<T>(name: string, value: unknown, where: string): T {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot ${where} as '${name}' must be a function: received ${typeof value}`,
    );
  }
  return value as T;
}

/** Network options of a session, checked. */
export interface NetworkConfig {
  jar: CookieJar | undefined;
  /** The `cookies` option, checked; written into `jar` by applyCookies(). */
  cookies: readonly (readonly [string, string])[] | undefined;
  proxy: ProxyInfo | undefined;
  trustEnv: boolean;
  tls: TlsConfig | undefined;
  socketPath: string | undefined;
}

function parseNetwork(
  options: SessionOptions,
  base: Target | undefined,
  where: string,
): NetworkConfig {
  const { cookieJar, cookies, trustEnv, tls, socketPath } = options;
  let jar: CookieJar | undefined;
  let initial: [string, string][] | undefined;
  if (cookieJar === false) {
    if (cookies !== undefined) {
      throw new TypeError(
        `Cannot ${where} as 'cookies' needs a cookie jar but 'cookieJar' is false`,
      );
    }
  } else if (cookieJar === undefined) {
    jar = new CookieJar();
  } else if (cookieJar instanceof CookieJar) {
    jar = cookieJar;
  } else {
    throw new TypeError(
      `Cannot ${where} as 'cookieJar' must be a CookieJar or false: received ${
        cookieJar === null ? "null" : typeof cookieJar
      }`,
    );
  }
  if (cookies !== undefined) {
    if (
      typeof cookies !== "object" || cookies === null || Array.isArray(cookies)
    ) {
      throw new TypeError(
        `Cannot ${where} as 'cookies' must be an object of names and values`,
      );
    }
    if (base === undefined) {
      throw new TypeError(
        `Cannot ${where} as 'cookies' needs 'baseUrl' (they are stored for its host); to set cookies for other hosts, use a CookieJar and its setCookie()`,
      );
    }
    initial = Object.entries(cookies);
    for (const [name, value] of initial) {
      if (
        typeof value !== "string" || !COOKIE_NAME.test(name) ||
        !COOKIE_VALUE.test(value)
      ) {
        throw new TypeError(
          `Cannot ${where} as cookie '${name}' is not a valid cookie name and string value`,
        );
      }
    }
  }
  if (trustEnv !== undefined && typeof trustEnv !== "boolean") {
    throw new TypeError(
      `Cannot ${where} as 'trustEnv' must be a boolean: received ${typeof trustEnv}`,
    );
  }
  if (
    socketPath !== undefined &&
    (typeof socketPath !== "string" || socketPath === "")
  ) {
    throw new TypeError(
      `Cannot ${where} as 'socketPath' must be a non-empty string (a unix socket path)`,
    );
  }
  return {
    jar,
    cookies: initial,
    proxy: options.proxy === undefined
      ? undefined
      : parseProxy(options.proxy, where),
    trustEnv: trustEnv === true,
    tls: tls === undefined ? undefined : parseTls(tls, where),
    socketPath,
  };
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 cookie-octets (no spaces, quotes, commas, semicolons or backslashes).
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

const TLS_KEYS = new Set(["ca", "cert", "key", "insecure"]);

function parseTls(value: unknown, where: string): TlsConfig {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Cannot ${where} as 'tls' must be an object with ca, cert, key and insecure`,
    );
  }
  for (const key in value) {
    if (!TLS_KEYS.has(key)) {
      throw new TypeError(
        `Cannot ${where} as 'tls.${key}' is not a known option: expected one of ${
          [...TLS_KEYS].join(", ")
        }`,
      );
    }
  }
  const { ca, cert, key, insecure } = value as TlsOptions;
  const config: TlsConfig = { ca: [], insecure: false };
  if (ca !== undefined) {
    const list = typeof ca === "string" ? [ca] : ca;
    if (
      !Array.isArray(list) ||
      list.some((item) => typeof item !== "string" || !isPem(item))
    ) {
      throw new TypeError(
        `Cannot ${where} as 'tls.ca' must be a PEM certificate or an array of them`,
      );
    }
    config.ca = [...list];
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError(
      `Cannot ${where} as 'tls.cert' and 'tls.key' go together: pass both or neither`,
    );
  }
  if (cert !== undefined) {
    if (typeof cert !== "string" || !isPem(cert)) {
      throw new TypeError(
        `Cannot ${where} as 'tls.cert' must be a PEM certificate (chain)`,
      );
    }
    if (typeof key !== "string" || !isPem(key)) {
      // Never echo the key.
      throw new TypeError(`Cannot ${where} as 'tls.key' must be a PEM key`);
    }
    config.cert = cert;
    config.key = key;
  }
  if (insecure !== undefined) {
    if (typeof insecure !== "boolean") {
      throw new TypeError(
        `Cannot ${where} as 'tls.insecure' must be a boolean: received ${typeof insecure}`,
      );
    }
    config.insecure = insecure;
  }
  return config;
}

function isPem(value: string): boolean {
  return /-----BEGIN [A-Z0-9 ]+-----/.test(value);
}
