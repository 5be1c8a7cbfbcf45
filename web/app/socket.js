// @ts-check
// Owns the websocket: one per page, authenticated by the session cookie at upgrade.
//
// Reconnection: on a drop the client retries with exponential backoff (0.5 s doubling
// to 5 s, with jitter), presenting its connection id and the next sequence number it
// expects. If the node still has the connection's backlog, the missed events are
// replayed and no `hello` comes; otherwise (another node, or the backlog expired) a
// `hello` with a new connection id arrives and the app refetches what it may have
// missed (onResync). Events must arrive with contiguous `seq`; a gap closes the socket
// and resumes from the last good one.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 5000;
const PING_INTERVAL_MS = 30000;

/** @typedef {import('./types.js').SocketEvent} SocketEvent */
/**
 * @typedef {object} SocketHandlers
 * @property {(event: SocketEvent) => void} onEvent
 * @property {(status: 'connecting' | 'connected' | 'reconnecting') => void} [onStatus]
 * @property {() => void} [onResync]
 * @property {() => void} [onReconnected]
 * @property {() => void} [onAuthFailed]
 */

export class Socket {
    /**
     * handlers: onEvent(event), onStatus('connecting'|'connected'|'reconnecting'),
     * onResync() after a hello on a new connection that follows an earlier one,
     * onReconnected() after any reconnection (resumed or new), onAuthFailed().
     * @param {SocketHandlers} handlers
     */
    constructor(handlers) {
        this.handlers = handlers;
        /** @type {WebSocket | null} */
        this.ws = null;
        this.connectionId = '';
        this.nextSeq = 0;
        this.attempt = 0;
        this.everConnected = false;
        this.stopped = true;
        /** @type {ReturnType<typeof setTimeout> | null} */
        this.timer = null;
        /** @type {ReturnType<typeof setInterval> | null} */
        this.pingTimer = null;
        this.awaitingPong = false;
        this.actionSeq = 1;
        /** @type {'connecting' | 'connected' | 'reconnecting'} */
        this.status = 'connecting';
        this.onOnline = () => this.reconnectSoon(0);
    }

    start() {
        if (!this.stopped) {
            return;
        }
        this.stopped = false;
        window.addEventListener('online', this.onOnline);
        this.connect();
    }

    stop() {
        this.stopped = true;
        window.removeEventListener('online', this.onOnline);
        clearTimeout(this.timer);
        clearInterval(this.pingTimer);
        if (this.ws) {
            this.ws.onclose = null;
            this.ws.close(1000);
            this.ws = null;
        }
    }

    /** @param {'connecting' | 'connected' | 'reconnecting'} status */
    setStatus(status) {
        if (this.status !== status) {
            this.status = status;
            this.handlers.onStatus?.(status);
        }
    }

    url() {
        const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
        let url = `${proto}//${location.host}/api/v4/websocket`;
        if (this.connectionId) {
            url += `?connection_id=${encodeURIComponent(this.connectionId)}&sequence_number=${this.nextSeq}`;
        }
        return url;
    }

    connect() {
        clearTimeout(this.timer);
        if (this.stopped) {
            return;
        }
        let opened = false;
        const ws = new WebSocket(this.url());
        this.ws = ws;
        ws.onopen = () => {
            opened = true;
            this.awaitingPong = false;
            clearInterval(this.pingTimer);
            this.pingTimer = setInterval(() => this.ping(), PING_INTERVAL_MS);
            this.setStatus('connected');
            if (this.everConnected && this.connectionId) {
                this.handlers.onReconnected?.();
            }
        };
        ws.onmessage = (message) => this.receive(message.data);
        ws.onclose = () => {
            clearInterval(this.pingTimer);
            if (this.ws !== ws) {
                return;
            }
            this.ws = null;
            if (this.stopped) {
                return;
            }
            this.setStatus('reconnecting');
            if (!opened) {
                // Refused at upgrade: maybe the session ended. Let the app check.
                this.handlers.onAuthFailed?.();
            }
            const delay = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
            this.attempt += 1;
            this.reconnectSoon(delay * (0.5 + Math.random() * 0.5));
        };
    }

    /** @param {number} delay ms */
    reconnectSoon(delay) {
        if (this.stopped) {
            return;
        }
        clearTimeout(this.timer);
        if (this.ws && delay === 0) {
            return; // a socket is open or opening
        }
        this.timer = setTimeout(() => this.connect(), delay);
    }

    /** Drops the socket now (and reconnects); for seq gaps and dead connections. */
    drop(code = 4000) {
        if (this.ws) {
            this.ws.close(code);
        }
    }

    /** @param {string} text */
    receive(text) {
        /** @type {SocketEvent} */
        let msg;
        try {
            msg = JSON.parse(text);
        } catch {
            return;
        }
        if (msg.seq_reply !== undefined) {
            this.awaitingPong = false;
            return;
        }
        if (typeof msg.event !== 'string') {
            return;
        }
        this.attempt = 0;
        if (msg.event === 'hello') {
            const fresh = msg.data?.connection_id !== this.connectionId;
            const resync = fresh && this.everConnected;
            this.connectionId = msg.data?.connection_id || '';
            this.nextSeq = (msg.seq ?? 0) + 1;
            this.everConnected = true;
            this.handlers.onEvent(msg);
            if (resync) {
                this.handlers.onResync?.();
            }
            return;
        }
        if (typeof msg.seq === 'number' && msg.seq !== this.nextSeq) {
            // A gap (or a repeat): reconnect and resume from the last event we have.
            if (msg.seq < this.nextSeq) {
                return;
            }
            this.drop(4001);
            return;
        }
        if (typeof msg.seq === 'number') {
            this.nextSeq = msg.seq + 1;
        }
        this.handlers.onEvent(msg);
    }

    /**
     * Sends an action; false when no socket is open.
     * @param {string} action
     * @param {Record<string, unknown>} [data]
     */
    send(action, data = {}) {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
            return false;
        }
        this.actionSeq += 1;
        this.ws.send(JSON.stringify({ action, seq: this.actionSeq, data }));
        return true;
    }

    ping() {
        if (this.awaitingPong) {
            // No answer since the last ping: the connection is dead.
            this.drop(4000);
            return;
        }
        if (this.send('ping')) {
            this.awaitingPong = true;
        }
    }
}
