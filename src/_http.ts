// Facts of HTTP that several layers share.

/** Methods the HTTP specification calls idempotent (safe to repeat). */
export const IDEMPOTENT: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
  "TRACE",
]);
