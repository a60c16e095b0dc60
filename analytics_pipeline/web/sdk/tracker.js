/*! @analytics-pipeline/tracker 1.0.0 | Apache-2.0 */
(function () {
"use strict";
const MAX_BATCH_EVENTS = 1000;
const MAX_BATCH_BYTES = 1024 * 1024 - 1024;
const MAX_BEACON_BYTES = 60 * 1024;
const MAX_BACKOFF_MS = 30000;
const BASE_BACKOFF_MS = 500;
const LEASE_MS = 10000;
const BATCH_PATH = "/api/analytics/events/batch";
const uuid = () => typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) => (Number(c) ^ (Math.random() * 16) >> (Number(c) / 4)).toString(16));
function queueName(endpoint, writeKey) {
    let hash = 0x811c9dc5;
    for (const char of `${endpoint}|${writeKey}`) {
        hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    }
    return `analytics-tracker:${hash.toString(16)}`;
}
class MemoryStorage {
    constructor() {
        this.events = new Map();
    }
    async load() {
        return [...this.events.values()];
    }
    async put(events) {
        for (const event of events)
            this.events.set(event.clientEventId, event);
    }
    async remove(ids) {
        for (const id of ids)
            this.events.delete(id);
    }
}
class LocalStorageQueue {
    constructor(key, store = localStorage) {
        this.key = key;
        this.store = store;
    }
    read() {
        try {
            return JSON.parse(this.store.getItem(this.key) || "{}");
        }
        catch {
            return {};
        }
    }
    async load() {
        return Object.values(this.read());
    }
    async put(events) {
        const all = this.read();
        for (const event of events)
            all[event.clientEventId] = event;
        this.store.setItem(this.key, JSON.stringify(all));
    }
    async remove(ids) {
        const all = this.read();
        for (const id of ids)
            delete all[id];
        this.store.setItem(this.key, JSON.stringify(all));
    }
}
class IndexedDbQueue {
    constructor(name) {
        this.db = new Promise((resolve, reject) => {
            const request = indexedDB.open(name, 1);
            request.onupgradeneeded = () => request.result.createObjectStore("events", { keyPath: "clientEventId" });
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
        });
    }
    async run(mode, work) {
        const db = await this.db;
        return new Promise((resolve, reject) => {
            const transaction = db.transaction("events", mode);
            const request = work(transaction.objectStore("events"));
            transaction.oncomplete = () => resolve(request ? request.result : undefined);
            transaction.onerror = () => reject(transaction.error);
            transaction.onabort = () => reject(transaction.error);
        });
    }
    load() {
        return this.run("readonly", (store) => store.getAll());
    }
    put(events) {
        return this.run("readwrite", (store) => {
            for (const event of events)
                store.put(event);
        });
    }
    remove(ids) {
        return this.run("readwrite", (store) => {
            for (const id of ids)
                store.delete(id);
        });
    }
}
class Journal {
    constructor(prefix, store) {
        this.prefix = prefix;
        this.store = store;
    }
    add(event) {
        try {
            this.store?.setItem(`${this.prefix}${event.clientEventId}`, JSON.stringify(event));
        }
        catch {
        }
    }
    drop(ids) {
        for (const id of ids)
            this.store?.removeItem(`${this.prefix}${id}`);
    }
    static all(store, prefix) {
        const found = new Map();
        if (!store)
            return found;
        for (let i = 0; i < store.length; i += 1) {
            const key = store.key(i);
            if (!key || !key.startsWith(prefix))
                continue;
            try {
                found.set(key, JSON.parse(store.getItem(key) || "null"));
            }
            catch {
                store.removeItem(key);
            }
        }
        return found;
    }
}
function localStore() {
    try {
        const store = globalThis.localStorage;
        store.setItem("analytics-tracker:probe", "1");
        store.removeItem("analytics-tracker:probe");
        return store;
    }
    catch {
        return null;
    }
}
function defaultStorage(name, store) {
    if (typeof indexedDB !== "undefined")
        return new IndexedDbQueue(name);
    if (store)
        return new LocalStorageQueue(`${name}:queue`, store);
    return new MemoryStorage();
}
function checkEvent(event) {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
        throw new TypeError("an event is an object");
    }
    for (const field of ["eventType", "userId", "courseId"]) {
        if (typeof event[field] !== "string" || !event[field]) {
            throw new TypeError(`an event needs ${field}, a non-empty string`);
        }
    }
    if (event.properties !== undefined && (typeof event.properties !== "object" || event.properties === null)) {
        throw new TypeError("an event's properties are an object");
    }
}
function retryAfterMs(response) {
    const value = response.headers.get("Retry-After");
    if (!value)
        return 0;
    const seconds = Number(value);
    if (Number.isFinite(seconds))
        return seconds * 1000;
    const when = Date.parse(value);
    return Number.isFinite(when) ? Math.max(0, when - Date.now()) : 0;
}
function retryDelay(attempt, serverMs, random = Math.random) {
    const exponential = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
    return Math.max(serverMs, random() * exponential);
}
function takeBatch(events, maxEvents, maxBytes) {
    const batch = [];
    let bytes = 12; // {"events":[]}
    for (const event of events) {
        const size = JSON.stringify(event).length + 1;
        if (batch.length >= maxEvents || (batch.length > 0 && bytes + size > maxBytes))
            break;
        batch.push(event);
        bytes += size;
    }
    return batch;
}
function createTracker(options) {
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
    const inFlight = new Set();
    const failedIds = new Set();
    let writes = Promise.resolve();
    let attempt = 0;
    let notBefore = 0;
    let stopped = false;
    let closed = false;
    let timer;
    let queued = 0;
    let pumping = null;
    const known = new Map();
    const remember = (events) => {
        for (const event of events)
            known.set(event.clientEventId, event);
    };
    const recovered = Journal.all(journalStore, `${name}:journal:`);
    if (recovered.size) {
        writes = storage.put([...recovered.values()]).then(() => {
            for (const key of recovered.keys())
                store?.removeItem(key);
        });
    }
    let unwritten = [];
    function persist(event) {
        unwritten.push(event);
        if (unwritten.length > 1)
            return;
        writes = writes.then(async () => {
            const batch = unwritten;
            unwritten = [];
            await storage.put(batch);
            journal.drop(batch.map((e) => e.clientEventId));
        });
    }
    function schedule(delay) {
        if (closed || stopped)
            return;
        if (timer !== undefined)
            clearTimeout(timer);
        timer = setTimeout(() => {
            timer = undefined;
            void pump();
        }, Math.max(0, delay));
    }
    async function exclusively(work) {
        const locks = globalThis.navigator?.locks;
        if (locks) {
            await locks.request(`${name}:sender`, { ifAvailable: true }, async (lock) => {
                if (lock)
                    await work();
            });
            return;
        }
        if (!store)
            return work();
        const lease = JSON.parse(store.getItem(`${name}:lease`) || "null");
        if (lease && lease.tab !== tabId && lease.until > Date.now())
            return;
        store.setItem(`${name}:lease`, JSON.stringify({ tab: tabId, until: Date.now() + LEASE_MS }));
        try {
            await work();
        }
        finally {
            store.removeItem(`${name}:lease`);
        }
    }
    async function sendBatch(batch) {
        for (const event of batch)
            inFlight.add(event.clientEventId);
        try {
            let response;
            try {
                response = await send(`${endpoint}${BATCH_PATH}`, {
                    method: "POST",
                    headers: { "Content-Type": "application/json", Authorization: `Bearer ${options.writeKey}` },
                    body: JSON.stringify({ events: batch }),
                    credentials: "omit",
                });
            }
            catch {
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
                await sendBatch(batch.slice(0, Math.ceil(batch.length / 2)));
                return;
            }
            if (!response.ok) {
                const reason = (await response.json().catch(() => ({}))).error || `HTTP ${response.status}`;
                await answered(batch, batch.map((event) => ({ clientEventId: event.clientEventId, reason })));
                return;
            }
            const answer = await response.json();
            attempt = 0;
            notBefore = 0;
            await answered(batch, answer.failed || []);
        }
        finally {
            for (const event of batch)
                inFlight.delete(event.clientEventId);
        }
    }
    async function answered(batch, failed) {
        const reasons = new Map(failed.map((f) => [f.clientEventId, f.reason]));
        await storage.remove(batch.map((event) => event.clientEventId));
        for (const event of batch)
            known.delete(event.clientEventId);
        for (const event of batch) {
            const reason = reasons.get(event.clientEventId);
            if (reason !== undefined && !failedIds.has(event.clientEventId)) {
                failedIds.add(event.clientEventId);
                options.onFailed?.(event, reason);
            }
        }
    }
    function backOff(serverMs) {
        attempt += 1;
        notBefore = Date.now() + retryDelay(attempt, serverMs);
    }
    async function pumpOnce() {
        await writes;
        await exclusively(async () => {
            const loaded = await storage.load();
            const events = loaded.filter((event) => !inFlight.has(event.clientEventId));
            events.sort((a, b) => String(a.occurredAt).localeCompare(String(b.occurredAt)));
            let rest = events;
            while (rest.length && !stopped && Date.now() >= notBefore) {
                const batch = takeBatch(rest, maxBatch, MAX_BATCH_BYTES);
                rest = rest.slice(batch.length);
                await sendBatch(batch);
            }
        });
    }
    function pump() {
        if (!pumping) {
            pumping = pumpOnce().finally(async () => {
                pumping = null;
                const left = (await storage.load()).length;
                queued = left;
                if (left)
                    schedule(Math.max(interval, notBefore - Date.now()));
            });
        }
        return pumping;
    }
    function beacon() {
        if (stopped || typeof navigator === "undefined" || !navigator.sendBeacon)
            return;
        const waiting = [...known.values()].filter((event) => !inFlight.has(event.clientEventId));
        const batch = takeBatch(waiting, maxBatch, MAX_BEACON_BYTES);
        if (!batch.length)
            return;
        const url = `${endpoint}${BATCH_PATH}?key=${encodeURIComponent(options.writeKey)}`;
        navigator.sendBeacon(url, new Blob([JSON.stringify({ events: batch })], { type: "text/plain" }));
    }
    let hidden = false;
    const onHide = () => {
        if (hidden)
            return; // one beacon per hide
        hidden = true;
        beacon();
    };
    const onVisibility = () => {
        if (document.visibilityState === "hidden")
            onHide();
        else
            hidden = false;
    };
    if (typeof addEventListener === "function" && typeof document !== "undefined") {
        addEventListener("pagehide", onHide);
        document.addEventListener("visibilitychange", onVisibility);
    }
    remember([...recovered.values()]);
    void writes.then(() => storage.load()).then((events) => {
        remember(events);
        if (events.length)
            schedule(0);
    });
    return {
        track(event) {
            checkEvent(event);
            const full = {
                ...event,
                clientEventId: event.clientEventId || uuid(),
                occurredAt: event.occurredAt || new Date().toISOString(),
            };
            const id = full.clientEventId;
            journal.add(full);
            known.set(id, full);
            persist(full);
            queued += 1;
            schedule(queued >= maxBatch ? 0 : interval);
            return id;
        },
        async flush() {
            await writes;
            const waiting = new Set((await storage.load()).map((event) => event.clientEventId));
            notBefore = 0; // try at once
            while (!stopped && !closed) {
                await pump();
                const left = (await storage.load()).some((event) => waiting.has(event.clientEventId));
                if (!left)
                    return;
                await new Promise((resolve) => setTimeout(resolve, Math.max(50, notBefore - Date.now())));
            }
        },
        async pendingCount() {
            await writes;
            return (await storage.load()).length;
        },
        close() {
            closed = true;
            if (timer !== undefined)
                clearTimeout(timer);
            if (typeof removeEventListener === "function" && typeof document !== "undefined") {
                removeEventListener("pagehide", onHide);
                document.removeEventListener("visibilitychange", onVisibility);
            }
        },
    };
}

window.AnalyticsTracker = { MemoryStorage, LocalStorageQueue, IndexedDbQueue, retryDelay, createTracker, version: "1.0.0" };
})();
