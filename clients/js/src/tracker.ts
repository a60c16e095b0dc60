/**
 * The analytics-pipeline tracker: learner events from the browser to the platform, nothing
 * lost between them.
 *
 * - `track(event)` persists the event before it returns (a synchronous journal in
 *   localStorage, then the queue in IndexedDB, or localStorage where IndexedDB is missing),
 *   so a reload, a crash of the tab or a navigation loses nothing.
 * - Batches go to `POST {endpoint}/api/analytics/events/batch` with the write key; the server
 *   answers each event accepted, duplicate or failed. Answered events leave the queue; a
 *   failed one goes to `onFailed` and is never sent again.
 * - Network errors, 429, 503 and other 5xx are retried with capped exponential back-off and
 *   jitter, honouring `Retry-After`; a 401 stops sending.
 * - On `pagehide` (or the page hidden) what is queued and not in flight goes out once with
 *   `navigator.sendBeacon`, and stays queued until a later answer confirms it: the server
 *   drops a repeat by its `clientEventId`.
 * - The tabs of one origin share one queue per endpoint and key; one tab sends at a time
 *   (Web Locks, or a lease in localStorage).
 */

export interface AnalyticsEvent {
  eventType: string;
  userId: string;
  courseId: string;
  clientEventId?: string;
  occurredAt?: string;
  lessonId?: string;
  sessionId?: string;
  orgId?: string;
  properties?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface TrackerOptions {
  /** The platform's base URL, e.g. https://analytics.example.org */
  endpoint: string;
  /** An ingestion write key (public: it can only land events). */
  writeKey: string;
  /** How long a partial batch waits before it goes (default 2000 ms). */
  flushIntervalMs?: number;
  /** The most events per request (default and maximum 1000, the server's limit). */
  maxBatchSize?: number;
  /** Called once per event the server refuses as invalid, with its reason. */
  onFailed?: (event: AnalyticsEvent, reason: string) => void;
  /** Called once when the server refuses the write key (401); sending stops. */
  onUnauthorized?: (message: string) => void;
  /** Where the queue lives; by default IndexedDB, else localStorage, else memory. */
  storage?: QueueStorage;
  /** The fetch to send with (default: the global fetch). */
  fetch?: typeof fetch;
}

export interface Tracker {
  /** Queue an event; returns its clientEventId. Throws TypeError for an event that is not one. */
  track(event: AnalyticsEvent): string;
  /** Resolves once every event queued before the call is answered or failed. */
  flush(): Promise<void>;
  /** How many events of this origin, endpoint and key are not answered yet. */
  pendingCount(): Promise<number>;
  /** Stop the timers and listeners (the queue stays). */
  close(): void;
}

export interface QueueStorage {
  load(): Promise<AnalyticsEvent[]>;
  put(events: AnalyticsEvent[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
}

const MAX_BATCH_EVENTS = 1000;
// The server's limit is 1 MiB a request; a little room for the envelope.
const MAX_BATCH_BYTES = 1024 * 1024 - 1024;
// Browsers cap what one beacon may carry at 64 KiB.
const MAX_BEACON_BYTES = 60 * 1024;
const MAX_BACKOFF_MS = 30_000;
const BASE_BACKOFF_MS = 500;
const LEASE_MS = 10_000;
const BATCH_PATH = "/api/analytics/events/batch";

const uuid = (): string =>
  typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
        (Number(c) ^ (Math.random() * 16) >> (Number(c) / 4)).toString(16),
      );

/** A short, stable name for one endpoint and key (the key itself is not stored as a name). */
function queueName(endpoint: string, writeKey: string): string {
  let hash = 0x811c9dc5;
  for (const char of `${endpoint}|${writeKey}`) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return `analytics-tracker:${hash.toString(16)}`;
}

export class MemoryStorage implements QueueStorage {
  private events = new Map<string, AnalyticsEvent>();
  async load(): Promise<AnalyticsEvent[]> {
    return [...this.events.values()];
  }
  async put(events: AnalyticsEvent[]): Promise<void> {
    for (const event of events) this.events.set(event.clientEventId as string, event);
  }
  async remove(ids: string[]): Promise<void> {
    for (const id of ids) this.events.delete(id);
  }
}

/** The queue as one JSON object in localStorage (id -> event). */
export class LocalStorageQueue implements QueueStorage {
  constructor(private readonly key: string, private readonly store: Storage = localStorage) {}
  private read(): Record<string, AnalyticsEvent> {
    try {
      return JSON.parse(this.store.getItem(this.key) || "{}");
    } catch {
      return {};
    }
  }
  async load(): Promise<AnalyticsEvent[]> {
    return Object.values(this.read());
  }
  async put(events: AnalyticsEvent[]): Promise<void> {
    const all = this.read();
    for (const event of events) all[event.clientEventId as string] = event;
    this.store.setItem(this.key, JSON.stringify(all));
  }
  async remove(ids: string[]): Promise<void> {
    const all = this.read();
    for (const id of ids) delete all[id];
    this.store.setItem(this.key, JSON.stringify(all));
  }
}

/** The queue in IndexedDB, one object store of events keyed by their id. */
export class IndexedDbQueue implements QueueStorage {
  private db: Promise<IDBDatabase>;
  constructor(name: string) {
    this.db = new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore("events", { keyPath: "clientEventId" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  private async run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T> | void): Promise<T> {
    const db = await this.db;
    return new Promise((resolve, reject) => {
      const transaction = db.transaction("events", mode);
      const request = work(transaction.objectStore("events"));
      transaction.oncomplete = () => resolve(request ? request.result : (undefined as T));
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }
  load(): Promise<AnalyticsEvent[]> {
    return this.run("readonly", (store) => store.getAll());
  }
  put(events: AnalyticsEvent[]): Promise<void> {
    return this.run("readwrite", (store) => {
      for (const event of events) store.put(event);
    });
  }
  remove(ids: string[]): Promise<void> {
    return this.run("readwrite", (store) => {
      for (const id of ids) store.delete(id);
    });
  }
}

/**
 * localStorage is written synchronously: an event is in the journal (one key per event, so a
 * write costs the same however long the queue) before `track` returns, and leaves it once the
 * queue (IndexedDB) holds it. A journal left by a tab that closed or crashed is moved into the
 * queue by the next tracker of the origin.
 */
class Journal {
  constructor(private readonly prefix: string, private readonly store: Storage | null) {}
  add(event: AnalyticsEvent): void {
    try {
      this.store?.setItem(`${this.prefix}${event.clientEventId}`, JSON.stringify(event));
    } catch {
      // Full or unavailable: the queue's own write still persists the event.
    }
  }
  drop(ids: string[]): void {
    for (const id of ids) this.store?.removeItem(`${this.prefix}${id}`);
  }
  /** Every journal entry of this queue, this tab's and those left by others, by key. */
  static all(store: Storage | null, prefix: string): Map<string, AnalyticsEvent> {
    const found = new Map<string, AnalyticsEvent>();
    if (!store) return found;
    for (let i = 0; i < store.length; i += 1) {
      const key = store.key(i);
      if (!key || !key.startsWith(prefix)) continue;
      try {
        found.set(key, JSON.parse(store.getItem(key) || "null"));
      } catch {
        store.removeItem(key);
      }
    }
    return found;
  }
}

function localStore(): Storage | null {
  try {
    const store = globalThis.localStorage;
    store.setItem("analytics-tracker:probe", "1");
    store.removeItem("analytics-tracker:probe");
    return store;
  } catch {
    return null;
  }
}

function defaultStorage(name: string, store: Storage | null): QueueStorage {
  if (typeof indexedDB !== "undefined") return new IndexedDbQueue(name);
  if (store) return new LocalStorageQueue(`${name}:queue`, store);
  return new MemoryStorage();
}

function checkEvent(event: AnalyticsEvent): void {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new TypeError("an event is an object");
  }
  for (const field of ["eventType", "userId", "courseId"]) {
    if (typeof event[field] !== "string" || !(event[field] as string)) {
      throw new TypeError(`an event needs ${field}, a non-empty string`);
    }
  }
  if (event.properties !== undefined && (typeof event.properties !== "object" || event.properties === null)) {
    throw new TypeError("an event's properties are an object");
  }
}

function retryAfterMs(response: Response): number {
  const value = response.headers.get("Retry-After");
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const when = Date.parse(value);
  return Number.isFinite(when) ? Math.max(0, when - Date.now()) : 0;
}

/**
 * How long to wait before the `attempt`th retry: exponential back-off with full jitter, capped
 * at 30 s, and never less than the server asked for (Retry-After).
 */
export function retryDelay(attempt: number, serverMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
  return Math.max(serverMs, random() * exponential);
}

/** Events in order, as many as fit one request. */
function takeBatch(events: AnalyticsEvent[], maxEvents: number, maxBytes: number): AnalyticsEvent[] {
  const batch: AnalyticsEvent[] = [];
  let bytes = 12; // {"events":[]}
  for (const event of events) {
    const size = JSON.stringify(event).length + 1;
    if (batch.length >= maxEvents || (batch.length > 0 && bytes + size > maxBytes)) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}

export function createTracker(options: TrackerOptions): Tracker {
  const endpoint = options.endpoint.replace(/\/+$/, "");
  const name = queueName(endpoint, options.writeKey);
  const store = localStore();
  const storage = options.storage ?? defaultStorage(name, store);
  const tabId = uuid();
  const journalStore = options.storage ? null : store;
  const journal = new Journal(`${name}:journal:${tabId}:`, journalStore);
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const interval = options.flushIntervalMs ?? 2000;
  const maxBatch = Math.min(options.maxBatchSize ?? MAX_BATCH_EVENTS, MAX_BATCH_EVENTS);
  const inFlight = new Set<string>();
  const failedIds = new Set<string>();
  let writes: Promise<unknown> = Promise.resolve();
  let attempt = 0;
  let notBefore = 0;
  let stopped = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let queued = 0;
  let pumping: Promise<void> | null = null;
  // The events this page is answerable for (tracked here, or left by a page of the origin that
  // went away), kept in memory: the page-hide beacon must go out in the event's own handler,
  // with no time to read the queue back from IndexedDB. Another open tab's events are its own.
  const known = new Map<string, AnalyticsEvent>();
  const remember = (events: AnalyticsEvent[]): void => {
    for (const event of events) known.set(event.clientEventId as string, event);
  };

  // Journals left behind (a reload before the queue's write committed, a crash) join the queue.
  const recovered = Journal.all(journalStore, `${name}:journal:`);
  if (recovered.size) {
    writes = storage.put([...recovered.values()]).then(() => {
      for (const key of recovered.keys()) store?.removeItem(key);
    });
  }
  // Events tracked in one turn of the event loop reach the queue in one write.
  let unwritten: AnalyticsEvent[] = [];
  function persist(event: AnalyticsEvent): void {
    unwritten.push(event);
    if (unwritten.length > 1) return;
    writes = writes.then(async () => {
      const batch = unwritten;
      unwritten = [];
      await storage.put(batch);
      journal.drop(batch.map((e) => e.clientEventId as string));
    });
  }

  function schedule(delay: number): void {
    if (closed || stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void pump();
    }, Math.max(0, delay));
  }

  /** One tab of the origin sends at a time: the others only queue. */
  async function exclusively(work: () => Promise<void>): Promise<void> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (locks) {
      await locks.request(`${name}:sender`, { ifAvailable: true }, async (lock) => {
        if (lock) await work();
      });
      return;
    }
    if (!store) return work();
    const lease = JSON.parse(store.getItem(`${name}:lease`) || "null");
    if (lease && lease.tab !== tabId && lease.until > Date.now()) return;
    store.setItem(`${name}:lease`, JSON.stringify({ tab: tabId, until: Date.now() + LEASE_MS }));
    try {
      await work();
    } finally {
      store.removeItem(`${name}:lease`);
    }
  }

  async function sendBatch(batch: AnalyticsEvent[]): Promise<void> {
    for (const event of batch) inFlight.add(event.clientEventId as string);
    try {
      let response: Response;
      try {
        response = await send(`${endpoint}${BATCH_PATH}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${options.writeKey}` },
          body: JSON.stringify({ events: batch }),
          credentials: "omit",
        });
      } catch {
        backOff(0);
        return;
      }
      if (response.status === 401) {
        stopped = true;
        options.onUnauthorized?.((await response.json().catch(() => ({}))).error || "the write key was refused");
        return;
      }
      if (response.status === 429 || response.status >= 500) {
        backOff(retryAfterMs(response));
        return;
      }
      if (response.status === 413 && batch.length > 1) {
        // Smaller batches get through: the first half now, the rest on the next round.
        await sendBatch(batch.slice(0, Math.ceil(batch.length / 2)));
        return;
      }
      if (!response.ok) {
        const reason = (await response.json().catch(() => ({}))).error || `HTTP ${response.status}`;
        await answered(batch, batch.map((event) => ({ clientEventId: event.clientEventId as string, reason })));
        return;
      }
      const answer = await response.json();
      attempt = 0;
      notBefore = 0;
      await answered(batch, answer.failed || []);
    } finally {
      for (const event of batch) inFlight.delete(event.clientEventId as string);
    }
  }

