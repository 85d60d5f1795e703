// The package version (kept equal to deno.json's by scripts/build_npm.mjs)
// and the User-Agent a session sends unless told otherwise.

/** This package's version. */
const VERSION = "0.1.0";

/** The default `User-Agent` header of every session. */
export const USER_AGENT = `x-sessions/${VERSION}`;
