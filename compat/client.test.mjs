// API-compatibility test: drives a real, freshly spawned Chorus server with the
// official Mattermost JavaScript client (@mattermost/client, pinned to 11.9.0).
//
// Run:   cd compat && npm ci && npm test
// Env:   CHORUS_BIN   path of the server binary (default: ../target/debug/chorus,
//                     relative to this folder; a relative CHORUS_BIN is taken
//                     relative to the current directory).
//        CHORUS_COMPAT_SERVER_LOG=1  always print the server's output at the end
//                     (it is printed anyway when a step failed).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

import WS from 'ws';
// @mattermost/client is CommonJS and exports Client4 / WebSocketClient through
// getters that Node's CJS named-export detection cannot see, so
// `import { Client4 } from '@mattermost/client'` yields undefined. Take them
// from the default export (module.exports) instead.
import mattermostClient from '@mattermost/client';

const { Client4, WebSocketClient, ClientError } = mattermostClient;

// ---------------------------------------------------------------------------
// Node 20 has neither a global WebSocket nor a global CloseEvent.
// WebSocketClient constructs sockets through config.newWebSocketFn (we pass
// `ws`), but it still reads the global `WebSocket.OPEN` in close(), ping() and
// sendMessage(), and builds `new CloseEvent(...)` on a seq mismatch / ping
// timeout. Provide both.
if (typeof globalThis.WebSocket === 'undefined') {
    globalThis.WebSocket = WS;
}
if (typeof globalThis.CloseEvent === 'undefined') {
    globalThis.CloseEvent = class CloseEvent extends Event {
        constructor(type, init = {}) {
            super(type);
            this.code = init.code ?? 0;
            this.reason = init.reason ?? '';
            this.wasClean = Boolean(init.wasClean);
        }
    };
}

// ---------------------------------------------------------------------------
// Settings

const COMPAT_DIR = path.dirname(fileURLToPath(import.meta.url));
const CHORUS_BIN = process.env.CHORUS_BIN ?
    path.resolve(process.cwd(), process.env.CHORUS_BIN) :
    path.resolve(COMPAT_DIR, '../target/debug/chorus');

const STARTUP_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 30_000; // per test; generous, nothing here is timed
const CALL_TIMEOUT_MS = 15_000; // per awaited client call / event
const ID_RE = /^[a-z0-9]{26}$/;

const suffix = randomBytes(4).toString('hex'); // lowercase, keeps names unique
const PASSWORD = 'Chorus-compat-Passw0rd!';

// ---------------------------------------------------------------------------
// Helpers

/** Reject after `ms` with a message naming what was awaited. */
function withTimeout(promise, label, ms = CALL_TIMEOUT_MS) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Await a client call with a timeout; the label shows up in failures. */
function call(label, fn) {
    return withTimeout(Promise.resolve().then(fn), label);
}

/** Assert that `promise` rejects with a ClientError and return the error. */
async function expectClientError(label, promise) {
    let err;
    try {
        const value = await withTimeout(promise, label);
        assert.fail(`${label}: expected a ClientError, got success: ${JSON.stringify(value)}`);
    } catch (e) {
        if (e instanceof assert.AssertionError) {
            throw e;
        }
        err = e;
    }
    assert.ok(err instanceof ClientError,
        `${label}: expected ClientError, got ${err?.constructor?.name}: ${err?.message}`);
    return err;
}

function newClient(url, token) {
    const client = new Client4();
    client.setUrl(url);
    if (token) {
        client.setToken(token);
    }
    return client;
}

/**
 * A real HTTP integration on loopback for the server to call: records each request
 * (headers, form fields or JSON) and answers `answer(request)` as JSON.
 */
async function startIntegration(answer) {
    const requests = [];
    const waiting = [];
    const httpServer = http.createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk) => { body += chunk; });
        req.on('end', () => {
            const isJson = (req.headers['content-type'] || '').startsWith('application/json');
            const request = {
                headers: req.headers,
                form: new URLSearchParams(isJson ? '' : body),
                json: isJson ? JSON.parse(body) : null,
            };
            requests.push(request);
            waiting.splice(0).forEach((wake) => wake());
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(answer(request)));
        });
    });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    let seen = 0;
    return {
        url: `http://127.0.0.1:${httpServer.address().port}`,
        requests,
        async next() {
            while (requests.length <= seen) {
                await new Promise((wake) => waiting.push(wake));
            }
            return requests[seen++];
        },
        close: () => new Promise((resolve) => httpServer.close(resolve)),
    };
}

let anyStepFailed = false;

/** it() whose failure also marks the run as failed (to dump the server log). */
function step(name, fn) {
    it(name, { timeout: STEP_TIMEOUT_MS }, async (t) => {
        try {
            await fn(t);
        } catch (e) {
            anyStepFailed = true;
            throw e;
        }
    });
}

// ---------------------------------------------------------------------------
// The server process

const server = {
    proc: null,
    tmpDir: null,
    url: null,
    port: null,
    log: [], // last lines of stdout/stderr
    stderr: '',
};

function remember(stream, line) {
    server.log.push(`[${stream}] ${line}`);
    if (server.log.length > 400) {
        server.log.splice(0, server.log.length - 400);
    }
}

function startServer() {
    if (!fs.existsSync(CHORUS_BIN)) {
        throw new Error(`Chorus server binary not found at ${CHORUS_BIN} ` +
            '(build it with `cargo build`, or set CHORUS_BIN)');
    }
    server.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-compat-'));
    const proc = spawn(CHORUS_BIN, ['server'], {
        cwd: server.tmpDir,
        env: {
            ...process.env,
            CHORUS_SERVICESETTINGS_LISTENADDRESS: '127.0.0.1:0',
            CHORUS_SERVICESETTINGS_ENABLEUSERACCESSTOKENS: 'true',
            CHORUS_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION: 'true',
            // Steps 16 and 17 call an integration on loopback.
            CHORUS_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS: '127.0.0.1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.proc = proc;

    // Last resort: never leave a server behind if this process dies abruptly.
    process.once('exit', () => {
        if (proc.exitCode === null && proc.signalCode === null) {
            proc.kill('SIGKILL');
        }
    });

    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
        server.stderr = (server.stderr + chunk).slice(-64 * 1024);
    });
    readline.createInterface({ input: proc.stderr }).on('line', (l) => remember('stderr', l));

    return new Promise((resolve, reject) => {
        let settled = false;
        const finish = (err, url) => {
            if (settled) {
                return;
            }
            settled = true;
            clearTimeout(timer);
            if (err) {
                reject(err);
            } else {
                resolve(url);
            }
        };
        const timer = setTimeout(() => {
            finish(new Error(`server did not print its listening line within ${STARTUP_TIMEOUT_MS} ms.\n` +
                `stderr:\n${server.stderr}`));
        }, STARTUP_TIMEOUT_MS);

        readline.createInterface({ input: proc.stdout }).on('line', (line) => {
            remember('stdout', line);
            const m = /^Chorus server listening on (http:\/\/127\.0\.0\.1:(\d+))\s*$/.exec(line);
            if (m) {
                server.port = Number(m[2]);
                finish(null, m[1]);
            }
        });
        proc.on('error', (err) => finish(new Error(`could not start ${CHORUS_BIN}: ${err.message}`)));
        proc.on('exit', (code, signal) => {
            // Give the stderr pipe a moment to drain before reporting.
            setTimeout(() => finish(new Error(
                `server exited (code ${code}, signal ${signal}) before it was ready.\n` +
                `stderr:\n${server.stderr}`)), 100);
        });
    });
}

function waitForExit(proc, ms) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
        return Promise.resolve(true);
    }
    return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        proc.once('exit', () => {
            clearTimeout(timer);
            resolve(true);
        });
    });
}