  async function answered(batch: AnalyticsEvent[], failed: Array<{ clientEventId: string; reason: string }>) {
    const reasons = new Map(failed.map((f) => [f.clientEventId, f.reason]));
    await storage.remove(batch.map((event) => event.clientEventId as string));
    for (const event of batch) known.delete(event.clientEventId as string);
    for (const event of batch) {
      const reason = reasons.get(event.clientEventId as string);
      if (reason !== undefined && !failedIds.has(event.clientEventId as string)) {
        failedIds.add(event.clientEventId as string);
        options.onFailed?.(event, reason);
      }
    }
  }

  function backOff(serverMs: number): void {
    attempt += 1;
    notBefore = Date.now() + retryDelay(attempt, serverMs);
  }

  async function pumpOnce(): Promise<void> {
    await writes;
    await exclusively(async () => {
      const loaded = await storage.load();
      const events = loaded.filter((event) => !inFlight.has(event.clientEventId as string));
      events.sort((a, b) => String(a.occurredAt).localeCompare(String(b.occurredAt)));
      let rest = events;
      while (rest.length && !stopped && Date.now() >= notBefore) {
        const batch = takeBatch(rest, maxBatch, MAX_BATCH_BYTES);
        rest = rest.slice(batch.length);
        await sendBatch(batch);
      }
    });
  }

