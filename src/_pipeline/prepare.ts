// Prepare: a call of `request()` (method, URL, options) checked into the
// plan its attempts follow. Every option is checked here, before anything
// is sent; the common call without options takes a short path.
import type { AdapterBody } from "../adapters/adapter.ts";
import { checkKeys, type KeyRegistry, keySet, typeName } from "../_checks.ts";
import { checkRaise, type SessionConfig } from "../_config.ts";
import { type HeaderRecord, mergeHeaders } from "../headers.ts";
import { TOKEN } from "../_http.ts";
import type { RequestOptions, StatusPredicate } from "../options.ts";
import type { RequestInfo } from "../request_info.ts";
import { parseRetry, type RetryPolicy } from "../retry.ts";
import { appendParams, type Target } from "../url.ts";
import { type BodyOptions, parseBodyOptions } from "../_meter.ts";
import { parseRedirects, type RedirectPolicy } from "../_redirects.ts";
import { parseTimeouts, type Timeouts } from "../_timeouts.ts";

/** What one hop of an attempt sends. */
export interface Hop {
  readonly method: string;
  readonly target: Target;
  readonly headers: HeaderRecord;
  readonly body: AdapterBody;
  /** Makes the body again for another hop; `undefined` for a one-shot stream. */
  readonly replay: (() => AdapterBody) | undefined;
  readonly info: RequestInfo;
  /** URLs redirected to before this hop (none: undefined). */
  readonly followed?: readonly string[];
}

/** A call as the user made it: its first hop and its options. */
export interface CallPlan extends Hop {
  /**
   * Whether `headers` carry the session's own credentials (baseUrl's
   * origin): a middleware sending the request elsewhere must drop them.
   */
  readonly inherits: boolean;
  readonly signal: AbortSignal | undefined;
  readonly timeouts: Timeouts;
  readonly priority: number;
  /** The session's rate limits apply (not `rateLimit: false`). */
  readonly rated: boolean;
  raise: boolean | StatusPredicate;
  readonly retry: RetryPolicy;
  readonly redirects: RedirectPolicy;
  readonly bodyOptions: BodyOptions;
}

/** What prepare() needs of the session. */
export interface Session {
  readonly config: SessionConfig;
  /** The request URL resolved against baseUrl (cached). */
  resolve(url: string | URL): Target;
  /** The session's headers for a request to `origin`. */
  headersFor(origin: string): HeaderRecord;
}

const ACTION = "send request";
const NO_BODY = () => null;

const REQUEST_KEYS = keySet<RequestOptions>(
  {
    params: true,
    headers: true,
    json: true,
    body: true,
    signal: true,
    timeout: true,
    retry: true,
    raiseForStatus: true,
    priority: true,
    rateLimit: true,
    redirect: true,
    maxRedirects: true,
    maxResponseSize: true,
    onDownloadProgress: true,
    onUploadProgress: true,
  } satisfies KeyRegistry<RequestOptions>,
);

// Methods that need neither the token check nor upper-casing.
const METHODS = new Map<unknown, string>();
for (
  const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
) {
  METHODS.set(method, method);
  METHODS.set(method.toLowerCase(), method);
}

/** An HTTP method, upper case. */
export function checkMethod(input: unknown): string {
  const known = METHODS.get(input);
  if (known !== undefined) return known;
  if (typeof input !== "string" || !TOKEN.test(input)) {
    throw new TypeError(
      `Cannot ${ACTION} as the method ${
        JSON.stringify(input)
      } is not a valid HTTP token`,
    );
  }
  return input.toUpperCase();
}

/** `headers` with the URL's credentials, unless they set Authorization. */
function withAuthorization(
  headers: HeaderRecord,
  authorization: string | undefined,
): HeaderRecord {
  return authorization === undefined || headers.authorization !== undefined
    ? headers
    : { ...headers, authorization };
}

/** The plan of a call. */
export function prepare(
  session: Session,
  methodInput: string,
  url: string | URL,
  options: RequestOptions | undefined,
): CallPlan {
  const method = checkMethod(methodInput);
  if (options !== undefined) return prepareWith(session, method, url, options);
  // The common case, kept short for the JIT.
  const target = session.resolve(url);
  const headers = session.headersFor(target.origin);
  const config = session.config;
  return {
    method,
    target,
    headers: withAuthorization(headers, target.authorization),
    inherits: headers !== config.foreignHeaders,
    body: null,
    replay: NO_BODY,
    info: { method, url: target.url },
    signal: undefined,
    timeouts: config.timeouts,
    priority: 0,
    rated: true,
    raise: config.raise,
    retry: config.retry,
    redirects: config.redirects,
    bodyOptions: config.body,
  };
}

