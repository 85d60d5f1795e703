// Redirects: the `redirect` and `maxRedirects` options, and the decision
// what to do with a response (pure: the pipeline's redirect stage acts on
// it).
import { checkCount } from "./_checks.ts";
import type { RedirectFailure } from "./errors.ts";
import type { RedirectMode } from "./network.ts";
import { redact, resolveTarget, type Target } from "./url.ts";

/** The checked `redirect` and `maxRedirects` options. */
export interface RedirectPolicy {
  readonly mode: RedirectMode;
  readonly max: number;
}

export const DEFAULT_REDIRECTS: RedirectPolicy = Object.freeze({
  mode: "follow",
  max: 10,
});

const MODES = new Set(["follow", "manual", "error"]);

/** The redirect options of session or request `options` over `base`. */
export function parseRedirects(
  options: { redirect?: unknown; maxRedirects?: unknown },
  base: RedirectPolicy,
  action: string,
): RedirectPolicy {
  const { redirect, maxRedirects } = options;
  if (redirect === undefined && maxRedirects === undefined) return base;
  if (
    redirect !== undefined &&
    (typeof redirect !== "string" || !MODES.has(redirect))
  ) {
    throw new TypeError(
      `Cannot ${action} as 'redirect' must be "follow", "manual" or "error": received ${
        typeof redirect === "string"
          ? JSON.stringify(redirect)
          : typeof redirect
      }`,
    );
  }
  return {
    mode: (redirect as RedirectMode | undefined) ?? base.mode,
    max: maxRedirects === undefined
      ? base.max
      : checkCount("maxRedirects", maxRedirects, action),
  };
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** `true` for a status that redirects (when it has a `Location`). */
export function isRedirect(status: number): boolean {
  return status >= 301 && status <= 308 && REDIRECT_STATUSES.has(status);
}

/** A redirect response, as far as the decision needs it. */
export interface RedirectInput {
  readonly status: number;
  /** The `Location` header. */
  readonly location: string;
  /** The request that got the redirect: method, URL and origin. */
  readonly method: string;
  readonly url: string;
  readonly origin: string;
  /** Redirects followed before this one. */
  readonly followed: number;
  /** The request has a body; `replayable`: it can be sent again. */
  readonly hasBody: boolean;
  readonly replayable: boolean;
}

/** What to do with a redirect. */
export type RedirectStep =
  | {
    readonly follow: false;
    readonly reason: RedirectFailure;
    /** Why, for the error message. */
    readonly why: string;
    /** Where it pointed (resolved and without credentials when it could be). */
    readonly location: string;
  }
  | {
    readonly follow: true;
    readonly target: Target;
    /** The method of the next request (a 303 or a 301/302 POST: GET). */
    readonly method: string;
    /** The next request goes without the body and its headers. */
    readonly dropBody: boolean;
    /** The next request goes to another origin: no credentials. */
    readonly crossOrigin: boolean;
  };

/** Decide on a redirect (`policy.mode` is not "manual" here). */
export function redirectStep(
  input: RedirectInput,
  policy: RedirectPolicy,
): RedirectStep {
  let target: Target;
  try {
    target = resolveTarget(new URL(input.location, input.url), undefined);
  } catch {
    return fail(
      "invalid-location",
      "its Location is not an http(s) URL",
      redact(input.location),
    );
  }
  const url = target.url;
  if (policy.mode === "error") {
    return fail("forbidden", `redirect is "error"`, url);
  }
  if (input.followed >= policy.max) {
    return fail(
      "max-redirects",
      `it would be redirect ${
        input.followed + 1
      } and maxRedirects is ${policy.max}`,
      url,
    );
  }
  const { status, method } = input;
  const dropBody = (status === 303 && method !== "HEAD") ||
    ((status === 301 || status === 302) && method === "POST");
  if (!dropBody && input.hasBody && !input.replayable) {
    return fail(
      "unreplayable",
      "the request body is a stream, which can be sent only once",
      url,
    );
  }
  return {
    follow: true,
    target,
    method: dropBody ? "GET" : method,
    dropBody,
    crossOrigin: target.origin !== input.origin,
  };
}

function fail(
  reason: RedirectFailure,
  why: string,
  location: string,
): RedirectStep {
  return { follow: false, reason, why, location };
}