  /** Send what is queued (or wait for the round already sending), then plan the next round. */
  function pump(): Promise<void> {
    if (!pumping) {
      pumping = pumpOnce().finally(async () => {
        pumping = null;
        const left = (await storage.load()).length;
        queued = left;
        if (left) schedule(Math.max(interval, notBefore - Date.now()));
      });
    }
    return pumping;
  }

  function beacon(): void {
    if (stopped || typeof navigator === "undefined" || !navigator.sendBeacon) return;
    const waiting = [...known.values()].filter((event) => !inFlight.has(event.clientEventId as string));
    const batch = takeBatch(waiting, maxBatch, MAX_BEACON_BYTES);
    if (!batch.length) return;
    const url = `${endpoint}${BATCH_PATH}?key=${encodeURIComponent(options.writeKey)}`;
    navigator.sendBeacon(url, new Blob([JSON.stringify({ events: batch })], { type: "text/plain" }));
  }

  let hidden = false;
  const onHide = (): void => {
    if (hidden) return; // one beacon per hide
    hidden = true;
    beacon();
  };
  const onVisibility = (): void => {
    if (document.visibilityState === "hidden") onHide();
    else hidden = false;
  };
  if (typeof addEventListener === "function" && typeof document !== "undefined") {
    addEventListener("pagehide", onHide);
    document.addEventListener("visibilitychange", onVisibility);
  }

