// @ts-check
// Owns the page: the entry point and router, the top bar, team selection, the plugins'
// root components, and the session (it creates the model, the websocket and the plugin
// host at sign-in and hands them to the screens).
//
// Routes: /login, /signup, /select_team, /<team>/channels/<channel>,
// /<team>/messages/@<username>, /<team>/pl/<post id> (a permalink),
// /admin_console/{plugins,cluster}; "/" goes to the last
// team's town-square. The server answers every such path with index.html.

import { h, clear, field } from './dom.js';
import { Socket } from './socket.js';
import { PluginHost } from './plugins.js';
import { Model, currentUser, onSessionEnded } from './model.js';
import { mountChat, storeState, slugify } from './chat.js';
import { mountLogin, mountSignup } from './auth.js';

/** @typedef {import('./types.js').User} User */
/** @typedef {import('./types.js').Team} Team */
/** @typedef {import('./types.js').Topbar} Topbar */
/**
 * A parsed address (see parseRoute).
 * @typedef {{name: string, page?: string, team?: string, kind?: 'channel' | 'dm' | 'permalink', channel?: string, post?: string}} Route
 */
/** The screen shown: its kind and its view (show/destroy). @typedef {{kind: string | null, view: any}} Screen */

const root = document.getElementById('root');
const pluginRoot = document.getElementById('plugin-root');

/**
 * @type {{me: User | null, model: Model | null, socket: Socket | null, host: PluginHost | null,
 *   screen: Screen | null, flash: string}}
 */
const app = {
    me: null,
    model: null,
    socket: null,
    host: null,
    screen: null, // {kind, view}
    flash: '',
};

// ---- navigation ----------------------------------------------------------------------

/** @type {import('./types.js').Navigate} */
export function navigate(path, { replace = false, message = '' } = {}) {
    if (message) {
        app.flash = message;
    }
    if (replace) {
        history.replaceState(null, '', path);
    } else if (path !== location.pathname + location.search) {
        history.pushState(null, '', path);
    }
    route();
}

document.addEventListener('click', (event) => {
    const link = /** @type {HTMLAnchorElement | null} */ (/** @type {Element} */ (event.target).closest('a[href]'));
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return;
    }
    if (link.target && link.target !== '_self') {
        return;
    }
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/plugins/') || url.pathname.startsWith('/static/')) {
        return;
    }
    event.preventDefault();
    navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => route());

/** @param {string} pathname @returns {Route} */
function parseRoute(pathname) {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts.length === 0) {
        return { name: 'home' };
    }
    if (parts[0] === 'login' || parts[0] === 'signup' || parts[0] === 'select_team') {
        return { name: parts[0] };
    }
    if (parts[0] === 'admin_console') {
        return { name: 'console', page: parts[1] || '' };
    }
    if (parts[1] === 'channels' && parts[2]) {
        return { name: 'chat', team: parts[0], kind: 'channel', channel: parts[2] };
    }
    if (parts[1] === 'messages' && parts[2]) {
        return { name: 'chat', team: parts[0], kind: 'dm', channel: parts[2] };
    }
    if (parts[1] === 'pl' && parts[2]) {
        return { name: 'chat', team: parts[0], kind: 'permalink', post: parts[2] };
    }
    return { name: 'chat', team: parts[0], kind: 'channel', channel: '' };
}

function takeFlash() {
    const message = app.flash;
    app.flash = '';
    return message;
}

/** @param {string | null} kind @param {any} view */
function setScreen(kind, view) {
    if (app.screen && app.screen.view && app.screen.view !== view) {
        app.screen.view.destroy?.();
    }
    app.screen = { kind, view };
}

