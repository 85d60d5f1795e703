/**
 * How one request runs: the map of the session's core.
 *
 * `Session` (../session.ts) is a facade over one {@linkcode Pipeline}. A
 * call of `session.get(url)` flows through these stages, outermost first;
 * each names the file that holds it:
 *
 * | stage      | runs            | does                                                    | file              |
 * | ---------- | --------------- | ------------------------------------------------------- | ----------------- |
 * | gate       | per call        | a closed session rejects with SessionClosedError       | pipeline.ts       |
 * | prepare    | per call        | method, URL (cached), options, body: the call's plan    | prepare.ts        |
 * | call       | per call        | total deadline, the user's signal, the user's errors    | call.ts           |
 * | circuit    | per attempt     | an open circuit fails at once; outcomes are counted     | protect.ts        |
 * | queue      | per call        | over `limit` or `rateLimit`, the call itself waits      | pipeline.ts       |
 * | raise      | after the last attempt | `raiseForStatus`: HttpError                      | raise.ts          |
 * | retry      | per attempt     | statuses, network errors, Retry-After, backoff, budget  | ../retry.ts       |
 * | middleware | per attempt     | the user's onion, composed once per session             | ../middleware.ts  |
 * | redirect   | per hop         | follow, manual or error; credentials stay behind        | redirect.ts       |
 * | stale      | per hop         | resend once on a kept-alive connection the server closed | stale.ts         |
 * | cookies    | per hop         | attach before, store after                               | ../cookies.ts     |
 * | meter      | per hop         | upload progress; size limit and download progress       | ../_meter.ts      |
 * | exchange   | per hop         | permit, phase timers, events, what close() waits for    | exchange.ts       |
 * | adapter    | per hop         | the runtime's pool                                      | ../adapters/      |
 *
 * The driver below owns the one `.then` per hop and the one per attempt;
 * built-in stages are plain functions it calls in this order. What is off
 * for the whole session is decided in the constructor (no jar: the cookie
 * stage is never called; no middleware: no request object is built; nobody
 * listening: no event is built). `session.fetch()` goes through the same
 * pipeline (fetch_bridge.ts); close() and destroy() through in_flight.ts;
 * the adapter and the limiter are made on first use by pool.ts.
 *
 * Where to add things (docs/architecture.md has the recipes): an adapter
 * in ../adapters/; an option in ../options.ts (its type), its feature's
 * file (its parser) and the stage that uses it; a built-in stage as a
 * function in its own file called from here; a user's middleware with the
 * `middleware` option.
 *
 * @module
 */
import type { AdapterResponse, PoolAdapter } from "../adapters/adapter.ts";
import { type SessionConfig, withoutHeaders } from "../_config.ts";
import { CookieAttacher, type CookieJar } from "../cookies.ts";
import { NetworkError, SessionClosedError } from "../errors.ts";
import { badStatus, notAResponse } from "./failure.ts";
import { channelsListened, type Emit, makeEmitter } from "../events.ts";
import type { HeaderRecord } from "../headers.ts";
import { enqueue, type Limiter, withdraw } from "../limiter.ts";
import { type Chain, compose } from "../middleware.ts";
import type { RequestOptions } from "../options.ts";
import { ProxyResolver } from "../proxy.ts";
import {
  newSessionResponse,
  type ReadIntent,
  SessionResponse,
  setRedirects,
} from "../response.ts";
import { retryDelay } from "../retry.ts";
import { resolveTarget, type Target } from "../url.ts";
import { USER_AGENT } from "../_version.ts";
import { meter, metersDownload, meterUpload } from "../_meter.ts";
import { isRedirect } from "../_redirects.ts";
import { sleep } from "../_timers.ts";
import { askShouldRetry, emitRetry } from "./retry.ts";
import { Call } from "./call.ts";
import { type ChainContext, chainEnd, chainRequest } from "./chain.ts";
import { Exchange } from "./exchange.ts";
import { InFlight } from "./in_flight.ts";
import { Pool } from "./pool.ts";
import { type CallPlan, type Hop, prepare } from "./prepare.ts";
import { raiseForStatus } from "./raise.ts";
import { followRedirect } from "./redirect.ts";
import {
  admitCall,
  admitRetry,
  heed,
  recordAttempt,
  spendRetry,
} from "./protect.ts";
import { takeStaleResend } from "./stale.ts";

