// The fetch() bridge: `session.fetch(input, init)` as the global fetch
// takes it, through the same pipeline as the verbs, to a WHATWG Response.
import { NetworkError } from "../errors.ts";
import { type HeadersInput, mergeHeaders } from "../headers.ts";
import type { RequestOptions } from "../options.ts";
import {
  rawOf,
  type ReadIntent,
  type SessionResponse,
  toWebResponse,
} from "../response.ts";
import { describeCause } from "./failure.ts";
import type { Pipeline } from "./pipeline.ts";

// session.fetch() watches the Response it returns instead, and never
// raises for a status.
const FETCH: ReadIntent = Object.freeze({ shortcut: true, fetch: true });

/** `fetch(input, init)` through `pipeline`. */
export function fetchThrough(
  pipeline: Pipeline,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  if (init !== undefined && init !== null && typeof init !== "object") {
    return Promise.reject(
      new TypeError(
        `Cannot send request as fetch()'s init must be an object: received ${typeof init}`,
      ),
    );
  }
  let sent: Promise<SessionResponse>;
  if ((init === undefined || init === null) && !(input instanceof Request)) {
    sent = pipeline.send("GET", input, undefined, FETCH);
  } else {
    const [method, url, options] = toRequest(input, init ?? undefined);
    sent = pipeline.send(method, url, options, FETCH);
  }
  return sent.then(toFetchResponse);
}

/** The session's response as a WHATWG `Response`. */
function toFetchResponse(response: SessionResponse): Response | Promise<never> {
  try {
    const native = toWebResponse(response);
    if (response.redirected) {
      Object.defineProperty(native, "redirected", { value: true });
    }
    return native;
  } catch (error) {
    // A status WHATWG Response cannot represent (100-199).
    return rawOf(response).dump().then(() => {
      throw new NetworkError(
        `Cannot represent the response as a Response (${describeCause(error)})`,
        { request: response.request, cause: error },
      );
    });
  }
}

/** Method, URL and request options from fetch's arguments. */
function toRequest(
  input: string | URL | Request,
  init: RequestInit | undefined,
): [string, string | URL, RequestOptions] {
  let method = init?.method;
  let url: string | URL = input as string | URL;
  let headers = init?.headers as HeadersInput | undefined;
  let body = init?.body;
  let signal = init?.signal ?? undefined;
  let redirect = init?.redirect;
  if (input instanceof Request) {
    redirect ??= input.redirect;
    url = input.url;
    method ??= input.method;
    headers = headers === undefined
      ? input.headers
      : mergeHeaders(mergeHeaders({}, input.headers), headers);
    if (body === undefined && input.body !== null) body = input.body;
    signal ??= input.signal;
  }
  const options: RequestOptions = {};
  if (headers !== undefined) options.headers = headers;
  if (body !== undefined && body !== null) options.body = body;
  if (signal) options.signal = signal;
  if (redirect !== undefined) options.redirect = redirect;
  return [method ?? "GET", url, options];
}