async function route() {
    const current = parseRoute(location.pathname);
    if (current.name === 'login' || current.name === 'signup') {
        if (app.me) {
            navigate(redirectTarget() || '/', { replace: true });
            return;
        }
        setScreen(current.name, null);
        const onDone = (/** @type {User} */ user) => signedIn(user, redirectTarget() || '/');
        if (current.name === 'login') {
            mountLogin(root, { navigate, onDone, message: takeFlash() });
        } else {
            mountSignup(root, { onDone });
        }
        return;
    }
    if (!app.me) {
        const back = location.pathname === '/' ? '' : `?redirect_to=${encodeURIComponent(location.pathname)}`;
        navigate(`/login${back}`, { replace: true });
        return;
    }
    if (current.name === 'console') {
        if (app.screen?.kind !== 'console') {
            const { mountConsole } = await import('./console.js');
            setScreen('console', mountConsole(root, { model: app.model, navigate, topbar: topbar() }));
        }
        app.screen.view.show(current.page || 'plugins');
        return;
    }
    if (current.name === 'select_team') {
        setScreen('select_team', null);
        mountSelectTeam();
        return;
    }
    if (current.name === 'home') {
        const teams = app.model.teams.length ? app.model.teams : await app.model.loadTeams();
        if (teams.length === 0) {
            navigate('/select_team', { replace: true });
            return;
        }
        const last = localStorage.getItem('chorus.lastTeam');
        const team = teams.find((t) => t.name === last) || teams[0];
        navigate(`/${team.name}/channels/town-square`, { replace: true });
        return;
    }
    if (app.screen?.kind !== 'chat') {
        setScreen('chat', mountChat(root, { model: app.model, host: app.host, socket: app.socket, navigate, topbar: topbar() }));
    }
    await app.screen.view.show(current);
}

function redirectTarget() {
    const target = new URLSearchParams(location.search).get('redirect_to');
    return target && target.startsWith('/') && !target.startsWith('//') ? target : '';
}

// ---- the top bar (menu button, connection state, user menu) ---------------------------

const connection = h('div', { class: 'connection', role: 'status', 'aria-live': 'polite' });

/** @returns {Topbar} */
function topbar() {
    const menuButton = h('button', { type: 'button', class: 'icon-button menu-button', 'aria-label': 'Menu', 'aria-expanded': 'false', 'aria-controls': 'sidebar' }, '☰');
    const userButton = h('button', { type: 'button', class: 'user-button', 'aria-haspopup': 'true', 'aria-expanded': 'false', 'aria-controls': 'user-menu' },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, (app.me.username || '?')[0].toUpperCase()),
        h('span', { class: 'username' }, `@${app.me.username}`));
    userButton.setAttribute('aria-label', `Account menu for ${app.me.username}`);
    const items = [];
    if (app.model.isAdmin()) {
        items.push(h('li', null, h('a', { href: '/admin_console/plugins', dataset: { link: '' } }, 'System Console')));
    }
    items.push(h('li', null, h('a', { href: '/', dataset: { link: '' } }, 'Chat')));
    if (typeof Notification !== 'undefined' && Notification.permission === 'default') {
        // Browsers ask only after a click: the menu item is that click.
        const item = h('li', null, h('button', {
            type: 'button',
            class: 'menu-item',
            onclick: () => Notification.requestPermission().then(() => item.remove()).catch(() => {}),
        }, 'Turn on desktop notifications'));
        items.push(item);
    }
    items.push(h('li', null, h('button', { type: 'button', class: 'menu-item', onclick: () => logout() }, 'Log out')));
    const menu = h('ul', { id: 'user-menu', class: 'user-menu', hidden: true }, items);
    const setOpen = (/** @type {boolean} */ open) => {
        menu.hidden = !open;
        userButton.setAttribute('aria-expanded', String(open));
        if (open) {
            /** @type {HTMLElement | null} */ (menu.querySelector('a, button'))?.focus();
        }
    };
    userButton.addEventListener('click', () => setOpen(menu.hidden));
    menu.addEventListener('click', (event) => {
        if (/** @type {Element} */ (event.target).closest('a, button')) {
            setOpen(false);
        }
    });
    menu.addEventListener('keydown', (event) => {
        const entries = /** @type {HTMLElement[]} */ (Array.from(menu.querySelectorAll('a, button')));
        const index = entries.indexOf(/** @type {HTMLElement} */ (document.activeElement));
        if (event.key === 'Escape') {
            event.preventDefault();
            setOpen(false);
            userButton.focus();
        } else if (event.key === 'ArrowDown') {
            event.preventDefault();
            entries[(index + 1) % entries.length].focus();
        } else if (event.key === 'ArrowUp') {
            event.preventDefault();
            entries[(index - 1 + entries.length) % entries.length].focus();
        }
    });
    document.addEventListener('click', (event) => {
        const target = /** @type {Node} */ (event.target);
        if (!menu.hidden && !menu.contains(target) && !userButton.contains(target)) {
            setOpen(false);
        }
    });
    /** @type {Topbar} */
    const bar = {
        onMenu: null,
        element: h('header', { class: 'topbar' },
            menuButton,
            h('a', { href: '/', class: 'brand', dataset: { link: '' } }, 'Chorus'),
            h('span', { class: 'team-name' }, app.model.team ? app.model.team.display_name : ''),
            connection,
            h('div', { class: 'user' }, userButton, menu)),
        setMenuExpanded: (open) => menuButton.setAttribute('aria-expanded', String(open)),
        focusMenu: () => menuButton.focus(),
    };
    menuButton.addEventListener('click', () => bar.onMenu?.());
    const teamName = bar.element.querySelector('.team-name');
    app.model.addEventListener('channels', () => {
        teamName.textContent = app.model.team ? app.model.team.display_name : '';
    });
    return bar;
}