async function stopServer() {
    const proc = server.proc;
    if (proc) {
        if (proc.exitCode === null && proc.signalCode === null) {
            proc.kill('SIGTERM');
            if (!(await waitForExit(proc, 5000))) {
                proc.kill('SIGKILL');
                await waitForExit(proc, 5000);
            }
        }
        proc.stdout?.destroy();
        proc.stderr?.destroy();
    }
    if (server.tmpDir) {
        fs.rmSync(server.tmpDir, { recursive: true, force: true });
        server.tmpDir = null;
    }
}

// ---------------------------------------------------------------------------
// WebSocketClient helpers

/**
 * Close a WebSocketClient for good. close() stops the ping interval, clears a
 * pending reconnect timer and detaches onclose before closing, but only closes
 * a socket that is OPEN; a socket still CONNECTING keeps its onclose (which
 * would schedule a reconnect), so detach and terminate that one by hand.
 */
function closeWebSocketForGood(wsClient) {
    if (!wsClient) {
        return;
    }
    wsClient.close();
    const conn = wsClient.conn;
    if (conn) {
        conn.onclose = () => {};
        conn.onerror = () => {};
        conn.onmessage = () => {};
        try {
            conn.terminate?.();
        } catch {
            // already gone
        }
        wsClient.conn = null;
    }
    wsClient.clearReconnectTimeout();
    wsClient.stopPingInterval();
}

// ---------------------------------------------------------------------------
// Shared state between the ordered steps

const s = {
    a: null, // { client, user, username }
    b: null,
    team: null,
    channel: null,
    root: null,
    reply: null,
    wsClient: null,
};

function need(...keys) {
    for (const k of keys) {
        assert.ok(s[k], `an earlier step did not produce "${k}"`);
    }
}

// ---------------------------------------------------------------------------

