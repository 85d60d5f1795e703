/**
 * Proxy settings: the `proxy` option, and with `trustEnv` the
 * HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY environment variables.
 *
 * @module
 */
import type { ProxyInfo } from "./adapters/adapter.ts";
import { basicAuth } from "./_http.ts";

/** Check a proxy URL and split its credentials off. */
export function parseProxy(value: unknown, action: string): ProxyInfo {
  if (typeof value !== "string" && !(value instanceof URL)) {
    throw new TypeError(
      `Cannot ${action} as 'proxy' must be a URL string or URL: received ${
        value === null ? "null" : typeof value
      }`,
    );
  }
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new TypeError(
      `Cannot ${action} as 'proxy' is not a valid URL (expected http://host:port or https://host:port)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot ${action} as 'proxy' must be an http: or https: URL: received ${url.protocol}`,
    );
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    throw new TypeError(
      `Cannot ${action} as 'proxy' must be only a scheme, host and port (with optional user:password@)`,
    );
  }
  const info: {
    url: string;
    username?: string;
    password?: string;
    authorization?: string;
  } = { url: url.origin };
  if (url.username !== "" || url.password !== "") {
    const username = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    info.username = username;
    info.password = password;
    info.authorization = basicAuth(username, password);
  }
  return info;
}

/** One NO_PROXY entry. */
interface NoProxyRule {
  /** Lower-case host or domain (without a leading dot); "" matches any. */
  host: string;
  /** Port to match, or "" for any. */
  port: string;
  /** Match subdomains too. */
  suffix: boolean;
}

/** Parse NO_PROXY: comma or space separated hosts, domains, `host:port` and `*`. */
export function parseNoProxy(value: string | undefined): NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  if (!value) return rules;
  for (let entry of value.split(/[\s,]+/)) {
    entry = entry.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") {
      rules.push({ host: "", port: "", suffix: true });
      continue;
    }
    let port = "";
    const bracket = entry.startsWith("[");
    const colon = bracket ? entry.indexOf("]:") : entry.lastIndexOf(":");
    if (bracket) {
      if (colon !== -1) port = entry.slice(colon + 2);
      entry = entry.slice(1, colon !== -1 ? colon : entry.indexOf("]"));
    } else if (colon !== -1 && entry.indexOf(":") === colon) {
      port = entry.slice(colon + 1);
      entry = entry.slice(0, colon);
    }
    let suffix = false;
    if (entry.startsWith("*.")) entry = entry.slice(2), suffix = true;
    else if (entry.startsWith(".")) entry = entry.slice(1), suffix = true;
    else suffix = !/^[\d.]+$/.test(entry) && !entry.includes(":");
    rules.push({ host: entry, port, suffix });
  }
  return rules;
}

/** `true` when NO_PROXY `rules` exclude `url` from proxying. */
export function bypassesProxy(rules: NoProxyRule[], url: URL): boolean {
  if (rules.length === 0) return false;
  let host = url.hostname.toLowerCase();
  if (host.startsWith("[")) host = host.slice(1, -1);
  const port = url.port ||
    (url.protocol === "https:" ? "443" : url.protocol === "http:" ? "80" : "");
  for (const rule of rules) {
    if (rule.port !== "" && rule.port !== port) continue;
    if (rule.host === "") return true;
    if (host === rule.host) return true;
    if (rule.suffix && host.endsWith("." + rule.host)) return true;
  }
  return false;
}

type Env = (name: string) => string | undefined;

function readEnv(): Env {
  const deno = (globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
  }).Deno;
  if (deno !== undefined) return (name) => deno.env.get(name);
  const process = (globalThis as {
    process?: { env: Record<string, string | undefined> };
  }).process;
  return (name) => process?.env[name];
}

/** A variable by its lower-case name, else its upper-case name. */
function variable(env: Env, name: string): string | undefined {
  const value = env(name) || env(name.toUpperCase());
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** Which proxy, if any, each request goes through. */
export class ProxyResolver {
  #fixed: ProxyInfo | undefined;
  #http: ProxyInfo | undefined;
  #https: ProxyInfo | undefined;
  #noProxy: NoProxyRule[] = [];
  #byOrigin = new Map<string, ProxyInfo | null>();

  /**
   * `proxy`: used for every request. Otherwise, with `trustEnv`, the
   * environment decides per URL.
   */
  constructor(proxy: ProxyInfo | undefined, trustEnv: boolean, action: string) {
    this.#fixed = proxy;
    if (proxy !== undefined || !trustEnv) return;
    let env: Env;
    try {
      env = readEnv();
      env("no_proxy");
    } catch (error) {
      throw new TypeError(
        `Cannot ${action} as 'trustEnv' needs to read environment variables (${
          error instanceof Error ? error.message : String(error)
        })`,
      );
    }
    const all = variable(env, "all_proxy");
    const http = variable(env, "http_proxy") ?? all;
    const https = variable(env, "https_proxy") ?? all;
    const name = (scheme: string) => `${scheme.toUpperCase()}_PROXY`;
    if (http !== undefined) {
      this.#http = parseEnvProxy(http, name("http"), action);
    }
    if (https !== undefined) {
      this.#https = parseEnvProxy(https, name("https"), action);
    }
    this.#noProxy = parseNoProxy(variable(env, "no_proxy"));
  }

  /** `true` when no request can go through a proxy. */
  get none(): boolean {
    return this.#fixed === undefined && this.#http === undefined &&
      this.#https === undefined;
  }

  /** The proxy for a request to `origin` (`scheme://host[:port]`). */
  for(origin: string): ProxyInfo | undefined {
    if (this.#fixed !== undefined) return this.#fixed;
    let proxy = this.#byOrigin.get(origin);
    if (proxy === undefined) {
      const url = new URL(origin);
      const candidate = url.protocol === "https:" ? this.#https : this.#http;
      proxy = candidate === undefined || bypassesProxy(this.#noProxy, url)
        ? null
        : candidate;
      if (this.#byOrigin.size >= 256) this.#byOrigin.clear();
      this.#byOrigin.set(origin, proxy);
    }
    return proxy ?? undefined;
  }
}

function parseEnvProxy(value: string, name: string, action: string): ProxyInfo {
  // "host:port" without a scheme means http, as curl reads it.
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
    ? value
    : `http://${value}`;
  try {
    return parseProxy(url, action);
  } catch (error) {
    // Never echo the value: it may hold a password.
    throw new TypeError(
      `Cannot ${action} as the environment variable ${name} is not a usable proxy URL (${
        (error as Error).message.replace(/^Cannot [^']*'proxy' /, "")
      })`,
    );
  }
}