  remember([...recovered.values()]);
  void writes.then(() => storage.load()).then((events) => {
    remember(events);
    if (events.length) schedule(0);
  });

  return {
    track(event: AnalyticsEvent): string {
      checkEvent(event);
      const full: AnalyticsEvent = {
        ...event,
        clientEventId: event.clientEventId || uuid(),
        occurredAt: event.occurredAt || new Date().toISOString(),
      };
      const id = full.clientEventId as string;
      journal.add(full);
      known.set(id, full);
      persist(full);
      queued += 1;
      schedule(queued >= maxBatch ? 0 : interval);
      return id;
    },
    async flush(): Promise<void> {
      await writes;
      const waiting = new Set((await storage.load()).map((event) => event.clientEventId as string));
      notBefore = 0; // try at once
      while (!stopped && !closed) {
        await pump();
        const left = (await storage.load()).some((event) => waiting.has(event.clientEventId as string));
        if (!left) return;
        await new Promise((resolve) => setTimeout(resolve, Math.max(50, notBefore - Date.now())));
      }
    },
    async pendingCount(): Promise<number> {
      await writes;
      return (await storage.load()).length;
    },
    close(): void {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (typeof removeEventListener === "function" && typeof document !== "undefined") {
        removeEventListener("pagehide", onHide);
        document.removeEventListener("visibilitychange", onVisibility);
      }
    },
  };
}
