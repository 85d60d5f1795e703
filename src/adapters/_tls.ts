// The session's TLS settings in the shape undici's `connect` and Bun's
// `tls` options share.
import type { TlsConfig } from "./adapter.ts";

/** `ca`, `cert`/`key` and `rejectUnauthorized`, only those set. */
export function tlsOptions(tls: TlsConfig): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (tls.ca.length > 0) options.ca = tls.ca;
  if (tls.cert !== undefined) {
    options.cert = tls.cert;
    options.key = tls.key;
  }
  if (tls.insecure) options.rejectUnauthorized = false;
  return options;
}
