// Raise: after the last attempt, a status `raiseForStatus` counts as an
// error becomes an HttpError, with the body read into memory so the
// connection is free.
import { FetchResponse } from "../adapters/_fetch_response.ts";
import { HttpError } from "../errors.ts";
import { hasNoBody } from "../_http.ts";
import type { StatusPredicate } from "../options.ts";
import { newSessionResponse, type SessionResponse } from "../response.ts";

/** `true` when `raise` counts `status` as an error. */
export function isRaised(
  raise: boolean | StatusPredicate,
  status: number,
): boolean {
  if (raise === true) return status < 200 || status >= 300;
  if (raise === false) return false;
  return raise(status) === true;
}

/**
 * The response, or an HttpError for it (its body buffered). A throwing
 * predicate frees the connection and rejects with its error; a body that
 * fails while buffered rejects with `mapError` of its failure.
 */
export function raiseForStatus(
  response: SessionResponse,
  raise: boolean | StatusPredicate,
  mapError: (error: unknown) => unknown,
): SessionResponse | Promise<SessionResponse> {
  let raised: boolean;
  try {
    raised = isRaised(raise, response.status);
  } catch (error) {
    return response.dump().then(() => Promise.reject(error));
  }
  if (!raised) return response;
  return buffered(response).then(
    (copy) => {
      throw new HttpError(copy, response.request);
    },
    (error) => {
      throw mapError(error);
    },
  );
}

/** A response over the body read into memory (its connection freed). */
async function buffered(response: SessionResponse): Promise<SessionResponse> {
  let bytes: Uint8Array | null = null;
  if (hasNoBody(response.request.method, response.status)) {
    await response.dump();
  } else {
    bytes = await response.bytes();
  }
  const raw = new FetchResponse(
    new Response(bytes as BodyInit | null, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    }),
    response.url,
    () => {},
  );
  return newSessionResponse(raw, response.request);
}
