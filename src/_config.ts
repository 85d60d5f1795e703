/**
 * A session's options, checked once into a frozen {@linkcode SessionConfig}.
 * Each feature owns the parser of its options (timeouts, retry, cookies,
 * middleware, events, limits, redirects, body meters, TLS, proxies); this
 * file puts them together. Parsing has no side effects: the one write, the
 * `cookies` option into the jar, is {@linkcode applyCookies}, done once by
 * whoever makes sessions from the config.
 *
 * @module
 */
import type { PoolAdapter, PoolHints, ProxyInfo } from "./adapters/adapter.ts";
import {
  checkBoolean,
  checkKeys,
  checkObject,
  type KeyRegistry,
  keySet,
} from "./_checks.ts";
import {
  type CookieConfig,
  parseCookieOptions,
  writeInitialCookies,
} from "./cookies.ts";
import { parseObserve } from "./events.ts";
import { type HeaderRecord, mergeHeaders } from "./headers.ts";
import { type Limits, parseLimits } from "./limiter.ts";
import { type Middleware, parseMiddleware } from "./middleware.ts";
import type { SessionEvent } from "./events.ts";
import type { SessionOptions, StatusPredicate } from "./options.ts";
import { parseProxy } from "./proxy.ts";
import { DEFAULT_RETRY, parseRetry, type RetryPolicy } from "./retry.ts";
import { parseBaseUrl, type Target } from "./url.ts";
import { USER_AGENT } from "./_version.ts";
import {
  type BodyOptions,
  DEFAULT_BODY_OPTIONS,
  parseBodyOptions,
} from "./_meter.ts";
import {
  DEFAULT_REDIRECTS,
  parseRedirects,
  type RedirectPolicy,
} from "./_redirects.ts";
import { DEFAULT_TIMEOUTS, parseTimeouts, type Timeouts } from "./_timeouts.ts";
import { parseTls, type TlsConfig } from "./_tls_config.ts";
import { type Http2Mode, parseHttp2 } from "./http2.ts";
import { parseRateLimit, type RateGate } from "./rate_limit.ts";
import { type CircuitBreaker, parseCircuitBreaker } from "./circuit_breaker.ts";
import { checkDefaultHttp2 } from "./adapters/default.ts";

/** Everything a session was configured with, checked. */
export interface SessionConfig {
  readonly base: Target | undefined;
  /** Headers for requests to `base`'s origin (all of them without a base). */
  readonly headers: HeaderRecord;
  /** Headers for other origins: `headers` without the session's credentials. */
  readonly foreignHeaders: HeaderRecord;
  readonly timeouts: Timeouts;
  readonly retry: RetryPolicy;
  readonly middleware: readonly Middleware[];
  readonly observe: ((event: SessionEvent) => void) | undefined;
  readonly limits: Limits;
  readonly raise: boolean | StatusPredicate;
  readonly adapter:
    | PoolAdapter
    | ((hints: PoolHints) => PoolAdapter)
    | undefined;
  /** Close the adapter with the session (false for a container's shared one). */
  readonly ownsAdapter: boolean;
  /** Why a body nobody started reading is gone after close(). */
  readonly unreadMessage: string;
  readonly redirects: RedirectPolicy;
  readonly body: BodyOptions;
  readonly cookies: CookieConfig;
  readonly proxy: ProxyInfo | undefined;
  readonly trustEnv: boolean;
  readonly tls: TlsConfig | undefined;
  readonly socketPath: string | undefined;
  readonly http2: Http2Mode;
  /** The rate limits (shared by a container's sessions), if any. */
  readonly rateGate: RateGate | undefined;
  /** The circuit breaker (shared by a container's sessions), if any. */
  readonly breaker: CircuitBreaker | undefined;
}

/** The keys of {@linkcode SessionOptions} (a missing one fails to compile). */
const SESSION_KEYS: KeyRegistry<SessionOptions> = {
  baseUrl: true,
  headers: true,
  timeout: true,
  retry: true,
  middleware: true,
  observe: true,
  limit: true,
  limitPerHost: true,
  maxQueue: true,
  raiseForStatus: true,
  adapter: true,
  redirect: true,
  maxRedirects: true,
  maxResponseSize: true,
  onDownloadProgress: true,
  onUploadProgress: true,
  cookies: true,
  cookieJar: true,
  proxy: true,
  trustEnv: true,
  tls: true,
  socketPath: true,
  http2: true,
  rateLimit: true,
  circuitBreaker: true,
};
const SESSION_KEY_SET = keySet(SESSION_KEYS);

const DEFAULT_LIMITS: Limits = {
  limit: 100,
  limitPerHost: 0,
  maxQueue: Infinity,
};

const UNREAD_MESSAGE =
  "Cannot read the body as the session was closed before anyone started reading it";

/**
 * Check `options` as `new Session()` does and fill in the defaults.
 *
 * @throws {TypeError | RangeError} naming `action` and the bad option.
 */