describe('Chorus speaks Mattermost API v4 to @mattermost/client 11.9.0', () => {
    before(async () => {
        server.url = await startServer();
    }, { timeout: STARTUP_TIMEOUT_MS + 10_000 });

    after(async () => {
        closeWebSocketForGood(s.wsClient);
        await stopServer();
        if (anyStepFailed || process.env.CHORUS_COMPAT_SERVER_LOG) {
            process.stderr.write(`\n----- Chorus server output (last ${server.log.length} lines) -----\n` +
                `${server.log.join('\n')}\n----- end of server output -----\n`);
        }
    }, { timeout: 20_000 });

    step('1. users: createUser, login sets the token, getMe', async () => {
        const anon = newClient(server.url);
        const mk = (who) => ({
            email: `${who}-${suffix}@example.com`,
            username: `${who}${suffix}`,
            password: PASSWORD,
        });
        const aIn = mk('alice');
        const bIn = mk('bob');

        const userA = await call('createUser(A)', () => anon.createUser(aIn));
        assert.equal(typeof userA, 'object', `createUser returned ${typeof userA}: ${JSON.stringify(userA)} ` +
            '(Client4 parses JSON only when Content-Type is exactly application/json)');
        assert.match(userA.id, ID_RE);
        assert.equal(userA.username, aIn.username);
        assert.equal(userA.email, aIn.email);
        assert.ok(!userA.password, 'createUser must not return the password (hash)');

        const userB = await call('createUser(B)', () => anon.createUser(bIn));
        assert.match(userB.id, ID_RE);
        assert.notEqual(userB.id, userA.id);
        assert.equal(userB.username, bIn.username);

        const clientA = newClient(server.url);
        assert.equal(clientA.getToken(), '');
        const loggedA = await call('login(A)', () => clientA.login(aIn.username, PASSWORD));
        assert.equal(loggedA.id, userA.id);
        assert.ok(!loggedA.password, 'login must not return the password (hash)');
        assert.ok(clientA.getToken(), 'login did not set a token: the response lacks the "Token" header');
        assert.equal(typeof clientA.getToken(), 'string');

        const meA = await call('getMe(A)', () => clientA.getMe());
        assert.equal(meA.id, userA.id);
        assert.equal(meA.username, aIn.username);

        const clientB = newClient(server.url);
        const loggedB = await call('login(B)', () => clientB.login(bIn.username, PASSWORD));
        assert.equal(loggedB.id, userB.id);
        assert.ok(clientB.getToken(), 'login(B) did not set a token');
        assert.notEqual(clientB.getToken(), clientA.getToken());
        const meB = await call('getMe(B)', () => clientB.getMe());
        assert.equal(meB.id, userB.id);

        s.a = { client: clientA, user: userA, username: aIn.username };
        s.b = { client: clientB, user: userB, username: bIn.username };
    });

    step('2. teams: createTeam, addToTeam, getTeam, getTeamByName, getMyTeams', async () => {
        need('a', 'b');
        const { client } = s.a;
        const name = `team-${suffix}`;

        const team = await call('createTeam', () => client.createTeam({
            name,
            display_name: `Team ${suffix}`,
            type: 'O',
        }));
        assert.match(team.id, ID_RE);
        assert.equal(team.name, name);
        assert.equal(team.display_name, `Team ${suffix}`);
        assert.equal(team.type, 'O');

        const member = await call('addToTeam(B)', () => client.addToTeam(team.id, s.b.user.id));
        assert.equal(member.team_id, team.id);
        assert.equal(member.user_id, s.b.user.id);

        const got = await call('getTeam', () => client.getTeam(team.id));
        assert.equal(got.id, team.id);
        assert.equal(got.name, name);

        const byName = await call('getTeamByName', () => client.getTeamByName(name));
        assert.equal(byName.id, team.id);

        const mineA = await call('getMyTeams(A)', () => client.getMyTeams());
        assert.ok(Array.isArray(mineA), `getMyTeams returned ${JSON.stringify(mineA)}`);
        assert.ok(mineA.some((t) => t.id === team.id), 'A\'s teams lack the new team');

        const mineB = await call('getMyTeams(B)', () => s.b.client.getMyTeams());
        assert.ok(Array.isArray(mineB));
        assert.ok(mineB.some((t) => t.id === team.id), 'B was added to the team but getMyTeams(B) lacks it');

        s.team = team;
    });

    step('3. channels: createChannel, addToChannel, getChannel, getChannelByName', async () => {
        need('a', 'b', 'team');
        const { client } = s.a;
        const name = `chan-${suffix}`;

        const channel = await call('createChannel', () => client.createChannel({
            team_id: s.team.id,
            name,
            display_name: `Channel ${suffix}`,
            type: 'O',
        }));
        assert.match(channel.id, ID_RE);
        assert.equal(channel.team_id, s.team.id);
        assert.equal(channel.name, name);
        assert.equal(channel.display_name, `Channel ${suffix}`);
        assert.equal(channel.type, 'O');

        const member = await call('addToChannel(B)', () => client.addToChannel(s.b.user.id, channel.id));
        assert.equal(member.channel_id, channel.id);
        assert.equal(member.user_id, s.b.user.id);

        const got = await call('getChannel', () => client.getChannel(channel.id));
        assert.equal(got.id, channel.id);
        assert.equal(got.name, name);

        // Client4 appends ?include_deleted=false here.
        const byName = await call('getChannelByName', () => client.getChannelByName(s.team.id, name));
        assert.equal(byName.id, channel.id);

        // B, as a member now, can read it too.
        const gotB = await call('getChannel(B)', () => s.b.client.getChannel(channel.id));
        assert.equal(gotB.id, channel.id);

        s.channel = channel;
    });

    step('4. posts: create, reply, getPosts, getPostThread, getPost, update, delete', async () => {
        need('a', 'channel');
        const { client, user } = s.a;
        const channelId = s.channel.id;

        const root = await call('createPost(root)', () => client.createPost({
            channel_id: channelId,
            message: 'hello world',
        }));
        assert.match(root.id, ID_RE);
        assert.equal(typeof root.create_at, 'number');
        assert.ok(root.create_at > 0, `create_at = ${root.create_at}`);
        assert.equal(root.message, 'hello world');
        assert.equal(root.channel_id, channelId);
        assert.equal(root.user_id, user.id);
        assert.ok(!root.root_id, `a root post has root_id "${root.root_id}"`);

        // Let the (shared) clock pass root.create_at so that "newest first" is
        // well defined; this waits a millisecond or two, it measures nothing.
        while (Date.now() <= root.create_at) {
            await new Promise((r) => setTimeout(r, 2));
        }
        const reply = await call('createPost(reply)', () => client.createPost({
            channel_id: channelId,
            message: 'a reply',
            root_id: root.id,
        }));
        assert.match(reply.id, ID_RE);
        assert.notEqual(reply.id, root.id);
        assert.equal(reply.root_id, root.id);
        assert.equal(reply.message, 'a reply');

        // getPosts adds page, per_page, skipFetchThreads, collapsedThreads, collapsedThreadsExtended.
        const list = await call('getPosts', () => client.getPosts(channelId));
        assert.ok(Array.isArray(list.order), `getPosts: no order array in ${JSON.stringify(list)}`);
        assert.equal(typeof list.posts, 'object');
        const iRoot = list.order.indexOf(root.id);
        const iReply = list.order.indexOf(reply.id);
        assert.ok(iRoot >= 0, 'getPosts order lacks the root post');
        assert.ok(iReply >= 0, 'getPosts order lacks the reply');
        assert.ok(reply.create_at >= root.create_at, `reply.create_at ${reply.create_at} < root.create_at ${root.create_at}`);
        if (reply.create_at > root.create_at) {
            assert.ok(iReply < iRoot, `order must be newest first: ${JSON.stringify(list.order)}`);
        }
        assert.equal(list.posts[root.id]?.message, 'hello world');
        assert.equal(list.posts[reply.id]?.root_id, root.id);
        for (const id of list.order) {
            assert.ok(list.posts[id], `order names ${id} but posts lacks it`);
        }

        // getPostThread adds skipFetchThreads, collapsedThreads, collapsedThreadsExtended, direction, perPage.
        const thread = await call('getPostThread', () => client.getPostThread(root.id));
        assert.ok(thread.posts?.[root.id], 'thread lacks the root post');
        assert.ok(thread.posts?.[reply.id], 'thread lacks the reply');
        assert.ok(Array.isArray(thread.order));
        assert.ok(thread.order.includes(root.id) && thread.order.includes(reply.id),
            `thread order ${JSON.stringify(thread.order)}`);

        const got = await call('getPost', () => client.getPost(reply.id));
        assert.equal(got.id, reply.id);
        assert.equal(got.message, 'a reply');
        assert.equal(got.root_id, root.id);

        const updated = await call('updatePost', () => client.updatePost({ id: reply.id, message: 'an edited reply' }));
        assert.equal(updated.id, reply.id);
        assert.equal(updated.message, 'an edited reply');
        assert.equal(typeof updated.edit_at, 'number');
        assert.ok(updated.edit_at > 0, `edit_at after an edit = ${updated.edit_at}`);
        const reread = await call('getPost(after update)', () => client.getPost(reply.id));
        assert.equal(reread.message, 'an edited reply');

        const doomed = await call('createPost(to delete)', () => client.createPost({
            channel_id: channelId,
            message: 'to be deleted',
        }));
        const del = await call('deletePost', () => client.deletePost(doomed.id));
        assert.equal(del?.status, 'OK', `deletePost returned ${JSON.stringify(del)}`);
        const gone = await expectClientError('getPost(deleted)', client.getPost(doomed.id));
        assert.equal(gone.status_code, 404);
        const listAfter = await call('getPosts(after delete)', () => client.getPosts(channelId));
        assert.ok(!listAfter.order.includes(doomed.id), 'a deleted post is still listed by getPosts');
        assert.ok(listAfter.order.includes(root.id));

        s.root = root;
        s.reply = reply;
    });

    step('5. websocket: hello, ping, and a posted event from another user', async () => {
        need('a', 'b', 'channel', 'team');
        const token = s.a.client.getToken();
        const wsUrl = `ws://127.0.0.1:${server.port}/api/v4/websocket`;
        assert.equal(s.a.client.getWebSocketUrl(), `${server.url}/api/v4/websocket`);

        const events = [];
        const closes = [];
        const waiters = [];
        const waitForEvent = (label, pred) => withTimeout(new Promise((resolve) => {
            const hit = events.find(pred);
            if (hit) {
                resolve(hit);
            } else {
                waiters.push({ pred, resolve });
            }
        }), `websocket: ${label}`);

        const wsClient = new WebSocketClient({
            newWebSocketFn: (url) => new WS(url),
        });
        s.wsClient = wsClient;
        wsClient.addMessageListener((msg) => {
            events.push(msg);
            for (const w of [...waiters]) {
                if (w.pred(msg)) {
                    waiters.splice(waiters.indexOf(w), 1);
                    w.resolve(msg);
                }
            }
        });
        // With a missed-message listener the client tracks the hello's connection_id
        // (and would call this if a reconnect came back with a different id).
        let missed = 0;
        wsClient.addMissedMessageListener(() => {
            missed++;
        });
        wsClient.addCloseListener((failCount) => closes.push({ failCount, lastErrCode: wsClient.lastErrCode }));

        // The client appends ?connection_id=&sequence_number=0 and, once open, sends
        // authentication_challenge (seq 1) and a ping (seq 2).
        wsClient.initialize(wsUrl, token);

        const hello = await waitForEvent('hello', (m) => m.event === 'hello');
        assert.equal(hello.seq, 0, 'hello must be the event at seq 0');
        assert.equal(typeof hello.data?.connection_id, 'string');
        assert.ok(hello.data.connection_id.length > 0, 'hello without connection_id');
        assert.equal(wsClient.connectionId, hello.data.connection_id,
            'the client did not record the connection id from hello');

        // Our own ping: the reply must carry seq_reply (never 0) and status OK.
        const pong = await withTimeout(new Promise((resolve) => wsClient.ping(resolve)), 'websocket: ping reply');
        assert.equal(pong.status, 'OK', `ping reply ${JSON.stringify(pong)}`);
        assert.ok(pong.seq_reply > 0);
        assert.equal(pong.data?.text, 'pong', `ping reply ${JSON.stringify(pong)}`);

        // B posts; A's socket must see it.
        const message = `websocket hello from B ${suffix}`;
        const posted = await call('createPost(B)', () => s.b.client.createPost({
            channel_id: s.channel.id,
            message,
        }));
        assert.equal(posted.user_id, s.b.user.id);

        const ev = await waitForEvent('posted event for B\'s post', (m) => {
            if (m.event !== 'posted' || typeof m.data?.post !== 'string') {
                return false;
            }
            try {
                return JSON.parse(m.data.post).id === posted.id;
            } catch {
                return false;
            }
        });
        assert.equal(typeof ev.data.post, 'string', 'data.post must be the Post as a JSON string');
        const post = JSON.parse(ev.data.post);
        assert.equal(post.message, message);
        assert.equal(post.channel_id, s.channel.id);
        assert.equal(post.user_id, s.b.user.id);
        assert.equal(ev.data.channel_name, s.channel.name);
        assert.equal(ev.data.sender_name, `@${s.b.username}`);
        assert.equal(ev.data.channel_type, 'O');
        assert.equal(ev.data.channel_display_name, s.channel.display_name);
        assert.equal(typeof ev.broadcast, 'object', 'event lacks broadcast');
        assert.equal(typeof ev.seq, 'number');

        // The client only hands out events whose seq matched; a gap would have
        // closed the socket (code 4001) and reconnected.
        events.forEach((m, i) => assert.equal(m.seq, i, `event #${i} (${m.event}) has seq ${m.seq}`));
        assert.deepEqual(closes, [], 'the websocket closed during the test (seq mismatch 4001, ping timeout 4000, or a server close)');
        assert.equal(missed, 0);
        assert.equal(wsClient.conn?.readyState, WS.OPEN);

        closeWebSocketForGood(wsClient);
        assert.equal(wsClient.conn, null);
        assert.equal(wsClient.reconnectTimeout, null, 'a reconnect is still scheduled');
        assert.equal(wsClient.pingInterval, null, 'the ping interval is still running');
        s.wsClient = null;
    });

    step('6. errors: 404 ClientError with server_error_id; 401 for a bad token', async () => {
        need('a');
        const missingId = 'nonexistentid' + '0'.repeat(13);
        assert.equal(missingId.length, 26);

        const err = await expectClientError('getPost(missing)', s.a.client.getPost(missingId));
        assert.equal(err.status_code, 404, `status_code ${err.status_code}, message "${err.message}" ` +
            '(ClientError takes status_code from the JSON body, which needs Content-Type: application/json)');
        assert.equal(typeof err.server_error_id, 'string');
        assert.ok(err.server_error_id.length > 0, 'server_error_id (body.id) is empty');
        assert.equal(typeof err.message, 'string');
        assert.ok(err.message.length > 0, 'message (body.message) is empty');

        // The same request at the HTTP level: status and body agree, JSON content type.
        const raw = await withTimeout(fetch(`${server.url}/api/v4/posts/${missingId}`, {
            headers: {
                'X-Requested-With': 'XMLHttpRequest',
                Authorization: `BEARER ${s.a.client.getToken()}`,
            },
        }), 'raw GET missing post');
        assert.equal(raw.status, 404);
        assert.equal(raw.headers.get('content-type'), 'application/json');
        const body = await raw.json();
        assert.equal(body.status_code, 404);
        assert.equal(body.id, err.server_error_id);
        assert.equal(typeof body.message, 'string');

        const bad = newClient(server.url, 'x'.repeat(26));
        const unauth = await expectClientError('getMe(bad token)', bad.getMe());
        assert.equal(unauth.status_code, 401, `status_code ${unauth.status_code}, message "${unauth.message}"`);
        assert.ok(unauth.server_error_id, 'server_error_id is empty on 401');

        const wrongPassword = newClient(server.url);
        const loginErr = await expectClientError('login(wrong password)',
            wrongPassword.login(s.a.username, 'not-the-password'));
        assert.equal(loginErr.status_code, 401);
        assert.equal(wrongPassword.getToken(), '', 'a failed login must not set a token');
    });
    step('7. start-up: getClientConfig, getClientLicenseOld, serverVersion; logout without a session', async () => {
        need('a');
        const config = await call('getClientConfig', () => s.a.client.getClientConfig());
        assert.equal(config.Version, '10.11.0');
        assert.equal(config.EnableUserAccessTokens, 'true');
        assert.match(config.BuildNumber, /^chorus-/);
        const license = await call('getClientLicenseOld', () => s.a.client.getClientLicenseOld());
        assert.deepEqual(license, { IsLicensed: 'false' });
        assert.match(s.a.client.serverVersion, /^10\.11\.0\./, 'Client4 reads X-Version-Id');

        const anon = newClient(server.url);
        const response = await call('logout(no session)', () => anon.logout());
        assert.equal(response.status, 200);
    });

    step('8. tokens: updateUserRoles, createUserAccessToken, disable, enable, revoke', async () => {
        need('a', 'b');
        await call('updateUserRoles(B)', () =>
            s.a.client.updateUserRoles(s.b.user.id, 'system_user system_user_access_token'));
        const token = await call('createUserAccessToken(B)', () =>
            s.b.client.createUserAccessToken(s.b.user.id, 'compat script'));
        assert.match(token.id, ID_RE);
        assert.match(token.token, ID_RE);
        assert.equal(token.user_id, s.b.user.id);
        assert.equal(token.is_active, true);

        const scripted = newClient(server.url, token.token);
        const me = await call('getMe(token)', () => scripted.getMe());
        assert.equal(me.id, s.b.user.id);

        const listed = await call('getUserAccessTokensForUser', () =>
            s.b.client.getUserAccessTokensForUser(s.b.user.id));
        assert.deepEqual(listed.map((t) => t.id), [token.id]);
        assert.equal(listed[0].token, undefined, 'the secret is shown only once');
        const one = await call('getUserAccessToken', () => s.b.client.getUserAccessToken(token.id));
        assert.equal(one.description, 'compat script');

        await call('disableUserAccessToken', () => s.b.client.disableUserAccessToken(token.id));
        const disabled = await expectClientError('getMe(disabled token)', scripted.getMe());
        assert.equal(disabled.status_code, 401);
        await call('enableUserAccessToken', () => s.b.client.enableUserAccessToken(token.id));
        await call('getMe(enabled token)', () => scripted.getMe());
        await call('revokeUserAccessToken', () => s.b.client.revokeUserAccessToken(token.id));
        const revoked = await expectClientError('getMe(revoked token)', scripted.getMe());
        assert.equal(revoked.status_code, 401);
        assert.equal(revoked.server_error_id, 'api.context.session_expired.app_error');
    });

    step('9. bots: createBot, getBot, patchBot, getBots, disableBot, enableBot, assignBot', async () => {
        need('a', 'b');
        const created = await call('createBot', () => s.a.client.createBot({
            username: `compat-bot-${suffix}`,
            display_name: 'Compat Bot',
            description: 'made by @mattermost/client',
        }));
        assert.match(created.user_id, ID_RE);
        assert.equal(created.owner_id, s.a.user.id);
        const fetched = await call('getBot', () => s.a.client.getBot(created.user_id));
        assert.equal(fetched.display_name, 'Compat Bot');
        const patched = await call('patchBot', () =>
            s.a.client.patchBot(created.user_id, { description: 'patched' }));
        assert.equal(patched.description, 'patched');
        assert.equal(patched.display_name, 'Compat Bot');
        const bots = await call('getBots', () => s.a.client.getBots());
        assert.ok(bots.some((b) => b.user_id === created.user_id));

        const token = await call('createUserAccessToken(bot)', () =>
            s.a.client.createUserAccessToken(created.user_id, 'bot runtime'));
        const asBot = newClient(server.url, token.token);
        const me = await call('getMe(bot)', () => asBot.getMe());
        assert.equal(me.is_bot, true);

        const disabled = await call('disableBot', () => s.a.client.disableBot(created.user_id));
        assert.ok(disabled.delete_at > 0);
        const refused = await expectClientError('getMe(disabled bot)', asBot.getMe());
        assert.equal(refused.status_code, 401);
        const all = await call('getBotsIncludeDeleted', () => s.a.client.getBotsIncludeDeleted());
        assert.ok(all.some((b) => b.user_id === created.user_id && b.delete_at > 0));
        await call('enableBot', () => s.a.client.enableBot(created.user_id));
        await call('getMe(enabled bot)', () => asBot.getMe());
        const assigned = await call('assignBot', () => s.a.client.assignBot(created.user_id, s.b.user.id));
        assert.equal(assigned.owner_id, s.b.user.id);

        const hidden = await expectClientError('getBot as a plain user', s.b.client.getBot(created.user_id));
        assert.equal(hidden.status_code, 404);
    });
    step('10. reactions: addReaction, getReactionsForPost, getPost metadata, removeReaction', async () => {
        need('a', 'b', 'root');
        const added = await call('addReaction', () => s.b.client.addReaction(s.b.user.id, s.root.id, '+1'));
        assert.equal(added.emoji_name, '+1');
        assert.equal(added.user_id, s.b.user.id);
        const listed = await call('getReactionsForPost', () => s.a.client.getReactionsForPost(s.root.id));
        assert.deepEqual(listed.map((r) => r.emoji_name), ['+1']);
        const post = await call('getPost(with reactions)', () => s.a.client.getPost(s.root.id));
        assert.equal(post.has_reactions, true);
        assert.equal(post.metadata.reactions[0].user_id, s.b.user.id);
        const removed = await call('removeReaction', () => s.b.client.removeReaction(s.b.user.id, s.root.id, '+1'));
        assert.equal(removed.status, 'OK');
        const after = await call('getReactionsForPost(after)', () => s.a.client.getReactionsForPost(s.root.id));
        assert.deepEqual(after, []);
        const unknown = await expectClientError('addReaction(unknown emoji)',
            s.b.client.addReaction(s.b.user.id, s.root.id, 'surely_not_an_emoji'));
        assert.equal(unknown.status_code, 404);
    });
    step('11. start-up: getMyTeamMembers, getMyTeamUnreads, getRolesByNames, getRoleByName', async () => {
        need('a', 'team');
        const members = await call('getMyTeamMembers', () => s.a.client.getMyTeamMembers());
        assert.ok(members.some((m) => m.team_id === s.team.id && m.user_id === s.a.user.id));
        const unreads = await call('getMyTeamUnreads', () => s.a.client.getMyTeamUnreads(false));
        const mine = unreads.find((u) => u.team_id === s.team.id);
        assert.ok(mine, `the team is listed: ${JSON.stringify(unreads)}`);
        assert.equal(typeof mine.msg_count, 'number');
        assert.equal(typeof mine.mention_count, 'number');
        const roles = await call('getRolesByNames', () =>
            s.a.client.getRolesByNames(['system_user', 'team_user', 'channel_user', 'no_such_role']));
        assert.deepEqual(roles.map((r) => r.name).sort(), ['channel_user', 'system_user', 'team_user']);
        const role = await call('getRoleByName', () => s.a.client.getRoleByName('channel_user'));
        assert.ok(role.permissions.includes('create_post'));
    });

    step('12. preferences: savePreferences, getMyPreferences, deletePreferences', async () => {
        need('a');
        const pref = { user_id: s.a.user.id, category: 'display_settings', name: 'use_military_time', value: 'true' };
        const saved = await call('savePreferences', () => s.a.client.savePreferences(s.a.user.id, [pref]));
        assert.equal(saved.status, 'OK');
        const mine = await call('getMyPreferences', () => s.a.client.getMyPreferences());
        assert.ok(mine.some((p) => p.category === pref.category && p.name === pref.name && p.value === 'true'));
        const deleted = await call('deletePreferences', () => s.a.client.deletePreferences(s.a.user.id, [pref]));
        assert.equal(deleted.status, 'OK');
        const after = await call('getMyPreferences(after)', () => s.a.client.getMyPreferences());
        assert.ok(!after.some((p) => p.category === pref.category && p.name === pref.name));
    });

    step('13. files: uploadFile, createPost with file_ids, getFileInfosForPost, getFileUrl, getFileThumbnailUrl', async () => {
        need('a', 'b', 'channel');
        const bytes = new Uint8Array(300_000).map((_, i) => (i * 13) % 256);
        const form = new FormData();
        form.append('channel_id', s.channel.id);
        form.append('client_ids', 'compat-1');
        form.append('files', new Blob([bytes], { type: 'application/octet-stream' }), 'data.bin');
        const uploaded = await call('uploadFile', () => s.a.client.uploadFile(form));
        assert.deepEqual(uploaded.client_ids, ['compat-1']);
        const info = uploaded.file_infos[0];
        assert.equal(info.name, 'data.bin');
        assert.equal(info.size, bytes.length);
        const post = await call('createPost(file_ids)', () =>
            s.a.client.createPost({ channel_id: s.channel.id, message: 'with a file', file_ids: [info.id] }));
        assert.deepEqual(post.file_ids, [info.id]);
        assert.equal(post.metadata.files[0].id, info.id);
        const infos = await call('getFileInfosForPost', () => s.b.client.getFileInfosForPost(post.id));
        assert.deepEqual(infos.map((f) => f.id), [info.id]);
        const download = await fetch(s.b.client.getFileUrl(info.id), s.b.client.getOptions({ method: 'get' }));
        assert.equal(download.status, 200);
        assert.deepEqual(new Uint8Array(await download.arrayBuffer()), bytes);
        const thumbnail = await fetch(s.b.client.getFileThumbnailUrl(info.id), s.b.client.getOptions({ method: 'get' }));
        assert.equal(thumbnail.status, 400, 'a file that is not an image has no thumbnail');
        const link = await expectClientError('getFilePublicLink(disabled)', s.a.client.getFilePublicLink(info.id));
        assert.equal(link.server_error_id, 'api.file.get_public_link.disabled.app_error');
    });

    step('14. incoming webhooks: createIncomingWebhook, getIncomingWebhooks, updateIncomingWebhook, POST /hooks/{id}, removeIncomingWebhook', async () => {
        need('a', 'team', 'channel');
        const hook = await call('createIncomingWebhook', () =>
            s.a.client.createIncomingWebhook({ channel_id: s.channel.id, display_name: 'Compat CI' }));
        assert.equal(hook.channel_id, s.channel.id);
        const listed = await call('getIncomingWebhooks', () => s.a.client.getIncomingWebhooks(s.team.id));
        assert.ok(listed.some((h) => h.id === hook.id));
        const updated = await call('updateIncomingWebhook', () =>
            s.a.client.updateIncomingWebhook({ ...hook, description: 'builds', channel_locked: true }));
        assert.equal(updated.description, 'builds');
        assert.equal(updated.channel_locked, true);
        const sent = await fetch(`${server.url}/hooks/${hook.id}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ text: 'from the compat hook' }),
        });
        assert.equal(sent.status, 200);
        assert.equal(await sent.text(), 'ok');
        const posts = await call('getPosts(after the hook)', () => s.a.client.getPosts(s.channel.id));
        const newest = posts.posts[posts.order[0]];
        assert.equal(newest.message, 'from the compat hook');
        assert.equal(newest.props.from_webhook, 'true');
        const removed = await call('removeIncomingWebhook', () => s.a.client.removeIncomingWebhook(hook.id));
        assert.equal(removed.status, 'OK');
        const gone = await expectClientError('getIncomingWebhook(deleted)', s.a.client.getIncomingWebhook(hook.id));
        assert.equal(gone.status_code, 404);
    });

    step('15. statuses: updateStatus (dnd), getStatus, getStatusesByIds, back online', async () => {
        need('a', 'b');
        const end = Math.floor(Date.now() / 1000) + 3600;
        const dnd = await call('updateStatus(dnd)', () =>
            s.a.client.updateStatus({ user_id: s.a.user.id, status: 'dnd', dnd_end_time: end }));
        assert.equal(dnd.status, 'dnd');
        assert.equal(dnd.manual, true);
        assert.equal(dnd.dnd_end_time, end - (end % 60));
        const seen = await call('getStatus', () => s.b.client.getStatus(s.a.user.id));
        assert.equal(seen.status, 'dnd');
        const both = await call('getStatusesByIds', () => s.b.client.getStatusesByIds([s.a.user.id, s.b.user.id]));
        assert.deepEqual(both.map((st) => st.user_id), [s.a.user.id, s.b.user.id]);
        assert.equal(both[0].status, 'dnd');
        const back = await call('updateStatus(online)', () =>
            s.a.client.updateStatus({ user_id: s.a.user.id, status: 'online' }));
        assert.equal(back.status, 'online');
        assert.equal(back.manual, false);
        const refused = await expectClientError('updateStatus(someone else)',
            s.b.client.updateStatus({ user_id: s.a.user.id, status: 'offline' }));
        assert.equal(refused.status_code, 403);
    });

    step('16. custom commands: addCommand, getCustomTeamCommands, executeCommand, editCommand, regenCommandToken, deleteCommand', async () => {
        need('a', 'team', 'channel');
        const integration = await startIntegration((request) => ({
            response_type: 'in_channel',
            text: `ran with ${request.form.get('text')} for ${request.form.get('user_name')}`,
        }));
        try {
            const command = await call('addCommand', () => s.a.client.addCommand({
                team_id: s.team.id, trigger: 'compat', method: 'P', url: `${integration.url}/compat`,
                display_name: 'Compat', auto_complete: true, auto_complete_hint: '[words]',
            }));
            assert.match(command.id, ID_RE);
            assert.match(command.token, ID_RE);
            const custom = await call('getCustomTeamCommands', () => s.a.client.getCustomTeamCommands(s.team.id));
            assert.ok(custom.some((c) => c.id === command.id));
            const answer = await call('executeCommand', () =>
                s.a.client.executeCommand('/compat some words', { channel_id: s.channel.id, team_id: s.team.id }));
            assert.equal(answer.response_type, 'in_channel');
            const sent = integration.requests[0];
            assert.equal(sent.headers.authorization, `Token ${command.token}`);
            assert.equal(sent.form.get('command'), '/compat');
            const posts = await call('getPosts(after the command)', () => s.a.client.getPosts(s.channel.id));
            assert.equal(posts.posts[posts.order[0]].message, `ran with some words for ${s.a.user.username}`);
            const edited = await call('editCommand', () => s.a.client.editCommand({ ...command, description: 'compat command' }));
            assert.equal(edited.description, 'compat command');
            const { token } = await call('regenCommandToken', () => s.a.client.regenCommandToken(command.id));
            assert.notEqual(token, command.token);
            const removed = await call('deleteCommand', () => s.a.client.deleteCommand(command.id));
            assert.equal(removed.status, 'OK');
            const gone = await expectClientError('executeCommand(deleted)',
                s.a.client.executeCommand('/compat again', { channel_id: s.channel.id, team_id: s.team.id }));
            assert.equal(gone.status_code, 404);
            assert.equal(gone.server_error_id, 'api.command.execute_command.not_found.app_error');
        } finally {
            await integration.close();
        }
    });

    step('17. outgoing webhooks: createOutgoingWebhook, getOutgoingWebhooks, updateOutgoingWebhook, regenOutgoingHookToken, a triggered answer, removeOutgoingWebhook', async () => {
        need('a', 'team', 'channel');
        const integration = await startIntegration((request) => ({
            text: `heard ${request.json.trigger_word} from ${request.json.user_name}`,
            response_type: 'comment',
        }));
        try {
            const hook = await call('createOutgoingWebhook', () => s.a.client.createOutgoingWebhook({
                team_id: s.team.id, channel_id: s.channel.id, trigger_words: ['compat-go'], trigger_when: 0,
                callback_urls: [`${integration.url}/outgoing`], content_type: 'application/json', display_name: 'Compat out',
            }));
            assert.match(hook.token, ID_RE);
            const listed = await call('getOutgoingWebhooks', () => s.a.client.getOutgoingWebhooks(s.channel.id));
            assert.deepEqual(listed.map((h) => h.id), [hook.id]);
            const updated = await call('updateOutgoingWebhook', () =>
                s.a.client.updateOutgoingWebhook({ ...hook, description: 'listens' }));
            assert.equal(updated.description, 'listens');
            const regenerated = await call('regenOutgoingHookToken', () => s.a.client.regenOutgoingHookToken(hook.id));
            assert.notEqual(regenerated.token, hook.token);
            const trigger = await call('createPost(trigger)', () =>
                s.a.client.createPost({ channel_id: s.channel.id, message: 'compat-go now' }));
            const request = await withTimeout(integration.next(), 'the outgoing webhook call');
            assert.equal(request.json.post_id, trigger.id);
            assert.equal(request.json.token, regenerated.token);
            const answer = await withTimeout((async () => {
                for (;;) {
                    const thread = await s.a.client.getPostThread(trigger.id);
                    const reply = Object.values(thread.posts).find((p) => p.root_id === trigger.id);
                    if (reply) {
                        return reply;
                    }
                    await new Promise((r) => setTimeout(r, 100));
                }
            })(), 'the outgoing webhook answer');
            assert.equal(answer.message, `heard compat-go from ${s.a.user.username}`);
            assert.equal(answer.props.from_webhook, 'true');
            const removed = await call('removeOutgoingWebhook', () => s.a.client.removeOutgoingWebhook(hook.id));
            assert.equal(removed.status, 'OK');
            const gone = await expectClientError('getOutgoingWebhook(deleted)', s.a.client.getOutgoingWebhook(hook.id));
            assert.equal(gone.status_code, 404);
        } finally {
            await integration.close();
        }
    });

    step('18. interactive messages: doPostActionWithCookie, a dialog opened with the trigger id, submitInteractiveDialog, createPostEphemeral', async () => {
        need('a', 'team', 'channel');
        const integration = await startIntegration((request) => (request.json.type === 'dialog_submission'
            ? { errors: request.json.submission.name ? {} : { name: 'required' } }
            : { update: { message: `approved by ${request.json.user_name}` }, ephemeral_text: 'done' }));
        try {
            const post = await call('createPost(buttons)', () => s.a.client.createPost({
                channel_id: s.channel.id, message: 'Ship it?',
                props: { attachments: [{ actions: [{ id: 'approve', name: 'Approve', type: 'button',
                    integration: { url: `${integration.url}/click`, context: { build: 7 } } }] }] },
            }));
            assert.ok(!JSON.stringify(post).includes('integration'), 'clients never see an integration');
            const clicked = await call('doPostActionWithCookie', () =>
                s.a.client.doPostActionWithCookie(post.id, 'approve', ''));
            assert.equal(clicked.status, 'OK');
            assert.match(clicked.trigger_id, ID_RE);
            const click = integration.requests[0].json;
            assert.equal(click.post_id, post.id);
            assert.deepEqual(click.context, { build: 7 });
            const updated = await call('getPost(after the click)', () => s.a.client.getPost(post.id));
            assert.equal(updated.message, `approved by ${s.a.user.username}`);

            // The integration opens a dialog with the click's trigger id (no session).
            const url = `${integration.url}/dialog`;
            const opened = await withTimeout(fetch(`${server.url}/api/v4/actions/dialogs/open`, {
                method: 'POST', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ trigger_id: click.trigger_id, url,
                    dialog: { callback_id: 'compat', title: 'Compat', elements: [{ name: 'name', type: 'text', display_name: 'Name' }] } }),
            }), 'open the dialog');
            assert.equal(opened.status, 200);
            const submission = { url, callback_id: 'compat', state: '', channel_id: s.channel.id, team_id: s.team.id, cancelled: false };
            const refused = await call('submitInteractiveDialog(blank)', () =>
                s.a.client.submitInteractiveDialog({ ...submission, submission: { name: '' } }));
            assert.deepEqual(refused.errors, { name: 'required' });
            const accepted = await call('submitInteractiveDialog', () =>
                s.a.client.submitInteractiveDialog({ ...submission, submission: { name: 'Ada' } }));
            assert.deepEqual(accepted, {});
            assert.equal(integration.requests.at(-1).json.type, 'dialog_submission');
            const closed = await expectClientError('submitInteractiveDialog(closed)',
                s.a.client.submitInteractiveDialog({ ...submission, submission: { name: 'Ada' } }));
            assert.equal(closed.status_code, 403);
            assert.equal(closed.server_error_id, 'api.dialog.submit.not_open.app_error');

            const ephemeral = await call('createPostEphemeral', () =>
                s.a.client.createPostEphemeral(s.a.user.id, { channel_id: s.channel.id, message: 'only me' }));
            assert.equal(ephemeral.type, 'system_ephemeral');
            assert.match(ephemeral.id, ID_RE);
        } finally {
            await integration.close();
        }
    });

    step('18b. mentions: a mention counts on getMyChannelMember until viewMyChannel; updateChannelNotifyProps mutes', async () => {
        need('a', 'b', 'channel');
        await call('createPost(@b)', () => s.a.client.createPost({ channel_id: s.channel.id, message: `hey @${s.b.user.username}` }));
        const before = await call('getMyChannelMember(B)', () => s.b.client.getMyChannelMember(s.channel.id));
        assert.equal(before.mention_count, 1);
        assert.equal(before.mention_count_root, 1);
        assert.equal(before.notify_props.mark_unread, 'all');
        const viewed = await call('viewMyChannel(B)', () => s.b.client.viewMyChannel(s.channel.id));
        assert.equal(viewed.status, 'OK');
        const after = await call('getMyChannelMember(B, read)', () => s.b.client.getMyChannelMember(s.channel.id));
        assert.equal(after.mention_count, 0);
        const muted = await call('updateChannelNotifyProps', () => s.b.client.updateChannelNotifyProps({
            channel_id: s.channel.id, user_id: s.b.user.id, mark_unread: 'mention', desktop: 'none' }));
        assert.equal(muted.status, 'OK');
        const props = (await call('getMyChannelMember(B, muted)', () => s.b.client.getMyChannelMember(s.channel.id))).notify_props;
        assert.equal(props.mark_unread, 'mention');
        assert.equal(props.desktop, 'none');
        assert.equal(props.channel_id, undefined, 'only settings are kept');
        const bad = await expectClientError('updateChannelNotifyProps(bad)', s.b.client.updateChannelNotifyProps({
            channel_id: s.channel.id, user_id: s.b.user.id, desktop: 'loud' }));
        assert.equal(bad.server_error_id, 'model.channel_member.is_valid.notify_level.app_error');
        await call('updateChannelNotifyProps(unmute)', () => s.b.client.updateChannelNotifyProps({
            channel_id: s.channel.id, user_id: s.b.user.id, mark_unread: 'all' }));
    });

    step('18c. pins and saved posts: pinPost, getPinnedPosts, getChannelStats, unpinPost, savePreferences (flagged_post), getFlaggedPosts', async () => {
        need('a', 'b', 'channel');
        const post = await call('createPost', () => s.a.client.createPost({ channel_id: s.channel.id, message: 'worth keeping' }));
        const pinned = await call('pinPost(B)', () => s.b.client.pinPost(post.id));
        assert.equal(pinned.status, 'OK');
        const list = await call('getPinnedPosts', () => s.a.client.getPinnedPosts(s.channel.id));
        assert.deepEqual(list.order, [post.id]);
        assert.equal(list.posts[post.id].is_pinned, true);
        assert.equal(list.posts[post.id].edit_at, 0, 'pinning is no edit');
        const stats = await call('getChannelStats', () => s.a.client.getChannelStats(s.channel.id, true));
        assert.equal(stats.pinnedpost_count, 1);
        assert.equal(stats.files_count, 1, 'the file step 13 attached here');
        assert.ok(stats.member_count >= 2, `member_count ${stats.member_count}`);
        assert.equal((await call('getChannelStats(no files)', () => s.a.client.getChannelStats(s.channel.id))).files_count, -1);
        await call('unpinPost', () => s.a.client.unpinPost(post.id));
        assert.deepEqual((await call('getPinnedPosts(after)', () => s.a.client.getPinnedPosts(s.channel.id))).order, []);

        await call('savePreferences(flagged_post)', () => s.b.client.savePreferences(s.b.user.id, [
            { user_id: s.b.user.id, category: 'flagged_post', name: post.id, value: 'true' }]));
        const saved = await call('getFlaggedPosts', () => s.b.client.getFlaggedPosts(s.b.user.id));
        assert.deepEqual(saved.order, [post.id]);
        const inTeam = await call('getFlaggedPosts(team)', () => s.b.client.getFlaggedPosts(s.b.user.id, '', s.team.id));
        assert.deepEqual(inTeam.order, [post.id]);
        const elsewhere = await call('getFlaggedPosts(other channel)', () => s.b.client.getFlaggedPosts(s.b.user.id, s.a.user.id.replace(/./, 'z')));
        assert.deepEqual(elsewhere.order, []);
        const forbidden = await expectClientError('getFlaggedPosts(of A, by B)', s.b.client.getFlaggedPosts(s.a.user.id));
        assert.equal(forbidden.status_code, 403);
    });

    step('18d. finding people and channels: autocompleteUsers (team, channel), searchUsers, autocompleteChannels, searchChannels', async () => {
        need('a', 'b', 'team', 'channel');
        const prefix = s.b.username.slice(0, s.b.username.length - 2);
        const inTeam = await call('autocompleteUsers(team)', () => s.a.client.autocompleteUsers(prefix, s.team.id, ''));
        assert.deepEqual(inTeam.users.map((u) => u.id), [s.b.user.id]);
        const inChannel = await call('autocompleteUsers(channel)', () => s.a.client.autocompleteUsers(prefix, s.team.id, s.channel.id));
        assert.deepEqual(inChannel.users.map((u) => u.id), [s.b.user.id]);
        assert.deepEqual(inChannel.out_of_channel, []);
        const searched = await call('searchUsers', () => s.b.client.searchUsers(s.a.username, { team_id: s.team.id }));
        assert.deepEqual(searched.map((u) => u.username), [s.a.username]);
        assert.equal(searched[0].email, '', 'another user\'s address is private');
        const noTerm = await expectClientError('searchUsers(no term)', s.b.client.searchUsers('', {}));
        assert.equal(noTerm.server_error_id, 'api.context.invalid_param.app_error');
        const channels = await call('autocompleteChannels', () => s.b.client.autocompleteChannels(s.team.id, s.channel.name.slice(0, 8)));
        assert.ok(channels.some((c) => c.id === s.channel.id), JSON.stringify(channels.map((c) => c.name)));
        const found = await call('searchChannels', () => s.b.client.searchChannels(s.team.id, s.channel.display_name.split(' ')[1]));
        assert.deepEqual(found.map((c) => c.id), [s.channel.id]);
    });

    step('18e. search and unread: searchPosts, searchPostsWithParams (phrases, from:, in:, paging, all teams), markPostAsUnread', async () => {
        need('a', 'b', 'team', 'channel');
        const word = `zebra${Date.now().toString(36)}`;
        await call('createPost(A)', () => s.a.client.createPost({ channel_id: s.channel.id, message: `${word} crossing today` }));
        await call('createPost(B)', () => s.b.client.createPost({ channel_id: s.channel.id, message: `no ${word} here, just notes` }));
        const both = await call('searchPosts', () => s.b.client.searchPosts(s.team.id, word, false));
        assert.equal(both.order.length, 2);
        assert.ok(both.order.every((id) => both.posts[id].message.includes(word)));
        assert.deepEqual(both.matches[both.order[0]], [word]);
        const phrase = await call('searchPosts(phrase)', () => s.b.client.searchPosts(s.team.id, `"${word} crossing"`, false));
        assert.equal(phrase.order.length, 1);
        const fromA = await call('searchPostsWithParams(from:)', () => s.b.client.searchPostsWithParams(s.team.id,
            { terms: `${word} from:${s.a.username} in:${s.channel.name}`, is_or_search: false, page: 0, per_page: 60 }));
        assert.deepEqual(fromA.order.map((id) => fromA.posts[id].user_id), [s.a.user.id]);
        const paged = await call('searchPostsWithParams(per_page 1)', () => s.b.client.searchPostsWithParams(s.team.id,
            { terms: word, per_page: 1 }));
        assert.equal(paged.order.length, 1);
        assert.equal(paged.has_next, true);
        const everywhere = await call('searchPostsWithParams(all teams)', () => s.b.client.searchPostsWithParams('', { terms: word }));
        assert.equal(everywhere.order.length, 2);
        const bad = await expectClientError('searchPosts(bad date)', s.b.client.searchPosts(s.team.id, 'on:someday', false));
        assert.equal(bad.server_error_id, 'api.context.invalid_param.app_error');

        // B marks the channel unread from A's post on: two messages are unread again.
        const crossing = phrase.order[0];
        await call('viewMyChannel(B)', () => s.b.client.viewMyChannel(s.channel.id));
        const unread = await call('markPostAsUnread', () => s.b.client.markPostAsUnread(s.b.user.id, crossing));
        assert.equal(unread.channel_id, s.channel.id);
        assert.equal(unread.msg_count, 2);
        assert.equal(unread.last_viewed_at, phrase.posts[crossing].create_at - 1);
        const member = await call('getMyChannelMember(B, unread)', () => s.b.client.getMyChannelMember(s.channel.id));
        assert.equal(member.last_viewed_at, unread.last_viewed_at);
    });

    step('19. management: patchChannel, updateChannel, patchMe, updateUser, uploadProfileImage, setDefaultProfileImage, removeFromTeam', async () => {
        need('a', 'b', 'team', 'channel');
        const patched = await call('patchChannel', () =>
            s.a.client.patchChannel(s.channel.id, { header: 'Compat header' }));
        assert.equal(patched.header, 'Compat header');
        const updated = await call('updateChannel', () =>
            s.a.client.updateChannel({ ...patched, purpose: 'Compat purpose' }));
        assert.equal(updated.purpose, 'Compat purpose');
        assert.equal(updated.header, 'Compat header');
        const posts = await call('getPosts(system messages)', () => s.b.client.getPosts(s.channel.id));
        const types = Object.values(posts.posts).map((p) => p.type);
        assert.ok(types.includes('system_header_change'), `no header message in ${types}`);
        assert.ok(types.includes('system_purpose_change'), `no purpose message in ${types}`);

        const me = await call('patchMe', () => s.a.client.patchMe({ nickname: 'Compat' }));
        assert.equal(me.nickname, 'Compat');
        const whole = await call('updateUser', () => s.a.client.updateUser({ ...me, position: 'Tester' }));
        assert.equal(whole.position, 'Tester');
        assert.equal(whole.nickname, 'Compat');

        // B's generated picture (a real PNG) becomes A's picture.
        const picture = async (url) => {
            const reply = await withTimeout(fetch(url, s.b.client.getOptions({ method: 'get' })), url);
            assert.equal(reply.status, 200);
            assert.equal(reply.headers.get('content-type'), 'image/png');
            return new Uint8Array(await reply.arrayBuffer());
        };
        const generatedA = await picture(s.a.client.getDefaultProfilePictureUrl(s.a.user.id));
        const png = await picture(s.b.client.getProfilePictureUrl(s.b.user.id, 0));
        const uploaded = await call('uploadProfileImage', () =>
            s.a.client.uploadProfileImage(s.a.user.id, new Blob([png], { type: 'image/png' })));
        assert.equal(uploaded.status, 'OK');
        const after = await call('getMe', () => s.a.client.getMe());
        assert.ok(after.last_picture_update > 0, `last_picture_update ${after.last_picture_update}`);
        const mine = await picture(s.b.client.getProfilePictureUrl(s.a.user.id, after.last_picture_update));
        assert.notDeepEqual(mine, generatedA);
        const reset = await call('setDefaultProfileImage', () => s.a.client.setDefaultProfileImage(s.a.user.id));
        assert.equal(reset.status, 'OK');
        const again = await call('getMe(reset)', () => s.a.client.getMe());
        assert.ok(again.last_picture_update < 0);
        assert.deepEqual(await picture(s.b.client.getProfilePictureUrl(s.a.user.id, again.last_picture_update)), generatedA);

        const removed = await call('removeFromTeam(B)', () => s.a.client.removeFromTeam(s.team.id, s.b.user.id));
        assert.equal(removed.status, 'OK');
        const teamsB = await call('getMyTeams(B, after)', () => s.b.client.getMyTeams());
        assert.ok(!teamsB.some((t) => t.id === s.team.id), 'B is still in the team');
    });
});