/** @param {string} status */
function setConnection(status) {
    clear(connection);
    connection.className = `connection ${status}`;
    if (status === 'reconnecting') {
        connection.append(h('span', { class: 'dot', 'aria-hidden': 'true' }), 'Reconnecting…');
    }
    document.body.dataset.connection = status;
}

// ---- team selection -----------------------------------------------------------------

function mountSelectTeam() {
    const message = takeFlash();
    const list = h('ul', { class: 'pick-list' }, h('li', null, 'Loading…'));
    const error = h('p', { class: 'form-error', role: 'alert' }, message);
    const displayName = field('Team name', h('input', { type: 'text', maxlength: '64', autocomplete: 'off' }));
    const urlName = field('URL name', h('input', { type: 'text', maxlength: '64', autocomplete: 'off' }), 'Lower-case letters, digits and -.');
    let edited = false;
    displayName.input.addEventListener('input', () => {
        if (!edited) {
            urlName.input.value = slugify(displayName.input.value);
        }
    });
    urlName.input.addEventListener('input', () => { edited = true; });
    const createError = h('p', { class: 'form-error', role: 'alert' });
    const form = h('form', { class: 'form', novalidate: true }, displayName.wrap, urlName.wrap, createError,
        h('div', { class: 'actions left' }, h('button', { type: 'submit', class: 'button primary' }, 'Create team')));
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        createError.textContent = '';
        if (!displayName.input.value.trim()) {
            createError.textContent = 'Enter a name for the team.';
            displayName.input.focus();
            return;
        }
        try {
            const team = await app.model.createTeam({
                display_name: displayName.input.value.trim(),
                name: urlName.input.value.trim() || slugify(displayName.input.value),
                type: 'O',
            });
            navigate(`/${team.name}/channels/town-square`);
        } catch (err) {
            createError.textContent = err.message;
        }
    });
    const bar = topbar();
    clear(root).append(h('div', { class: 'layout plain' }, bar.element,
        h('main', { id: 'main', class: 'select-team', tabindex: '-1' },
            h('h1', null, 'Teams'),
            error,
            h('section', { class: 'panel' }, h('h2', null, 'Join a team'), list),
            h('section', { class: 'panel' }, h('h2', null, 'Create a team'), form))));
    document.title = 'Teams - Chorus';
    Promise.all([app.model.allTeams().catch((err) => {
        error.textContent = `Cannot list teams: ${err.message}`;
        return /** @type {Team[]} */ ([]);
    }), app.model.loadTeams()]).then(([teams, mine]) => {
        clear(list);
        const mineIds = new Set(mine.map((t) => t.id));
        const all = [...mine, ...(teams || []).filter((t) => !mineIds.has(t.id))];
        if (all.length === 0) {
            list.append(h('li', null, 'There is no team you can join yet: create one.'));
        }
        for (const team of all) {
            const member = mineIds.has(team.id);
            list.append(h('li', null,
                h('span', { class: 'pick-name' }, team.display_name),
                h('span', { class: 'pick-meta' }, `/${team.name}`),
                h('button', {
                    type: 'button',
                    class: 'button small',
                    'aria-label': `${member ? 'Open' : 'Join'} ${team.display_name}`,
                    onclick: async () => {
                        try {
                            if (!member) {
                                await app.model.joinTeam(team);
                            }
                            navigate(`/${team.name}/channels/town-square`);
                        } catch (err) {
                            error.textContent = err.message;
                        }
                    },
                }, member ? 'Open' : 'Join')));
        }
    });
}