export function parseSessionOptions(
  options: SessionOptions,
  action: string,
): SessionConfig {
  checkObject(options, action);
  checkKeys(options, SESSION_KEY_SET, action);
  const base = options.baseUrl === undefined
    ? undefined
    : parseBaseUrl(options.baseUrl);
  const headers = sessionHeaders(options, base, action);
  return Object.freeze({
    base,
    headers,
    foreignHeaders: base === undefined
      ? headers
      : withoutHeaders(headers, CREDENTIAL_HEADERS),
    timeouts: parseTimeouts(options.timeout, DEFAULT_TIMEOUTS, action),
    retry: options.retry === undefined
      ? DEFAULT_RETRY
      : parseRetry(options.retry, action),
    middleware: parseMiddleware(options.middleware, action),
    observe: parseObserve(options.observe, action),
    limits: parseLimits(options, action, DEFAULT_LIMITS),
    raise: options.raiseForStatus === undefined
      ? true
      : checkRaise(options.raiseForStatus, action),
    adapter: checkAdapter(options.adapter, action),
    ownsAdapter: true,
    unreadMessage: UNREAD_MESSAGE,
    redirects: parseRedirects(options, DEFAULT_REDIRECTS, action),
    body: parseBodyOptions(options, DEFAULT_BODY_OPTIONS, action),
    cookies: parseCookieOptions(options, base !== undefined, action),
    proxy: options.proxy === undefined
      ? undefined
      : parseProxy(options.proxy, action),
    trustEnv: options.trustEnv === undefined
      ? false
      : checkBoolean("trustEnv", options.trustEnv, action),
    tls: options.tls === undefined ? undefined : parseTls(options.tls, action),
    socketPath: checkSocketPath(options.socketPath, action),
    http2: checkHttp2(options, action),
    rateGate: parseRateLimit(options.rateLimit, action),
    breaker: parseCircuitBreaker(options.circuitBreaker, action),
  });
}

// The session's own record: the default User-Agent, the user's headers,
// and the base URL's user info as Authorization.
function sessionHeaders(
  options: SessionOptions,
  base: Target | undefined,
  action: string,
): HeaderRecord {
  const headers = mergeHeaders(
    { "user-agent": USER_AGENT },
    options.headers,
    action,
  );
  if (base?.authorization && !("authorization" in headers)) {
    return { ...headers, authorization: base.authorization };
  }
  return headers;
}

/** Check `raiseForStatus`. */
export function checkRaise(
  value: unknown,
  action: string,
): boolean | StatusPredicate {
  if (typeof value !== "boolean" && typeof value !== "function") {
    throw new TypeError(
      `Cannot ${action} as 'raiseForStatus' must be a boolean or a function: received ${typeof value}`,
    );
  }
  return value as boolean | StatusPredicate;
}

function checkAdapter(
  adapter: unknown,
  action: string,
): SessionConfig["adapter"] {
  if (
    adapter !== undefined && typeof adapter !== "function" &&
    (typeof adapter !== "object" || adapter === null ||
      typeof (adapter as PoolAdapter).dispatch !== "function" ||
      typeof (adapter as PoolAdapter).close !== "function")
  ) {
    throw new TypeError(
      `Cannot ${action} as 'adapter' must be a PoolAdapter (with dispatch and close) or a function returning one`,
    );
  }
  return adapter as SessionConfig["adapter"];
}

function checkSocketPath(value: unknown, action: string): string | undefined {
  if (value !== undefined && (typeof value !== "string" || value === "")) {
    throw new TypeError(
      `Cannot ${action} as 'socketPath' must be a non-empty string (a unix socket path)`,
    );
  }
  return value;
}

// An adapter instance was made without the session's hints: it cannot
// learn `http2` from it. The default adapter must be able to do the mode.
function checkHttp2(options: SessionOptions, action: string): Http2Mode {
  const mode = parseHttp2(options.http2, action);
  if (mode === false) return mode;
  if (
    mode === "prior-knowledge" &&
    (options.proxy !== undefined || options.trustEnv === true)
  ) {
    throw new TypeError(
      `Cannot ${action} as 'http2: "prior-knowledge"' cannot go through a proxy (requests through one use HTTP/1.1): leave out 'proxy' and 'trustEnv', or use http2: true`,
    );
  }
  const adapter = options.adapter;
  if (typeof adapter === "object") {
    throw new TypeError(
      `Cannot ${action} as 'http2' does not reach an adapter instance: pass a function that makes the adapter from the session's hints, e.g. (hints) => new NodeAdapter({}, hints)`,
    );
  }
  if (adapter === undefined) checkDefaultHttp2(mode, action);
  return mode;
}

/**
 * The key under which containers and registries hand a session the config
 * they parsed once (a symbol: user options never carry it).
 */
const PARSED = Symbol("parsed session options");

/** Options that carry an already parsed config. */
interface ParsedOptions {
  readonly [PARSED]: SessionConfig;
}

/** The config `options` carry, or `options` parsed and applied now. */
export function sessionConfig(
  options: SessionOptions,
  action: string,
): SessionConfig {
  checkObject(options, action);
  const parsed = (options as Partial<ParsedOptions>)[PARSED];
  if (parsed !== undefined) return parsed;
  const config = parseSessionOptions(options as SessionOptions, action);
  applyCookies(config);
  return config;
}

/** Options for `new Session()` that carry `config`. */
export function fromConfig(config: SessionConfig): SessionOptions {
  return { [PARSED]: config } as SessionOptions;
}

/** Write the `cookies` option into the config's jar: once per config. */
export function applyCookies(config: SessionConfig): void {
  const { jar, initial } = config.cookies;
  if (jar !== undefined && initial !== undefined) {
    writeInitialCookies(jar, initial, config.base!.origin);
  }
}

/** Never sent to another origin than baseUrl's unless a request passes them. */
export const CREDENTIAL_HEADERS: readonly string[] = [
  "authorization",
  "cookie",
  "proxy-authorization",
];

/** `headers` without `names` (itself when it has none of them). */
export function withoutHeaders(
  headers: HeaderRecord,
  names: readonly string[],
): HeaderRecord {
  let copy: HeaderRecord | undefined;
  for (const name of names) {
    if (headers[name] !== undefined) {
      copy ??= { ...headers };
      delete copy[name];
    }
  }
  return copy ?? headers;
}
