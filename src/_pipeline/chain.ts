// The middleware stage's two ends: the request a chain starts with, and
// what its end does with the request it gets (a hop of the attempt).
import { CREDENTIAL_HEADERS } from "../_config.ts";
import { checkHeader, type HeaderRecord } from "../headers.ts";
import {
  makeRequest,
  requestHeaders,
  type SessionRequest,
} from "../middleware.ts";
import type { ReadIntent, SessionResponse } from "../response.ts";
import type { Target } from "../url.ts";
import type { Call } from "./call.ts";
import { checkMethod, type Hop } from "./prepare.ts";

/** The session's state of a request in the chain. */
export interface ChainContext {
  readonly call: Call;
  readonly attempt: number;
  /** How the user reads the response (a shortcut reads it at once). */
  readonly intent: ReadIntent;
}

/** What the chain's end needs of the session. */
export interface ChainSession {
  resolve(url: string | URL): Target;
  /** baseUrl's origin, when the session has one. */
  readonly baseOrigin: string | undefined;
  /** The session's own headers for baseUrl's origin. */
  readonly baseHeaders: HeaderRecord;
  /** Send a hop of the call's attempt. */
  hop(
    call: Call,
    hop: Hop,
    attempt: number,
    intent: ReadIntent,
  ): Promise<SessionResponse>;
}

/** The request a chain starts with: headers and signal made on demand. */
export function chainRequest(call: Call, attempt: number): SessionRequest {
  const plan = call.plan;
  return makeRequest({
    method: plan.method,
    url: plan.target.url,
    headers: plan.headers,
    body: attempt === 0 ? plan.body : plan.replay!(),
    attempt,
    source: call,
  });
}

/** The end of the chain: the request it gets, sent as a hop. */
export function chainEnd(
  session: ChainSession,
): (
  request: SessionRequest,
  context: ChainContext,
) => Promise<SessionResponse> {
  return (request, { call, attempt, intent }) => {
    let hop: Hop;
    try {
      hop = hopOf(session, request, call.plan.inherits);
    } catch (error) {
      return Promise.reject(error);
    }
    return session.hop(call, hop, attempt, intent);
  };
}

const ACTION = "send request";

function hopOf(
  session: ChainSession,
  request: SessionRequest,
  inherits: boolean,
): Hop {
  const method = checkMethod(request.method);
  const target = session.resolve(request.url);
  let headers = headerRecord(requestHeaders(request));
  if (inherits && target.origin !== session.baseOrigin) {
    // A middleware sent the request to another origin: the session's
    // credentials stay with baseUrl's.
    headers = withoutSessionCredentials(headers, session.baseHeaders);
  }
  const body = request.body ?? null;
  if (
    body !== null && typeof body !== "string" &&
    !(body instanceof Uint8Array) && !(body instanceof ReadableStream)
  ) {
    throw new TypeError(
      `Cannot ${ACTION} as a middleware set a body that is not a string, Uint8Array, ReadableStream or null`,
    );
  }
  return {
    method,
    target,
    headers,
    body,
    replay: body instanceof ReadableStream ? undefined : () => body,
    info: { method, url: target.url },
  };
}

// The record the chain started with goes on as it is (no copy); Headers a
// middleware asked for are checked as any headers are.
function headerRecord(
  headers: Headers | Readonly<Record<string, string>>,
): HeaderRecord {
  if (!(headers instanceof Headers)) return headers as HeaderRecord;
  const record: HeaderRecord = {};
  headers.forEach((value, name) => {
    record[checkHeader(name, value, ACTION)] = value;
  });
  return record;
}

function withoutSessionCredentials(
  headers: HeaderRecord,
  session: HeaderRecord,
): HeaderRecord {
  let copy: HeaderRecord | undefined;
  for (const name of CREDENTIAL_HEADERS) {
    const value = headers[name];
    if (value !== undefined && value === session[name]) {
      copy ??= { ...headers };
      delete copy[name];
    }
  }
  return copy ?? headers;
}