function prepareWith(
  session: Session,
  method: string,
  url: string | URL,
  options: RequestOptions,
): CallPlan {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${ACTION} as options must be an object: received ${
        typeName(options)
      }`,
    );
  }
  checkKeys(options, REQUEST_KEYS, ACTION);
  const config = session.config;
  let target = session.resolve(url);
  const base = session.headersFor(target.origin);
  if (options.params !== undefined) {
    const path = appendParams(target.path, options.params);
    if (path !== target.path) {
      target = { ...target, path, url: target.origin + path };
    }
  }
  let headers = options.headers === undefined
    ? base
    : mergeHeaders(base, options.headers, ACTION);
  let body: AdapterBody = null;
  let replay: (() => AdapterBody) | undefined = NO_BODY;
  if (hasBody(options)) {
    const prepared = prepareBody(method, options, headers);
    ({ body, replay, headers } = prepared);
  }
  return {
    method,
    target,
    headers: withAuthorization(headers, target.authorization),
    inherits: base !== config.foreignHeaders,
    body,
    replay,
    info: { method, url: target.url },
    signal: checkSignal(options.signal),
    timeouts: parseTimeouts(options.timeout, config.timeouts, ACTION),
    priority: checkPriority(options.priority),
    rated: checkRated(options.rateLimit),
    raise: options.raiseForStatus === undefined
      ? config.raise
      : checkRaise(options.raiseForStatus, ACTION),
    retry: options.retry === undefined
      ? config.retry
      : parseRetry(options.retry, ACTION, config.retry, true),
    redirects: parseRedirects(options, config.redirects, ACTION),
    bodyOptions: parseBodyOptions(options, config.body, ACTION),
  };
}

function hasBody(options: RequestOptions): boolean {
  return options.json !== undefined ||
    (options.body !== undefined && options.body !== null);
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Cannot ${ACTION} as 'signal' must be an AbortSignal`);
  }
  return signal;
}

function checkRated(rateLimit: unknown): boolean {
  if (rateLimit === undefined) return true;
  if (rateLimit !== false) {
    throw new TypeError(
      `Cannot ${ACTION} as a request's 'rateLimit' can only be false (skip the session's rate limits): received ${rateLimit}`,
    );
  }
  return false;
}

function checkPriority(priority: unknown): number {
  if (priority === undefined) return 0;
  if (typeof priority !== "number" || Number.isNaN(priority)) {
    throw new TypeError(
      `Cannot ${ACTION} as 'priority' must be a number: received ${priority}`,
    );
  }
  return priority;
}

/** A request body, how to make it again, and the headers it needs. */
interface PreparedBody {
  body: AdapterBody;
  replay: (() => AdapterBody) | undefined;
  headers: HeaderRecord;
}

function prepareBody(
  method: string,
  options: RequestOptions,
  headers: HeaderRecord,
): PreparedBody {
  if (
    options.json !== undefined && options.body !== undefined &&
    options.body !== null
  ) {
    throw new TypeError(
      `Cannot ${ACTION} as 'json' and 'body' are both set: pass one`,
    );
  }
  if (method === "GET" || method === "HEAD") {
    throw new TypeError(
      `Cannot ${ACTION} as a ${method} request cannot have a body`,
    );
  }
  if (options.json !== undefined) {
    return fixedBody(toJson(options.json), "application/json", headers);
  }
  return bodyOf(options.body!, headers);
}

function bodyOf(input: BodyInit, headers: HeaderRecord): PreparedBody {
  if (typeof input === "string") {
    return fixedBody(input, "text/plain;charset=UTF-8", headers);
  }
  if (input instanceof Uint8Array) return fixedBody(input, undefined, headers);
  if (input instanceof ArrayBuffer) {
    return fixedBody(new Uint8Array(input), undefined, headers);
  }
  if (ArrayBuffer.isView(input)) {
    const bytes = new Uint8Array(
      input.buffer,
      input.byteOffset,
      input.byteLength,
    );
    return fixedBody(bytes, undefined, headers);
  }
  if (input instanceof URLSearchParams) {
    const type = "application/x-www-form-urlencoded;charset=UTF-8";
    return fixedBody(input.toString(), type, headers);
  }
  if (input instanceof ReadableStream) {
    // A one-shot stream: never replayed.
    return {
      body: input as ReadableStream<Uint8Array>,
      replay: undefined,
      headers,
    };
  }
  if (input instanceof Blob || input instanceof FormData) {
    return encodedBody(input, headers);
  }
  throw new TypeError(
    `Cannot ${ACTION} as 'body' must be a string, bytes, Blob, FormData, URLSearchParams or ReadableStream: received ${
      Object.prototype.toString.call(input)
    }${
      typeof (input as unknown as { pipe?: unknown })?.pipe === "function"
        ? " (a Node.js stream: pass Readable.toWeb(stream) from node:stream)"
        : ""
    }`,
  );
}

function fixedBody(
  body: string | Uint8Array,
  contentType: string | undefined,
  headers: HeaderRecord,
): PreparedBody {
  return {
    body,
    replay: () => body,
    headers: withContentType(headers, contentType),
  };
}

// Encoded once (FormData gets one boundary); each attempt reads a copy.
function encodedBody(
  input: Blob | FormData,
  headers: HeaderRecord,
): PreparedBody {
  const template = new Response(input);
  let sent = withContentType(
    headers,
    template.headers.get("content-type") ?? undefined,
  );
  if (input instanceof Blob && !("content-length" in sent)) {
    sent = { ...sent, "content-length": String(input.size) };
  }
  return {
    body: template.clone().body,
    replay: () => template.clone().body,
    headers: sent,
  };
}

function withContentType(
  headers: HeaderRecord,
  contentType: string | undefined,
): HeaderRecord {
  return contentType === undefined || "content-type" in headers
    ? headers
    : { ...headers, "content-type": contentType };
}

/** `value` as JSON text; a TypeError when JSON has no text for it. */
function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `Cannot ${ACTION} as 'json' cannot be serialized: ${
        (error as Error)?.message ?? error
      }`,
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new TypeError(
      `Cannot ${ACTION} as 'json' has no JSON representation: received ${typeof value}`,
    );
  }
  return text;
}
