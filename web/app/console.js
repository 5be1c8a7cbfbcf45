// @ts-check
// Owns the System Console (system admins): plugin management across the cluster and the
// cluster's nodes. Both pages refresh every 2 s while open, updating rows in place
// so that focus and open forms survive a refresh. Server calls go through the model.

import { h, clear, field, openDialog, confirmDialog, formatTime, uid } from './dom.js';

const REFRESH_MS = 2000;

/** @type {Record<number, string>} */
export const PLUGIN_STATES = {
    0: 'Not running',
    1: 'Starting',
    2: 'Running',
    3: 'Failed to start',
    4: 'Failed to stay running',
    5: 'Stopping',
};

/** @type {Record<number, string>} */
const STATE_CLASS = { 0: 'idle', 1: 'busy', 2: 'ok', 3: 'bad', 4: 'bad', 5: 'busy' };

/** @typedef {import('./model.js').Model} Model */
/**
 * A setting of a manifest's settings_schema.
 * @typedef {object} PluginSetting
 * @property {string} key
 * @property {string} [display_name]
 * @property {string} [type] bool, radio, dropdown, longtext, number, generated, custom, text
 * @property {string} [help_text]
 * @property {string} [placeholder]
 * @property {any} [default]
 * @property {Array<{display_name?: string, value: string}>} [options]
 */
/**
 * @typedef {object} PluginManifest
 * @property {string} id
 * @property {string} [name]
 * @property {string} [version]
 * @property {string} [description]
 * @property {{header?: string, footer?: string, settings?: PluginSetting[]}} [settings_schema]
 */
/**
 * A plugin's state on one node.
 * @typedef {object} PluginStatus
 * @property {string} plugin_id
 * @property {string} cluster_id
 * @property {number} state a key of PLUGIN_STATES
 * @property {string} [name]
 * @property {string} [description]
 * @property {string} [version]
 * @property {string} [error]
 */

/**
 * The console screen. Returns {show(page), destroy()}.
 * @param {HTMLElement} root
 * @param {{model: Model, navigate: import('./types.js').Navigate, topbar: import('./types.js').Topbar}} options
 */
export function mountConsole(root, { model, navigate, topbar }) {
    const main = h('main', { id: 'main', class: 'console-main', tabindex: '-1' });
    const links = [
        ['plugins', 'Plugin Management', '/admin_console/plugins'],
        ['cluster', 'Cluster', '/admin_console/cluster'],
    ];
    const nav = h('nav', { class: 'console-nav sidebar', id: 'sidebar', 'aria-label': 'System Console' },
        h('h2', null, 'System Console'),
        h('ul', null, links.map(([key, label, href]) => h('li', null,
            h('a', { href, class: 'channel-link', dataset: { link: '', page: key } }, label)))),
        h('p', { class: 'sidebar-foot' }, h('a', { href: '/', dataset: { link: '' } }, '← Back to chat')),
    );
    const layout = h('div', { class: 'layout console' }, topbar.element, nav, main,
        h('div', { class: 'backdrop', onclick: () => setNavOpen(false) }));
    clear(root).append(layout);
    topbar.onMenu = () => setNavOpen(!layout.classList.contains('sidebar-open'));
    /** @param {boolean} open */
    function setNavOpen(open) {
        layout.classList.toggle('sidebar-open', open);
        topbar.setMenuExpanded(open);
    }
    nav.addEventListener('click', (event) => {
        if (/** @type {Element} */ (event.target).closest('a')) {
            setNavOpen(false);
        }
    });

    /** @type {{destroy: () => void} | null} */
    let page = null;

    /** @param {string} name 'plugins' or 'cluster' */
    function show(name) {
        page?.destroy();
        page = null;
        for (const a of Array.from(/** @type {NodeListOf<HTMLAnchorElement>} */ (nav.querySelectorAll('a[data-page]')))) {
            if (a.dataset.page === name) {
                a.setAttribute('aria-current', 'page');
                a.classList.add('active');
            } else {
                a.removeAttribute('aria-current');
                a.classList.remove('active');
            }
        }
        clear(main);
        nav.querySelector('ul').hidden = !model.isAdmin();
        if (!model.isAdmin()) {
            main.append(
                h('h1', null, 'System Console'),
                h('div', { class: 'refusal', role: 'alert' },
                    h('p', null, h('strong', null, 'You need to be a system admin to open the System Console.')),
                    h('p', null, 'Ask a system admin of this server if you need a change made.')),
                h('p', null, h('a', { href: '/', dataset: { link: '' } }, 'Back to chat')),
            );
            document.title = 'System Console - Chorus';
            return;
        }
        if (name === 'cluster') {
            page = clusterPage(main, model);
            document.title = 'Cluster - System Console - Chorus';
        } else if (name === 'plugins') {
            page = pluginsPage(main, model);
            document.title = 'Plugins - System Console - Chorus';
        } else {
            navigate('/admin_console/plugins', { replace: true });
        }
    }

    return {
        show,
        destroy() {
            page?.destroy();
        },
    };
}