// Resolved request URLs kept per session (cleared when full).
const TARGET_CACHE = 2048;

/** One session's request machinery. */
export class Pipeline {
  readonly config: SessionConfig;
  readonly inFlight: InFlight = new InFlight();
  readonly baseOrigin: string | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #pool: Pool;
  #targets = new Map<string, Target>();
  // Headers for baseUrl's origin, and for the others (no credentials).
  #headers: HeaderRecord;
  #foreignHeaders: HeaderRecord;
  #cookies: CookieAttacher | undefined;
  #proxies: ProxyResolver | undefined;
  #emit: Emit;
  #chain: Chain<ChainContext> | undefined;

  constructor(config: SessionConfig) {
    this.config = config;
    this.baseOrigin = config.base?.origin;
    this.#headers = config.headers;
    this.#foreignHeaders = config.foreignHeaders;
    const jar = config.cookies.jar;
    if (jar !== undefined) this.#cookies = new CookieAttacher(jar);
    const proxies = new ProxyResolver(
      config.proxy,
      config.trustEnv,
      "create session",
    );
    if (!proxies.none) this.#proxies = proxies;
    this.#pool = new Pool(config, (adapter) => {
      if (adapter.sendsUserAgent === true) this.#dropDefaultUserAgent();
    });
    this.#emit = makeEmitter(config.observe);
    if (config.middleware.length > 0) {
      this.#chain = compose(config.middleware, chainEnd(this));
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get adapter(): PoolAdapter | undefined {
    return this.#pool.made;
  }

  get cookieJar(): CookieJar | undefined {
    return this.config.cookies.jar;
  }

  /** The session's own headers for baseUrl's origin. */
  get baseHeaders(): HeaderRecord {
    return this.#headers;
  }

  /** The session's headers for a request to `origin`. */
  headersFor(origin: string): HeaderRecord {
    return origin === this.baseOrigin ? this.#headers : this.#foreignHeaders;
  }

  // The same relative paths come back again and again: resolve each once
  // (bounded), so every request to it also shares one URL string.
  resolve(url: string | URL): Target {
    const base = this.config.base;
    if (typeof url !== "string") return resolveTarget(url, base);
    const targets = this.#targets;
    let target = targets.get(url);
    if (target === undefined) {
      target = resolveTarget(url, base);
      if (targets.size >= TARGET_CACHE) targets.clear();
      targets.set(url, target);
    }
    return target;
  }

  // Not async: on the fast path (no middleware, a free permit, no retry)
  // this costs two promise reactions fewer per request than an async
  // function would.
  /** Send a call; resolves with its response (raised by `raiseForStatus`). */
  send(
    method: string,
    url: string | URL,
    options: RequestOptions | undefined,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    // The adapter decides the default headers: make it before the first
    // request is prepared.
    if (!this.#closed) this.#pool.make();
    let plan: CallPlan;
    try {
      plan = prepare(this, method, url, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed) {
      return Promise.reject(
        new SessionClosedError(
          "Cannot send request as the session is closed",
          { request: plan.info },
        ),
      );
    }
    if (intent.fetch) plan.raise = false;
    const listening = this.config.observe !== undefined || channelsListened();
    const emit = listening ? this.#emit : undefined;
    // An open circuit fails the call at once, unqueued.
    const trial = admitCall(this.config.breaker, plan, emit);
    if (trial instanceof Error) return Promise.reject(trial);
    plan.retry.budget?.request(performance.now());
    const call = new Call(plan, emit);
    call.trial = trial;
    if (this.#chain === undefined) {
      // Over a limit, the call waits in the queue before anything of its
      // first exchange is made.
      const limiter = this.#pool.limiter;
      const permit = limiter.tryAcquire(plan.target.origin, plan.rated);
      if (permit !== undefined) call.permit = permit;
      // Aborted already (the user's signal): it fails at once, unqueued.
      else if (!call.aborted) return this.#park(call, limiter, intent);
    }
    return this.#attempt(call, 0, intent);
  }

  // The call itself waits in the limiter's queue: a queued request holds
  // its call, its plan and one promise. Admitted, it makes its first
  // attempt with the permit; refused, aborted or over maxQueue, it makes
  // it anyway, which fails as a queued exchange would.
  #park(
    call: Call,
    limiter: Limiter,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    this.inFlight.park(call);
    if (call.emit !== undefined) call.queuedAt = performance.now();
    return new Promise((resolve) => {
      call.parked = (permit) => {
        this.inFlight.unpark(call);
        if (permit === undefined) withdraw(limiter, call);
        else call.permit = permit;
        // Called from inside the limiter (a release, an abort): nothing
        // may throw back into it.
        try {
          resolve(this.#attempt(call, 0, intent));
        } catch (error) {
          resolve(Promise.reject(error));
        }
      };
      if (!enqueue(limiter, call)) {
        call.gone = true;
        call.parked(undefined);
      }
    });
  }

  /** One attempt: through the middleware chain, then retried or delivered. */
  #attempt(
    call: Call,
    attempt: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const chain = this.#chain;
    if (chain !== undefined) {
      return this.#throughChain(chain, call, attempt, intent);
    }
    let sent: Promise<SessionResponse>;
    try {
      const plan = call.plan;
      const hop = attempt === 0 ? plan : { ...plan, body: plan.replay!() };
      sent = this.hop(call, hop, attempt, intent);
    } catch (error) {
      // Before its exchange (a body that cannot be replayed, a progress
      // callback that threw): the call ends as failed, its permit freed.
      sent = Promise.reject(error);
    }
    return sent.then(
      (response) =>
        this.#afterAttempt(call, attempt, response, undefined, intent),
      (error) => this.#afterAttempt(call, attempt, undefined, error, intent),
    );
  }

  // Not async: one reaction per attempt, as on the path without middleware.
  #throughChain(
    chain: Chain<ChainContext>,
    call: Call,
    attempt: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    this.inFlight.enter(call);
    let running: Promise<SessionResponse>;
    try {
      running = chain(chainRequest(call, attempt), { call, attempt, intent });
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (response) => {
        this.inFlight.leave(call);
        if (response instanceof SessionResponse) {
          return this.#afterAttempt(call, attempt, response, undefined, intent);
        }
        const error = notAResponse(response);
        return this.#afterAttempt(call, attempt, undefined, error, intent);
      },
      (caught) => {
        this.inFlight.leave(call);
        const error = call.aborted ? call.mapError(caught) : caught;
        return this.#afterAttempt(call, attempt, undefined, error, intent);
      },
    );
  }

  /** Send one hop; resolves with its response, whatever the status. */
  hop(
    call: Call,
    hop: Hop,
    attempt: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    // What this hop sends over the plan: cookies, a metered body.
    let headers = hop.headers;
    let body = hop.body;
    const cookies = this.#cookies;
    if (cookies !== undefined) {
      headers = cookies.attach(headers, hop.target.url);
    }
    const { onUploadProgress } = call.plan.bodyOptions;
    if (onUploadProgress !== undefined && body !== null) {
      const upload = meterUpload(
        body,
        headers["content-length"],
        onUploadProgress,
      );
      body = upload.body;
      headers = { ...headers, ...upload.headers };
    }
    const exchange = new Exchange(
      call,
      hop,
      headers,
      body,
      attempt,
      this.#proxies?.for(hop.target.origin),
      this.inFlight.forget,
    );
    this.inFlight.add(exchange);
    return this.#start(exchange, hop.body).then(
      (raw) => this.#received(exchange, hop, raw, intent),
      (error) => this.#failed(exchange, hop, error, intent),
    );
  }

  /** Take a permit (or wait for one) and hand the exchange to the adapter. */
  #start(exchange: Exchange, body: Hop["body"]): Promise<AdapterResponse> {
    const call = exchange.call;
    try {
      if (call.aborted) throw call.reason;
      if (body instanceof ReadableStream && body.locked) {
        throw new TypeError(
          "Cannot send the request body again: it is a stream, which can be sent only once",
        );
      }
      const limiter = this.#pool.limiter;
      const taken = call.permit;
      call.permit = undefined;
      const rated = call.plan.rated;
      const permit = taken ?? limiter.tryAcquire(exchange.origin, rated);
      if (permit !== undefined) {
        exchange.permit = permit;
        return this.#dispatch(exchange, false);
      }
      // The call itself is the abort source: a queued request costs no
      // AbortSignal.
      return limiter.acquire(exchange.origin, {
        priority: call.plan.priority,
        signal: call,
        rated,
      }).then((permit) => {
        exchange.permit = permit;
        return this.#dispatch(exchange, true);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `waited`: it queued for its permit since it was made. */
  #dispatch(exchange: Exchange, waited: boolean): Promise<AdapterResponse> {
    const adapter = this.#pool.adapter;
    if (exchange.call.watchesSend) {
      exchange.sent(adapter.reportsConnect === true, waited);
    }
    return adapter.dispatch(exchange);
  }

  /** The hop's response headers arrived. */
  #received(
    exchange: Exchange,
    hop: Hop,
    raw: AdapterResponse,
    intent: ReadIntent,
  ): SessionResponse | Promise<SessionResponse> {
    exchange.responded(raw);
    const status = raw.status;
    if (status < 100 || status > 599) {
      const error = badStatus(hop.info, status);
      exchange.mapError(error);
      raw.dump().catch(() => {});
      throw error;
    }
    this.#cookies?.store(setCookies(raw), hop.target.url);
    if (this.config.rateGate !== undefined) {
      heed(this.config.rateGate, hop, raw);
    }
    const plan = exchange.call.plan;
    if (isRedirect(status) && plan.redirects.mode !== "manual") {
      const location = raw.headers.get("location");
      if (location !== null) {
        return this.#redirect(exchange, hop, raw, location, intent);
      }
    }
    if (metersDownload(plan.bodyOptions)) {
      // Throws (and discards the body) when Content-Length is too big.
      raw = meter(raw, hop.info, plan.bodyOptions);
    }
    const response = newSessionResponse(
      raw,
      hop.info,
      exchange,
      !intent.shortcut,
    );
    if (hop.followed !== undefined) setRedirects(response, hop.followed);
    return response;
  }

  /** Follow (or refuse) a redirect: the next hop of the same attempt. */
  #redirect(
    exchange: Exchange,
    hop: Hop,
    raw: AdapterResponse,
    location: string,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const { call, attempt } = exchange;
    const response = newSessionResponse(raw, hop.info, exchange, false);
    return followRedirect(hop, response, location, call.plan.redirects).then(
      (next) => this.hop(call, next, attempt, intent),
    );
  }

  /** The hop failed before its response headers arrived. */
  #failed(
    exchange: Exchange,
    hop: Hop,
    error: unknown,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const { call, attempt } = exchange;
    if (takeStaleResend(exchange, hop, error)) {
      return this.hop(call, { ...hop, body: hop.replay!() }, attempt, intent);
    }
    const mapped = exchange.mapError(error);
    exchange.finish(mapped);
    throw mapped;
  }

  /** After an attempt: retry, or give the user the response or error. */
  #afterAttempt(
    call: Call,
    attempt: number,
    response: SessionResponse | undefined,
    error: unknown,
    intent: ReadIntent,
  ): SessionResponse | Promise<SessionResponse> {
    const { retry } = call.plan;
    const breaker = this.config.breaker;
    if (breaker !== undefined) {
      recordAttempt(breaker, call, attempt, response, error);
    }
    // Most responses are not retried: decide that before asking retryDelay.
    if (
      attempt >= retry.limit ||
      (response !== undefined && !retry.statusCodes.has(response.status))
    ) {
      return this.#deliver(call, response, error);
    }
    const delay = retryDelay(retry, {
      attempt,
      method: call.plan.method,
      replayable: call.plan.replay !== undefined && !call.aborted,
      status: response?.status,
      retryAfter: response?.headers.get("retry-after"),
      networkError: error instanceof NetworkError,
      remaining: call.remaining(),
    });
    if (
      delay === undefined ||
      (retry.budget !== undefined &&
        !spendRetry(retry.budget, call, attempt, response, error))
    ) {
      return this.#deliver(call, response, error);
    }
    return this.#retryLater(call, attempt, response, error, delay, intent);
  }

  /** Give the user the response (raised by `raiseForStatus`) or the error. */
  #deliver(
    call: Call,
    response: SessionResponse | undefined,
    error: unknown,
  ): SessionResponse | Promise<SessionResponse> {
    call.handOver();
    if (response === undefined) throw error;
    const { raise } = call.plan;
    if (raise === false || (raise === true && response.ok)) return response;
    return raiseForStatus(response, raise, (failure) => call.mapError(failure));
  }

  /** Ask `shouldRetry`, wait, then make the next attempt. */
  async #retryLater(
    call: Call,
    attempt: number,
    response: SessionResponse | undefined,
    error: unknown,
    delay: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    this.inFlight.enter(call);
    try {
      const wait = await askShouldRetry(call, attempt, response, error, delay);
      if (wait === undefined) return this.#deliver(call, response, error);
      if (response !== undefined) await response.dump();
      const reason = response !== undefined ? "status" : "error";
      emitRetry(call, attempt + 1, reason, wait, response, error);
      try {
        await sleep(wait, call);
        admitRetry(this.config.breaker, call, attempt + 1);
      } catch (abort) {
        call.handOver();
        throw call.mapError(abort);
      }
      return await this.#attempt(call, attempt + 1, intent);
    } finally {
      this.inFlight.leave(call);
    }
  }

  /**
   * Close gracefully: new calls are refused, calls in flight finish
   * (bodies nobody reads are aborted; requests waiting for their rate limit
   * fail), then the pool closes.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#pool.rejectRateHeld(
      new SessionClosedError(
        "Session was closed while the request waited for its rate limit",
      ),
    );
    this.#closing = this.inFlight.drain(this.config.unreadMessage).then(
      () => this.#pool.close(),
    );
    return this.#closing;
  }

  /** A session dropped while open: close the pool, without waiting. */
  abandon(): void {
    this.#pool.close().catch(() => {});
  }

  /** Close now: calls in flight and queued reject, the pool drops its sockets. */
  destroy(): Promise<void> {
    this.#closed = true;
    const error = new SessionClosedError("Session was destroyed");
    this.#pool.rejectQueued(error);
    this.inFlight.abortAll(error);
    const destroyed = this.#pool.destroy().then(() => this.inFlight.endAll());
    this.#closing ??= destroyed;
    return destroyed;
  }

  // The runtime's client sends a User-Agent of its own: the session's
  // default is not needed (one header fewer per request).
  #dropDefaultUserAgent(): void {
    const drop = (headers: HeaderRecord): HeaderRecord =>
      headers["user-agent"] === USER_AGENT
        ? withoutHeaders(headers, ["user-agent"])
        : headers;
    const same = this.#foreignHeaders === this.#headers;
    this.#headers = drop(this.#headers);
    this.#foreignHeaders = same ? this.#headers : drop(this.#foreignHeaders);
  }
}

function setCookies(raw: AdapterResponse): string[] {
  return raw.getSetCookie !== undefined
    ? raw.getSetCookie()
    : raw.headers.getSetCookie();
}