// ---- plugin root components ------------------------------------------------------------

/** @type {Map<string, {element: HTMLElement, cleanup: (() => void) | null}>} registration id -> mounted */
const rootComponents = new Map();

function renderRootComponents() {
    const wanted = new Map(app.host.list('rootComponent').map((item) => [item.id, item]));
    for (const [id, mounted] of rootComponents) {
        if (!wanted.has(id)) {
            try {
                mounted.cleanup?.();
            } catch (err) {
                console.error(err);
            }
            mounted.element.remove();
            rootComponents.delete(id);
        }
    }
    for (const [id, item] of wanted) {
        if (rootComponents.has(id)) {
            continue;
        }
        const element = h('div', { class: 'plugin-root-component', dataset: { pluginId: item.pluginId } });
        pluginRoot.append(element);
        let cleanup = null;
        try {
            const result = item.component(element, { store: app.host.storeFor(item.pluginId) });
            cleanup = typeof result === 'function' ? result : null;
        } catch (err) {
            console.error(`plugin ${item.pluginId}: root component failed`, err);
        }
        rootComponents.set(id, { element, cleanup });
    }
}

// ---- session --------------------------------------------------------------------------

/** @param {User} user @param {string} target */
async function signedIn(user, target) {
    app.me = user;
    const model = new Model(user);
    app.model = model;
    app.host = new PluginHost({
        getState: () => storeState(app.model),
        listBundles: () => model.webappPlugins(),
        fetch: (url, options) => model.pluginFetch(url, options),
    });
    app.host.onChange((kind) => {
        if (kind === 'rootComponent') {
            renderRootComponents();
        }
    });
    app.model.addEventListener('channels', () => app.host.notifyStore());
    app.socket = new Socket({
        onEvent: (msg) => {
            app.model.handleEvent(msg);
            if (msg.event === 'plugin_enabled' || msg.event === 'plugin_disabled') {
                app.model.commands = null; // a plugin's slash commands come and go with it
                app.host.sync();
            }
            app.host.dispatchEvent(msg);
        },
        onStatus: (status) => setConnection(status),
        onResync: () => {
            // A catch-up that fails (the load balancer still settling, a node going
            // away again) is retried: giving up would leave missed posts unseen.
            const attempt = (/** @type {number} */ n) => app.model.resync().catch((err) => {
                console.warn(`catch-up failed (attempt ${n + 1}):`, err.message);
                if (n < 6) {
                    setTimeout(() => attempt(n + 1), 500 * 2 ** n);
                }
            });
            attempt(0);
        },
        onReconnected: () => app.host.sync(),
        onAuthFailed: () => {
            // Refused at upgrade: if the session ended, the 401 signs the page out.
            model.checkSession().catch(() => {});
        },
    });
    app.socket.start();
    document.body.append(connection);
    setConnection('connecting');
    app.host.sync();
    try {
        await app.model.loadTeams();
    } catch (err) {
        console.warn('cannot load teams:', err.message);
    }
    navigate(target, { replace: true });
}

/** @param {string} message */
function signedOut(message) {
    app.socket?.stop();
    if (app.host) {
        for (const id of app.host.loadedIds()) {
            app.host.unload(id);
        }
    }
    setScreen(null, null);
    app.me = null;
    app.model = null;
    app.socket = null;
    connection.remove();
    document.body.dataset.connection = '';
    navigate('/login', { replace: true, message });
}

async function logout() {
    try {
        await app.model.logout();
    } catch (err) {
        console.warn('logout:', err.message);
    }
    signedOut('You are logged out.');
}

onSessionEnded(() => {
    if (app.me) {
        signedOut('Your session has ended: log in again.');
    }
});

async function boot() {
    const current = parseRoute(location.pathname);
    try {
        const me = await currentUser();
        const target = current.name === 'login' || current.name === 'signup' ? (redirectTarget() || '/') : location.pathname + location.search;
        await signedIn(me, target);
    } catch (err) {
        if (err.status !== 401) {
            console.warn('cannot check the session:', err.message);
        }
        route();
    }
}

boot();
