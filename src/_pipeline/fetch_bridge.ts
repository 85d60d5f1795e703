// The fetch() bridge: `session.fetch(input, init)` as the global fetch
// takes it, through the same pipeline as the verbs, to a WHATWG Response.
import { NetworkError } from "../errors.ts";
import { type HeadersInput, mergeHeaders } from "../headers.ts";
import type { RequestOptions } from "../options.ts";
import { rawOf, type ReadIntent, toWebResponse } from "../response.ts";
import { describeCause } from "./failure.ts";
import type { Pipeline } from "./pipeline.ts";

// session.fetch() watches the Response it returns instead.
const FETCH: ReadIntent = Object.freeze({ shortcut: true });

/** `fetch(input, init)` through `pipeline`. */
export async function fetchThrough(
  pipeline: Pipeline,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  if (init !== undefined && init !== null && typeof init !== "object") {
    throw new TypeError(
      `Cannot send request as fetch()'s init must be an object: received ${typeof init}`,
    );
  }
  const [method, url, options] = toRequest(input, init ?? undefined);
  const response = await pipeline.send(method, url, options, FETCH);
  try {
    const native = toWebResponse(response);
    if (response.redirected) {
      Object.defineProperty(native, "redirected", { value: true });
    }
    return native;
  } catch (error) {
    // A status WHATWG Response cannot represent (100-199).
    await rawOf(response).dump();
    throw new NetworkError(
      `Cannot represent the response as a Response (${describeCause(error)})`,
      { request: response.request, cause: error },
    );
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
  // fetch never throws for a status.
  const options: RequestOptions = { raiseForStatus: false };
  if (headers !== undefined) options.headers = headers;
  if (body !== undefined && body !== null) options.body = body;
  if (signal) options.signal = signal;
  if (redirect !== undefined) options.redirect = redirect;
  return [method ?? "GET", url, options];
}
