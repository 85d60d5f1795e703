// Redirect: a 301, 302, 303, 307 or 308 with a Location, when the call
// follows redirects, leads to the next hop of the same attempt (the
// decision is redirectStep() in ../_redirects.ts); one it may not follow
// is a RedirectError. Either way the redirect's body is discarded first.
import { RedirectError } from "../errors.ts";
import type { SessionResponse } from "../response.ts";
import { CREDENTIAL_HEADERS, withoutHeaders } from "../_config.ts";
import { type RedirectPolicy, redirectStep } from "../_redirects.ts";
import type { Hop } from "./prepare.ts";

// Dropped when a redirect turns the request into a GET without a body.
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];

/** The hop a redirect leads to; rejects with RedirectError when not followed. */
export async function followRedirect(
  hop: Hop,
  response: SessionResponse,
  location: string,
  policy: RedirectPolicy,
): Promise<Hop> {
  const followed = hop.followed ?? [];
  const status = response.status;
  const step = redirectStep({
    status,
    location,
    method: hop.method,
    url: hop.target.url,
    origin: hop.target.origin,
    followed: followed.length,
    hasBody: hop.body !== null,
    replayable: hop.replay !== undefined,
  }, policy);
  await response.dump();
  if (!step.follow) {
    const shown = step.reason === "invalid-location"
      ? "an invalid location"
      : step.location;
    throw new RedirectError(step.reason, {
      status,
      location: step.location,
      redirects: followed.length,
      message: `Cannot follow redirect (${status} to ${shown}) as ${step.why}`,
      request: hop.info,
    });
  }
  const { target, method } = step;
  let headers = hop.headers;
  if (step.dropBody) headers = withoutHeaders(headers, BODY_HEADERS);
  if (step.crossOrigin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
  return {
    method,
    target,
    // The target's own user info wins over what was dropped or kept.
    headers: target.authorization === undefined
      ? headers
      : { ...headers, authorization: target.authorization },
    body: step.dropBody || hop.body === null ? null : hop.replay!(),
    replay: step.dropBody ? () => null : hop.replay,
    info: { method, url: target.url },
    followed: [...followed, target.url],
  };
}