/** Repeats `fn` every REFRESH_MS while the page lives (never two at once). @param {() => Promise<void>} fn */
function poller(fn) {
    let stopped = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    let timer = null;
    const tick = async () => {
        try {
            await fn();
        } finally {
            if (!stopped) {
                timer = setTimeout(tick, REFRESH_MS);
            }
        }
    };
    tick();
    return {
        now: () => fn(),
        stop() {
            stopped = true;
            clearTimeout(timer);
        },
    };
}

// ---- Plugins ------------------------------------------------------------------------

/** @param {HTMLElement} main @param {Model} model */
function pluginsPage(main, model) {
    const pageError = h('div', { class: 'notice', role: 'alert', hidden: true });
    const cards = h('div', { class: 'plugin-cards' });
    const empty = h('p', { class: 'muted' }, 'Loading plugins…');

    // Upload form.
    const fileInput = h('input', { type: 'file', accept: '.tar.gz,.tgz,application/gzip,application/x-gzip', name: 'plugin' });
    const file = field('Plugin bundle (.tar.gz)', fileInput);
    const force = h('input', { type: 'checkbox', name: 'force', id: uid('force') });
    const progress = h('progress', { max: '100', value: '0', hidden: true, 'aria-label': 'Upload progress' });
    const progressText = h('span', { class: 'progress-text', hidden: true });
    const uploadStatus = h('div', { class: 'upload-status', role: 'status' });
    const uploadButton = h('button', { type: 'submit', class: 'button primary' }, 'Upload');
    const uploadForm = h('form', { class: 'form upload-form', 'aria-labelledby': 'upload-title' },
        file.wrap,
        h('div', { class: 'field checkbox' }, force, h('label', { for: force.id }, 'Replace the installed version of this plugin (force)')),
        h('div', { class: 'actions left' }, uploadButton, progress, progressText),
        uploadStatus,
    );
    uploadForm.addEventListener('submit', async (event) => {
        event.preventDefault();
        clear(uploadStatus);
        uploadStatus.className = 'upload-status';
        const chosen = fileInput.files && fileInput.files[0];
        if (!chosen) {
            uploadStatus.classList.add('error');
            uploadStatus.append(h('p', { role: 'alert' }, 'Choose a plugin bundle (.tar.gz) to upload.'));
            fileInput.focus();
            return;
        }
        const form = new FormData();
        if (force.checked) {
            form.append('force', 'true');
        }
        form.append('plugin', chosen, chosen.name);
        uploadButton.disabled = true;
        progress.hidden = false;
        progressText.hidden = false;
        progress.value = 0;
        progressText.textContent = '0%';
        try {
            const manifest = await model.uploadPlugin(form, (fraction) => {
                progress.value = Math.round(fraction * 100);
                progressText.textContent = `${Math.round(fraction * 100)}%`;
            });
            uploadStatus.classList.add('success');
            uploadStatus.append(h('p', null, `Uploaded ${manifest?.name || chosen.name} ${manifest?.version || ''}. `,
                'Uploaded plugins start disabled: enable it below.'));
            fileInput.value = '';
            force.checked = false;
            refresh.now();
        } catch (err) {
            uploadStatus.classList.add('error');
            // The server's message says why (uploads refused with 501 names the setting).
            const hint = err.id === 'app.plugin.install_id.app_error' ? ' Tick "Replace the installed version" to replace it.' : '';
            uploadStatus.append(h('p', { role: 'alert' }, h('strong', null, 'Upload failed: '), err.message, hint));
        } finally {
            uploadButton.disabled = false;
            progress.hidden = true;
            progressText.hidden = true;
        }
    });

    main.append(
        h('h1', null, 'Plugin Management'),
        pageError,
        h('section', { class: 'panel' }, h('h2', { id: 'upload-title' }, 'Upload a plugin'), uploadForm),
        h('section', { class: 'panel' }, h('h2', null, 'Installed plugins'),
            h('p', { class: 'muted' }, 'State and version of each plugin on every node of the cluster, refreshed every 2 seconds.'),
            empty, cards),
    );

    const known = new Map(); // id -> card controller
    let config = null;
    let thisNode = '';
    model.systemPing().then((ping) => { thisNode = ping?.node_id || ''; }).catch(() => {});

    async function load() {
        let plugins;
        let statuses;
        let config;
        try {
            [plugins, statuses, config] = await Promise.all([model.plugins(), model.pluginStatuses(), model.config()]);
            pageError.hidden = true;
        } catch (err) {
            pageError.hidden = false;
            pageError.textContent = `Cannot load the plugins: ${err.message}`;
            empty.textContent = '';
            return;
        }
        const manifests = new Map();
        for (const manifest of [...(plugins.active || []), ...(plugins.inactive || [])]) {
            manifests.set(manifest.id, manifest);
        }
        const byPlugin = new Map();
        for (const status of statuses || []) {
            if (!byPlugin.has(status.plugin_id)) {
                byPlugin.set(status.plugin_id, []);
            }
            byPlugin.get(status.plugin_id).push(status);
        }
        const ids = [...new Set([...manifests.keys(), ...byPlugin.keys()])].sort((a, b) => {
            const na = (manifests.get(a)?.name || a).toLowerCase();
            const nb = (manifests.get(b)?.name || b).toLowerCase();
            return na.localeCompare(nb);
        });
        empty.textContent = ids.length === 0 ? 'No plugins are installed.' : '';
        for (const [id, card] of known) {
            if (!ids.includes(id)) {
                card.element.remove();
                known.delete(id);
            }
        }
        let previous = null;
        for (const id of ids) {
            let card = known.get(id);
            if (!card) {
                card = pluginCard(id);
                known.set(id, card);
            }
            card.update(manifests.get(id), byPlugin.get(id) || [], config?.PluginSettings?.PluginStates?.[id]?.Enable === true);
            const expected = previous ? previous.nextSibling : cards.firstChild;
            if (expected !== card.element) {
                cards.insertBefore(card.element, expected);
            }
            previous = card.element;
        }
    }

    /** @param {string} id */
    function pluginCard(id) {
        const titleId = uid('plugin');
        const title = h('h3', { id: titleId });
        const meta = h('p', { class: 'plugin-meta' });
        const description = h('p', { class: 'plugin-description' });
        const stateBadge = h('span', { class: 'badge' });
        const message = h('p', { class: 'plugin-message', role: 'status' });
        const toggle = h('button', { type: 'button', class: 'button' });
        const settings = h('button', { type: 'button', class: 'button', hidden: true }, 'Settings');
        const remove = h('button', { type: 'button', class: 'button danger' }, 'Remove');
        const rows = h('tbody');
        const table = h('table', { class: 'node-table' },
            h('caption', { class: 'sr-only' }, `Status on each node`),
            h('thead', null, h('tr', null,
                h('th', { scope: 'col' }, 'Node'),
                h('th', { scope: 'col' }, 'State'),
                h('th', { scope: 'col' }, 'Version'),
                h('th', { scope: 'col' }, 'Error'))),
            rows);
        const element = h('article', { class: 'plugin-card', 'aria-labelledby': titleId, dataset: { pluginId: id } },
            h('div', { class: 'plugin-head' },
                h('div', null, title, meta),
                h('div', { class: 'plugin-actions' }, stateBadge, toggle, settings, remove)),
            description,
            message,
            h('div', { class: 'table-wrap' }, table),
        );
        /** @type {PluginManifest | null} */
        let manifest = null;
        let enabled = false;
        let busy = false;

        const act = async (/** @type {string} */ label, /** @type {() => Promise<unknown>} */ fn) => {
            busy = true;
            toggle.disabled = true;
            remove.disabled = true;
            message.className = 'plugin-message';
            message.textContent = `${label}…`;
            try {
                await fn();
                message.textContent = '';
            } catch (err) {
                message.className = 'plugin-message error';
                message.textContent = err.message;
            } finally {
                busy = false;
                toggle.disabled = false;
                remove.disabled = false;
                await refresh.now();
            }
        };
        toggle.addEventListener('click', () => {
            const name = manifest?.name || id;
            if (enabled) {
                act(`Disabling ${name}`, () => model.disablePlugin(id));
            } else {
                act(`Enabling ${name}`, () => model.enablePlugin(id));
            }
        });
        remove.addEventListener('click', async () => {
            const name = manifest?.name || id;
            const ok = await confirmDialog('Remove plugin', `Remove ${name} (${id}) from every node? Its settings and data stay in the database.`, 'Remove', { danger: true });
            if (ok) {
                act(`Removing ${name}`, () => model.removePlugin(id));
            }
        });
        settings.addEventListener('click', () => openSettings(manifest));

        /**
         * @param {PluginManifest | undefined} nextManifest
         * @param {PluginStatus[]} statuses
         * @param {boolean} enabledForCluster
         */
        function update(nextManifest, statuses, enabledForCluster) {
            manifest = nextManifest || manifest;
            const name = manifest?.name || statuses[0]?.name || id;
            title.textContent = name;
            const versions = [...new Set(statuses.map((s) => s.version).filter(Boolean))];
            meta.textContent = `${id} · version ${manifest?.version || versions.join(', ') || '?'}`;
            description.textContent = manifest?.description || statuses[0]?.description || '';
            enabled = enabledForCluster;
            const running = statuses.filter((s) => s.state === 2).length;
            stateBadge.textContent = enabled ? `Enabled · running on ${running} of ${statuses.length} node${statuses.length === 1 ? '' : 's'}` : 'Disabled';
            stateBadge.className = `badge ${enabled ? (running === statuses.length ? 'ok' : 'busy') : 'idle'}`;
            if (!busy) {
                toggle.textContent = enabled ? 'Disable' : 'Enable';
            }
            toggle.setAttribute('aria-label', `${enabled ? 'Disable' : 'Enable'} ${name}`);
            remove.setAttribute('aria-label', `Remove ${name}`);
            settings.setAttribute('aria-label', `Settings of ${name}`);
            settings.hidden = !(manifest?.settings_schema?.settings?.length > 0);
            const sorted = [...statuses].sort((a, b) => a.cluster_id.localeCompare(b.cluster_id));
            clear(rows);
            if (sorted.length === 0) {
                rows.append(h('tr', null, h('td', { colspan: '4', class: 'muted' }, 'No node has reported this plugin yet.')));
            }
            for (const status of sorted) {
                rows.append(h('tr', { dataset: { nodeId: status.cluster_id, state: String(status.state) } },
                    h('td', null, h('span', { class: 'mono' }, status.cluster_id || 'this node'),
                        status.cluster_id && status.cluster_id === thisNode ? h('span', { class: 'muted' }, ' (this node)') : null),
                    h('td', null, h('span', { class: `state ${STATE_CLASS[status.state] || ''}` }, PLUGIN_STATES[status.state] ?? `State ${status.state}`)),
                    h('td', null, status.version || ''),
                    h('td', { class: 'error-cell' }, status.error || '')));
            }
        }
        return { element, update };
    }

    /** @param {PluginManifest | null} manifest */
    async function openSettings(manifest) {
        if (!manifest) {
            return;
        }
        /** @type {Record<string, any>} */
        let saved = {};
        try {
            config = await model.config();
            const plugins = config?.PluginSettings?.Plugins || {};
            saved = plugins[manifest.id] || plugins[manifest.id.toLowerCase()] || {};
        } catch (err) {
            saved = {};
            console.warn('cannot read the configuration:', err.message);
        }
        const lookup = (/** @type {string} */ key) => {
            if (Object.prototype.hasOwnProperty.call(saved, key)) {
                return saved[key];
            }
            const lower = key.toLowerCase();
            const found = Object.keys(saved).find((k) => k.toLowerCase() === lower);
            return found === undefined ? undefined : saved[found];
        };
        await openDialog(`${manifest.name} settings`, (close) => {
            const schema = manifest.settings_schema || {};
            /** @type {Array<{setting: PluginSetting, read: () => {value?: any, error?: string}}>} */
            const inputs = [];
            const form = h('form', { class: 'form settings-form', novalidate: true });
            if (schema.header) {
                form.append(h('p', { class: 'muted' }, schema.header));
            }
            for (const setting of schema.settings || []) {
                const current = lookup(setting.key);
                const value = current === undefined || current === null ? setting.default : current;
                const control = settingControl(setting, value);
                if (control.read) {
                    inputs.push({ setting, read: control.read });
                }
                form.append(control.element);
            }
            if (schema.footer) {
                form.append(h('p', { class: 'muted' }, schema.footer));
            }
            const status = h('p', { class: 'form-status', role: 'status' });
            const error = h('p', { class: 'form-error', role: 'alert' });
            form.append(error, status, h('div', { class: 'actions' },
                h('button', { type: 'button', class: 'button', onclick: () => close() }, 'Cancel'),
                h('button', { type: 'submit', class: 'button primary' }, 'Save')));
            form.addEventListener('submit', async (event) => {
                event.preventDefault();
                error.textContent = '';
                status.textContent = '';
                /** @type {Record<string, any>} */
                const values = {};
                for (const { setting, read } of inputs) {
                    const result = read();
                    if (result && result.error) {
                        error.textContent = `${setting.display_name || setting.key}: ${result.error}`;
                        return;
                    }
                    values[setting.key] = result.value;
                }
                try {
                    await model.patchConfig({ PluginSettings: { Plugins: { [manifest.id]: values } } });
                    status.textContent = 'Settings saved.';
                    close(true);
                } catch (err) {
                    error.textContent = err.message;
                }
            });
            return form;
        });
    }

    const refresh = poller(load);
    return {
        destroy() {
            refresh.stop();
        },
    };
}

