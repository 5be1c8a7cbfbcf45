// Test harness for the browser tests: a fresh PostgreSQL database, real `chorus
// server` nodes in a cluster, the trigger-alert bundle, nginx in front, Chromium,
// and a small REST client for setting up users and checking results.
//
// Env:  CHORUS_BIN         server binary (default ../../target/debug/chorus)
//       TRIGGER_ALERT_BIN  trigger-alert executable (default ../../target/debug/trigger-alert)
//       CHROMIUM           browser (default /usr/bin/chromium)
//       NGINX              nginx binary (default: `nginx` on PATH, else /usr/sbin/nginx)
//       PGHOST/PGPORT      PostgreSQL (default 127.0.0.1:5432, user postgres, trust auth)
//       CI=true            a missing prerequisite fails the run instead of skipping
//       CHORUS_E2E_LOGS=1  print the servers' output at the end even when all passed

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(E2E_DIR, '../..');
export const ARTIFACTS = path.join(E2E_DIR, 'artifacts');
const fromEnv = (name, fallback) => (process.env[name] ? path.resolve(process.cwd(), process.env[name]) : path.resolve(E2E_DIR, fallback));
export const CHORUS_BIN = fromEnv('CHORUS_BIN', '../../target/debug/chorus');
export const TRIGGER_ALERT_BIN = fromEnv('TRIGGER_ALERT_BIN', '../../target/debug/trigger-alert');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CI = process.env.CI === 'true' || process.env.CI === '1';
const PGHOST = process.env.PGHOST || '127.0.0.1';
const PGPORT = process.env.PGPORT || '5432';
const PGUSER = 'postgres';

export const PASSWORD = 'Chorus-e2e-Passw0rd!';
export const STEP_TIMEOUT_MS = 120_000;

// Everything started here is stopped at exit, even on a crash.
const children = new Set();
process.once('exit', () => {
    for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
            try {
                child.kill('SIGKILL');
            } catch {
                // already gone
            }
        }
    }
});

// ---- prerequisites ----------------------------------------------------------------

export function findNginx() {
    if (process.env.NGINX) {
        return fs.existsSync(process.env.NGINX) ? process.env.NGINX : null;
    }
    for (const dir of (process.env.PATH || '').split(path.delimiter)) {
        const candidate = path.join(dir, 'nginx');
        if (dir && fs.existsSync(candidate)) {
            return candidate;
        }
    }
    return fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null;
}

