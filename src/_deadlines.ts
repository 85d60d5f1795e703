/**
 * One timer for every request deadline in the process.
 *
 * A timer per request costs a runtime call to arm and another to clear; on
 * Deno that was measured at several microseconds a request. Requests with
 * the same timeout expire in the order they started, so each distinct
 * timeout keeps a FIFO list, and one unref'd timer is armed for the earliest
 * deadline of all lists. Cancelling only marks an entry; finished entries at
 * the head are dropped when the next one is added, a list with nothing live
 * is dropped at once, and a long list is compacted when mostly dead, so
 * memory stays proportional to the requests in flight.
 *
 * @module
 */
import { MAX_TIMER, unrefTimer } from "./_timers.ts";

/** Called when a deadline passes. */
export interface DeadlineTarget {
  onDeadline(): void;
}

interface List {
  timeout: number;
  items: Deadline[];
  head: number;
  live: number;
}

/** A deadline handle; pass it to {@linkcode cancelDeadline}. */
export interface Deadline {
  readonly at: number;
  target: DeadlineTarget | undefined;
  readonly list: List;
}

const lists = new Map<number, List>();
let timer: ReturnType<typeof setTimeout> | undefined;
let timerAt = Infinity;
// Deadlines not yet cancelled or fired, over all lists (at 0: no timer).
let total = 0;

/** Call `target.onDeadline()` once `timeout` ms have passed, unless cancelled. */
export function addDeadline(
  timeout: number,
  target: DeadlineTarget,
): Deadline {
  const list = lists.get(timeout) ?? newList(timeout);
  const deadline: Deadline = {
    at: performance.now() + timeout,
    target,
    list,
  };
  // Finished entries at the head go at once (FIFO: requests with the same
  // timeout mostly finish in order); the rest is compacted now and then.
  const items = list.items;
  let head = list.head;
  while (head < items.length && items[head].target === undefined) head++;
  list.head = head;
  if (head > 1024 || items.length - head > 1024) tidy(list);
  list.items.push(deadline);
  list.live++;
  total++;
  if (deadline.at < timerAt) arm(deadline.at);
  return deadline;
}

/** Cancel a deadline. Idempotent. */
export function cancelDeadline(deadline: Deadline): void {
  if (deadline.target === undefined) return;
  deadline.target = undefined;
  const list = deadline.list;
  if (--list.live === 0) dropList(list);
  if (--total === 0) disarm();
}

function newList(timeout: number): List {
  const list: List = { timeout, items: [], head: 0, live: 0 };
  lists.set(timeout, list);
  return list;
}

// A list with nothing live goes: timeouts that vary per request must not
// pile up.
function dropList(list: List): void {
  if (lists.get(list.timeout) === list) lists.delete(list.timeout);
  list.items = [];
  list.head = 0;
}

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  const delay = Math.min(
    MAX_TIMER,
    Math.max(0, Math.ceil(at - performance.now())),
  );
  timer = setTimeout(run, delay);
  unrefTimer(timer);
}

// No deadline left: no timer either, so none outlives the requests (Deno's
// test sanitizers check this, and so would users' tests).
function disarm(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  timerAt = Infinity;
}

// Keep a long list's memory proportional to its live deadlines: drop the
// consumed head, or the dead behind a long-running request.
function tidy(list: List): void {
  const items = list.items;
  const head = list.head;
  const pending = items.length - head;
  if (head * 2 > items.length) {
    list.items = items.slice(head);
    list.head = 0;
  } else if (pending > 1024 && list.live * 2 < pending) {
    list.items = items.filter((item, index) =>
      index >= head && item.target !== undefined
    );
    list.head = 0;
  }
}

function run(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const list of lists.values()) {
    // Re-read list.items: a target may cancel others and compact the list.
    while (list.head < list.items.length) {
      const deadline = list.items[list.head];
      const target = deadline.target;
      if (target !== undefined && deadline.at > now) {
        if (deadline.at < next) next = deadline.at;
        break;
      }
      list.head++;
      if (target === undefined) continue;
      deadline.target = undefined;
      list.live--;
      total--;
      try {
        target.onDeadline();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (list.live === 0) dropList(list);
    else tidy(list);
  }
  if (next < timerAt && total > 0) arm(next);
}

/** For tests: how many lists and entries the deadline queue holds. */
export function _deadlineStats(): { lists: number; entries: number } {
  let entries = 0;
  for (const list of lists.values()) entries += list.items.length;
  return { lists: lists.size, entries };
}