/**
 * One setting of a manifest's settings_schema as a labelled control.
 * @param {PluginSetting} setting
 * @param {any} value the saved value, else the default
 * @returns {{element: HTMLElement, read: (() => {value?: any, error?: string}) | null}}
 */
function settingControl(setting, value) {
    const label = setting.display_name || setting.key;
    const help = setting.help_text || '';
    const type = (setting.type || 'text').toLowerCase();
    const options = setting.options || [];
    if (type === 'bool') {
        const input = h('input', { type: 'checkbox', checked: value === true || value === 'true' });
        input.id = uid('set');
        const helpId = uid('help');
        if (help) {
            input.setAttribute('aria-describedby', helpId);
        }
        return {
            element: h('div', { class: 'field checkbox' }, input, h('label', { for: input.id }, label), help ? h('p', { class: 'help', id: helpId }, help) : null),
            read: () => ({ value: input.checked }),
        };
    }
    if (type === 'radio') {
        const name = uid('radio');
        const radios = options.map((option) => {
            const input = h('input', { type: 'radio', name, value: option.value, checked: String(value) === option.value });
            input.id = uid('opt');
            return { input, element: h('div', { class: 'radio' }, input, h('label', { for: input.id }, option.display_name || option.value)) };
        });
        return {
            element: h('fieldset', { class: 'field' }, h('legend', null, label), radios.map((r) => r.element), help ? h('p', { class: 'help' }, help) : null),
            read: () => ({ value: radios.find((r) => r.input.checked)?.input.value ?? setting.default ?? '' }),
        };
    }
    if (type === 'dropdown') {
        const select = h('select', null, options.map((option) => h('option', { value: option.value, selected: String(value) === option.value }, option.display_name || option.value)));
        const f = field(label, select, help);
        return { element: f.wrap, read: () => ({ value: select.value }) };
    }
    if (type === 'longtext') {
        const textarea = h('textarea', { rows: '4', placeholder: setting.placeholder || false });
        textarea.value = value ?? '';
        const f = field(label, textarea, help);
        return { element: f.wrap, read: () => ({ value: textarea.value }) };
    }
    if (type === 'number') {
        const input = h('input', { type: 'number', inputmode: 'numeric', placeholder: setting.placeholder || false });
        input.value = value ?? '';
        const f = field(label, input, help);
        return {
            element: f.wrap,
            read: () => {
                if (input.value.trim() === '') {
                    return { value: setting.default ?? null };
                }
                const n = Number(input.value);
                return Number.isFinite(n) ? { value: n } : { error: 'enter a number' };
            },
        };
    }
    if (type === 'generated' || type === 'custom') {
        return {
            element: h('div', { class: 'field' }, h('p', null, h('strong', null, label), ': ', type === 'generated' ? 'generated by the plugin' : 'managed by the plugin'), help ? h('p', { class: 'help' }, help) : null),
            read: null,
        };
    }
    const input = h('input', { type: 'text', placeholder: setting.placeholder || false });
    input.value = value ?? '';
    const f = field(label, input, help);
    return { element: f.wrap, read: () => ({ value: input.value }) };
}