function psql(sql) {
    return spawnSync('psql', ['-h', PGHOST, '-p', PGPORT, '-U', PGUSER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8', timeout: 30_000 });
}

/**
 * What is missing to run the tests. Under CI the caller must fail on any; outside CI
 * it skips with a loud message.
 */
export function missingPrerequisites({ nginx = false } = {}) {
    const missing = [];
    if (!fs.existsSync(CHORUS_BIN)) {
        missing.push(`the server binary ${CHORUS_BIN} (cargo build -p chorus, or set CHORUS_BIN)`);
    }
    if (!fs.existsSync(TRIGGER_ALERT_BIN)) {
        missing.push(`the trigger-alert executable ${TRIGGER_ALERT_BIN} (cargo build -p trigger-alert, or set TRIGGER_ALERT_BIN)`);
    }
    if (!fs.existsSync(CHROMIUM)) {
        missing.push(`Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
    }
    const pg = psql('select 1');
    if (pg.error || pg.status !== 0) {
        missing.push(`PostgreSQL at ${PGHOST}:${PGPORT} (user postgres): ${(pg.stderr || pg.error?.message || '').trim()}`);
    }
    if (nginx && !findNginx()) {
        missing.push('nginx (on PATH or /usr/sbin/nginx; apt-get install nginx, or set NGINX)');
    }
    return missing;
}

/**
 * Returns the `skip` option for describe(): false when everything is there; a reason
 * outside CI; throws under CI so that the run fails.
 */
export function skipUnlessReady(options) {
    const missing = missingPrerequisites(options);
    if (missing.length === 0) {
        return false;
    }
    const text = `missing prerequisites:\n  - ${missing.join('\n  - ')}`;
    if (CI) {
        throw new Error(`CI=true and ${text}`);
    }
    console.error(`\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n` +
        `!! SKIPPING the web e2e tests: ${text}\n` +
        `!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`);
    return text;
}

// ---- processes -----------------------------------------------------------------------

export function waitForExit(proc, ms) {
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

export async function stopProcess(proc, signal = 'SIGTERM') {
    if (!proc) {
        return;
    }
    if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        if (!(await waitForExit(proc, 15_000))) {
            proc.kill('SIGKILL');
            await waitForExit(proc, 5000);
        }
    }
    children.delete(proc);
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

// ---- the cluster ------------------------------------------------------------------------

class Node {
    constructor(name, env) {
        this.name = name;
        this.env = env;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `chorus-e2e-${name}-`));
        this.log = [];
        this.proc = null;
        this.url = '';
        this.id = '';
    }

    remember(line) {
        this.log.push(line);
        if (this.log.length > 600) {
            this.log.splice(0, this.log.length - 600);
        }
    }

    start() {
        const proc = spawn(CHORUS_BIN, ['server'], {
            cwd: this.dir,
            env: {
                ...process.env,
                ...this.env,
                CHORUS_SERVICESETTINGS_LISTENADDRESS: '127.0.0.1:0',
                // Absolute: the server resolves a relative plugin directory against the
                // plugin's own working directory when it starts the executable.
                CHORUS_PLUGINSETTINGS_DIRECTORY: path.join(this.dir, 'plugins'),
            },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        this.proc = proc;
        children.add(proc);
        readline.createInterface({ input: proc.stderr }).on('line', (l) => this.remember(`[stderr] ${l}`));
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${this.name} did not start within 60 s:\n${this.log.slice(-40).join('\n')}`)), 60_000);
            readline.createInterface({ input: proc.stdout }).on('line', (line) => {
                this.remember(`[stdout] ${line}`);
                const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(line);
                if (m && !this.url) {
                    this.url = m[1];
                    this.port = Number(m[2]);
                    clearTimeout(timer);
                    resolve();
                }
            });
            proc.on('exit', (code, signal) => {
                clearTimeout(timer);
                reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) before it was ready:\n${this.log.slice(-40).join('\n')}`));
            });
        }).then(() => this.waitReady());
    }

    async waitReady() {
        const deadline = Date.now() + 60_000;
        for (;;) {
            try {
                const response = await fetch(`${this.url}/api/v4/system/ping`);
                if (response.ok) {
                    const body = await response.json();
                    this.id = body.node_id || '';
                    return;
                }
            } catch {
                // not yet
            }
            if (Date.now() > deadline) {
                throw new Error(`${this.name} never answered /system/ping`);
            }
            await sleep(100);
        }
    }

    async stop(signal = 'SIGTERM') {
        await stopProcess(this.proc, signal);
    }

    get alive() {
        return this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
    }
}

export function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh database and `count` clustered nodes on it. */
export async function startCluster({ count = 2, extraEnv = {} } = {}) {
    const dbName = `chorus_e2e_${randomBytes(5).toString('hex')}`;
    const created = psql(`create database ${dbName}`);
    if (created.status !== 0) {
        throw new Error(`cannot create database ${dbName}: ${created.stderr}`);
    }
    const env = {
        CHORUS_SQLSETTINGS_DRIVERNAME: 'postgres',
        CHORUS_SQLSETTINGS_DATASOURCE: `postgres://${PGUSER}@${PGHOST}:${PGPORT}/${dbName}`,
        CHORUS_CLUSTERSETTINGS_ENABLE: 'true',
        CHORUS_CLUSTERSETTINGS_HEARTBEATSECONDS: '1',
        CHORUS_PLUGINSETTINGS_ENABLEUPLOADS: 'true',
        ...extraEnv,
    };
    const nodes = [];
    const cluster = {
        dbName,
        nodes,
        async stop() {
            await Promise.all(nodes.map((n) => n.stop()));
            const dropped = psql(`drop database if exists ${dbName} with (force)`);
            if (dropped.status !== 0) {
                console.error(`could not drop ${dbName}: ${dropped.stderr}`);
            }
            if (process.env.CHORUS_E2E_LOGS === '1' || cluster.failed) {
                for (const n of nodes) {
                    console.error(`\n----- ${n.name} (${n.id}) log tail -----\n${n.log.slice(-150).join('\n')}`);
                }
            }
            for (const n of nodes) {
                fs.rmSync(n.dir, { recursive: true, force: true });
            }
        },
        failed: false,
    };
    try {
        // The first node runs the migrations; the others start beside it.
        const first = new Node('node1', env);
        nodes.push(first);
        await first.start();
        const rest = [];
        for (let i = 2; i <= count; i += 1) {
            const node = new Node(`node${i}`, env);
            nodes.push(node);
            rest.push(node.start());
        }
        await Promise.all(rest);
    } catch (err) {
        cluster.failed = true;
        await cluster.stop();
        throw err;
    }
    return cluster;
}

/** The trigger-alert bundle, built with `chorus plugin bundle`. */
export function bundleTriggerAlert() {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-e2e-bundle-')), 'trigger-alert.tar.gz');
    const result = spawnSync(CHORUS_BIN, ['plugin', 'bundle', path.join(REPO_DIR, 'plugins/trigger-alert'), '--executable', TRIGGER_ALERT_BIN, '-o', out], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) {
        throw new Error(`chorus plugin bundle failed:\n${result.stdout}\n${result.stderr}`);
    }
    return out;
}

// ---- nginx ---------------------------------------------------------------------------------

/**
 * nginx in front of the nodes, configured like docs/examples/nginx-chorus.conf, run as
 * a child process. restart() starts it again on the same port with the same config.
 */
export async function startNginx(nodes) {
    const binary = findNginx();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-e2e-nginx-'));
    const port = await freePort();
    const upstreams = nodes.map((n) => `        server 127.0.0.1:${n.port} max_fails=1 fail_timeout=10s;`).join('\n');
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
        fs.mkdirSync(path.join(dir, sub));
    }
    const conf = `# Written by web/e2e (modelled on docs/examples/nginx-chorus.conf).
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;

    upstream chorus {
${upstreams}
        keepalive 16;
    }

    server {
        listen 127.0.0.1:${port};
        client_max_body_size 64M;

        location ~ ^/api/v4/websocket$ {
            proxy_pass http://chorus;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }

        location / {
            proxy_pass http://chorus;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 90s;
            proxy_request_buffering off;
        }
    }
}
`;
    const confPath = path.join(dir, 'nginx.conf');
    fs.writeFileSync(confPath, conf);
    const lb = {
        url: `http://127.0.0.1:${port}`,
        port,
        dir,
        proc: null,
        async start() {
            const proc = spawn(binary, ['-p', dir, '-c', confPath, '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
            children.add(proc);
            lb.proc = proc;
            let stderr = '';
            proc.stderr.on('data', (d) => { stderr += d; });
            const deadline = Date.now() + 20_000;
            for (;;) {
                if (proc.exitCode !== null) {
                    throw new Error(`nginx exited: ${stderr}\n${readTail(path.join(dir, 'error.log'))}`);
                }
                try {
                    const response = await fetch(`${lb.url}/api/v4/system/ping`);
                    if (response.ok) {
                        return;
                    }
                } catch {
                    // not yet
                }
                if (Date.now() > deadline) {
                    throw new Error(`nginx did not answer on ${lb.url}: ${stderr}`);
                }
                await sleep(100);
            }
        },
        async stop() {
            // SIGTERM is nginx's fast shutdown: open connections are closed at once.
            await stopProcess(lb.proc, 'SIGTERM');
        },
        cleanup() {
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    await lb.start();
    return lb;
}

function readTail(file) {
    try {
        return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
        return '';
    }
}

// ---- REST client (test setup and checks) -----------------------------------------------

export class Api {
    constructor(url, token = '') {
        this.url = url;
        this.token = token;
    }

    withUrl(url) {
        return new Api(url, this.token);
    }

    async call(method, route, body) {
        const headers = { 'X-Requested-With': 'XMLHttpRequest' };
        if (this.token) {
            headers.Authorization = `Bearer ${this.token}`;
        }
        if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
        }
        const response = await fetch(`${this.url}/api/v4${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await response.text();
        let data = null;
        try {
            data = text ? JSON.parse(text) : null;
        } catch {
            data = text;
        }
        if (!response.ok) {
            const err = new Error(`${method} ${route} → ${response.status}: ${data && data.message ? data.message : text}`);
            err.status = response.status;
            err.body = data;
            throw err;
        }
        return data;
    }

    get(route) { return this.call('GET', route); }
    post(route, body = {}) { return this.call('POST', route, body); }
    put(route, body = {}) { return this.call('PUT', route, body); }
    del(route) { return this.call('DELETE', route); }

    /** Logs in; returns a new Api holding the token, with `.user`. */
    async login(username, password = PASSWORD) {
        const response = await fetch(`${this.url}/api/v4/users/login`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ login_id: username, password }),
        });
        if (!response.ok) {
            throw new Error(`login ${username} failed: ${response.status} ${await response.text()}`);
        }
        const api = new Api(this.url, response.headers.get('token'));
        api.user = await response.json();
        return api;
    }

    async createUser(username) {
        return this.post('/users', { username, email: `${username}@example.com`, password: PASSWORD });
    }
}

export function uniqueName(prefix) {
    return `${prefix}${randomBytes(3).toString('hex')}`;
}

// ---- the browser -------------------------------------------------------------------------

export async function launchBrowser() {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A browser context (own cookies) at 1280×800, with console errors and warnings collected. */
export async function newUserPage(browser, { width = 1280, height = 800 } = {}) {
    const context = await browser.newContext({ viewport: { width, height } });
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    page.errors = [];
    page.on('pageerror', (err) => page.errors.push(String(err)));
    page.on('console', (msg) => {
        // Failed requests are listed with their URL below.
        // Warnings (a retried catch-up, a refused mark-read) are kept for the failure
        // report, marked so that "no script errors" checks can leave them out.
        const type = msg.type();
        if ((type === 'error' || type === 'warning') && !msg.text().startsWith('Failed to load resource')) {
            page.errors.push(type === 'warning' ? `warning: ${msg.text()}` : msg.text());
        }
    });
    page.on('response', (response) => {
        if (response.status() >= 400) {
            page.errors.push(`HTTP ${response.status()} ${response.request().method()} ${response.url()}`);
        }
    });
    return page;
}

/** Signs in through the login form. */
export async function loginThroughUi(page, baseUrl, username, password = PASSWORD, path = '/login') {
    await page.goto(`${baseUrl}${path}`);
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
}

export async function screenshot(page, name) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), animations: 'disabled' });
}