// ---- Cluster -------------------------------------------------------------------------

/** @param {HTMLElement} main @param {Model} model */
function clusterPage(main, model) {
    const error = h('div', { class: 'notice', role: 'alert', hidden: true });
    const summary = h('p', { class: 'muted' }, 'Loading…');
    const rows = h('tbody');
    const table = h('table', { class: 'node-table wide' },
        h('caption', { class: 'sr-only' }, 'Live nodes'),
        h('thead', null, h('tr', null,
            ['Node id', 'Host name', 'Version', 'Address', 'Cluster', 'Started', 'Last heartbeat'].map((t) => h('th', { scope: 'col' }, t)))),
        rows);
    let thisNode = '';
    model.systemPing().then((ping) => { thisNode = ping?.node_id || ''; }).catch(() => {});
    main.append(h('h1', null, 'Cluster'), error,
        h('section', { class: 'panel' }, h('h2', null, 'Nodes'), summary, h('div', { class: 'table-wrap' }, table)));
    async function load() {
        let nodes;
        try {
            nodes = await model.clusterStatus();
            error.hidden = true;
        } catch (err) {
            error.hidden = false;
            error.textContent = `Cannot load the cluster status: ${err.message}`;
            return;
        }
        nodes = (nodes || []).sort((a, b) => a.id.localeCompare(b.id));
        summary.textContent = nodes.length === 0 ? 'No node has reported (clustering may be off on this server).'
            : `${nodes.length} live node${nodes.length === 1 ? '' : 's'}, refreshed every 2 seconds.`;
        clear(rows);
        for (const node of nodes) {
            rows.append(h('tr', { dataset: { nodeId: node.id } },
                h('td', null, h('span', { class: 'mono' }, node.id), node.id === thisNode ? h('span', { class: 'muted' }, ' (this node)') : null),
                h('td', null, node.hostname || ''),
                h('td', null, node.version || ''),
                h('td', { class: 'mono' }, node.ipaddress || ''),
                h('td', null, node.cluster_name || ''),
                h('td', null, node.started_at ? formatTime(node.started_at) : ''),
                h('td', null, node.last_heartbeat_at ? `${Math.max(0, Math.round((Date.now() - node.last_heartbeat_at) / 1000))} s ago` : '')));
        }
    }
    const refresh = poller(load);
    return { destroy: () => refresh.stop() };
}
