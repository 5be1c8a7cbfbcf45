// @ts-check
// Owns the plugins' web bundles: loading, the registry handed to
// plugin.initialize(registry, store), and unloading. See docs/plugin-webapp.md for the
// contract. The list of bundles and the plugins' fetch come from the model (passed in).
//
// A bundle is a classic script served under /static/plugins/<id>/… that calls
// window.registerPlugin(id, plugin). The app calls plugin.initialize(registry, store).
// Everything a plugin registers is recorded under its id, so that when the plugin
// stops (a `plugin_disabled` event, or it disappears from /plugins/webapp) the app
// calls plugin.uninitialize() and removes all of it without a page reload.

/** @typedef {import('./types.js').StoreState} StoreState */
/** @typedef {import('./types.js').WebappPlugin} WebappPlugin */
/**
 * A registered item: `kind` says which of the optional fields it has.
 * @typedef {object} RegistryItem
 * @property {string} id
 * @property {string} pluginId
 * @property {string} kind
 * @property {any} [icon]
 * @property {(channel: any, member: any) => void} [action]
 * @property {any} [dropdownText]
 * @property {any} [tooltipText]
 * @property {string} [event]
 * @property {(msg: any) => void} [handler]
 * @property {(el: HTMLElement, props: any) => any} [component]
 * @property {string} [type]
 * @property {(message: string, args: any) => any} [hook]
 */
/**
 * @typedef {object} LoadedPlugin
 * @property {string} version
 * @property {string} bundlePath
 * @property {HTMLScriptElement | null} script
 * @property {any} plugin
 * @property {Set<string>} items
 * @property {boolean} initialized
 * @property {Set<() => void>} [storeListeners]
 */

const KINDS = ['channelHeaderButton', 'webSocketHandler', 'rootComponent', 'postTypeComponent', 'slashCommandHook'];

export class PluginHost {
    /**
     * @param {object} options
     * @param {() => StoreState} options.getState the store snapshot plugins see
     * @param {() => Promise<WebappPlugin[]>} options.listBundles the bundles that should run
     * @param {(url: string, options?: RequestInit) => Promise<Response>} options.fetch store.fetch
     */
    constructor({ getState, listBundles, fetch }) {
        this.getState = getState;
        this.listBundles = listBundles;
        this.fetch = fetch;
        /** @type {Map<string, LoadedPlugin>} plugin id -> its bundle */
        this.loaded = new Map();
        /** @type {Map<string, RegistryItem>} registration id -> item */
        this.items = new Map();
        /** @type {Set<(kind: string) => void>} called on any registry change */
        this.listeners = new Set();
        /** @type {Set<() => void>} */
        this.storeListeners = new Set();
        this.nextId = 1;
        /** @type {Map<string, () => void>} plugin id -> resolve, while its script loads */
        this.pending = new Map();
        /** @type {Promise<void> | null} */
        this.syncing = null;
        this.resyncRequested = false;
        // The bundles' entry point (part of the plugin contract, not a back-channel).
        /** @type {any} */ (window).registerPlugin = (/** @type {string} */ id, /** @type {any} */ plugin) => this.register(id, plugin);
    }

    /** Subscribe to registry changes: fn(kind). @param {(kind: string) => void} fn */
    onChange(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }

    /** @param {string} kind */
    changed(kind) {
        for (const fn of this.listeners) {
            try {
                fn(kind);
            } catch (err) {
                console.error(err);
            }
        }
    }

    /** Called by the app when its state changes (for store.subscribe). */
    notifyStore() {
        for (const fn of this.storeListeners) {
            try {
                fn();
            } catch (err) {
                console.error('plugin store listener failed', err);
            }
        }
    }

    /** @param {string} kind @returns {RegistryItem[]} */
    list(kind) {
        return [...this.items.values()].filter((item) => item.kind === kind);
    }

    /**
     * Fetches the bundle list (/plugins/webapp) and loads new bundles, unloads gone ones.
     * Coalesces calls.
     * @returns {Promise<void>}
     */
    sync() {
        if (this.syncing) {
            this.resyncRequested = true;
            return this.syncing;
        }
        this.syncing = (async () => {
            do {
                this.resyncRequested = false;
                let wanted;
                try {
                    wanted = await this.listBundles();
                } catch (err) {
                    console.warn('cannot list plugin web bundles:', err.message);
                    return;
                }
                const byId = new Map((wanted || []).filter((p) => p.webapp && p.webapp.bundle_path).map((p) => [p.id, p]));
                for (const [id, entry] of this.loaded) {
                    const next = byId.get(id);
                    if (!next || next.version !== entry.version || next.webapp.bundle_path !== entry.bundlePath) {
                        this.unload(id);
                    }
                }
                await Promise.all([...byId.values()].filter((p) => !this.loaded.has(p.id)).map((p) => this.load(p)));
            } while (this.resyncRequested);
        })().finally(() => {
            this.syncing = null;
        });
        return this.syncing;
    }

    /** @param {WebappPlugin} plugin @returns {Promise<void>} */
    load({ id, version, webapp }) {
        /** @type {LoadedPlugin} */
        const entry = { version, bundlePath: webapp.bundle_path, script: null, plugin: null, items: new Set(), initialized: false };
        this.loaded.set(id, entry);
        return new Promise((resolve) => {
            const script = document.createElement('script');
            const separator = webapp.bundle_path.includes('?') ? '&' : '?';
            // A fresh URL per load, so that a re-enabled plugin's script runs again.
            script.src = `${webapp.bundle_path}${separator}v=${encodeURIComponent(version)}&t=${Date.now()}`;
            script.async = true;
            script.dataset.pluginId = id;
            this.pending.set(id, resolve);
            script.onload = () => {
                // A bundle that never called registerPlugin is left loaded but inert.
                if (this.pending.get(id) === resolve) {
                    this.pending.delete(id);
                    console.warn(`plugin ${id}: its bundle did not call window.registerPlugin`);
                    resolve();
                }
            };
            script.onerror = () => {
                console.warn(`plugin ${id}: cannot load ${webapp.bundle_path}`);
                this.pending.delete(id);
                if (this.loaded.get(id) === entry) {
                    this.loaded.delete(id);
                }
                script.remove();
                resolve();
            };
            entry.script = script;
            document.head.append(script);
        });
    }

    /** window.registerPlugin(id, plugin), called by a bundle. @param {string} id @param {any} plugin */
    register(id, plugin) {
        const entry = this.loaded.get(id);
        const resolve = this.pending.get(id);
        this.pending.delete(id);
        if (!entry || entry.plugin) {
            console.warn(`registerPlugin(${id}): no bundle of that plugin is loading; ignored`);
            resolve?.();
            return;
        }
        entry.plugin = plugin;
        Promise.resolve()
            .then(() => plugin && typeof plugin.initialize === 'function' && plugin.initialize(this.registryFor(id), this.storeFor(id)))
            .then(() => {
                entry.initialized = true;
            })
            .catch((err) => console.error(`plugin ${id}: initialize failed`, err))
            .finally(() => resolve?.());
    }

    /** @param {string} id */
    unload(id) {
        const entry = this.loaded.get(id);
        if (!entry) {
            return;
        }
        this.loaded.delete(id);
        this.pending.get(id)?.();
        this.pending.delete(id);
        try {
            entry.plugin?.uninitialize?.();
        } catch (err) {
            console.error(`plugin ${id}: uninitialize failed`, err);
        }
        const kinds = new Set();
        for (const regId of entry.items) {
            const item = this.items.get(regId);
            if (item) {
                kinds.add(item.kind);
                this.items.delete(regId);
            }
        }
        for (const fn of entry.storeListeners || []) {
            this.storeListeners.delete(fn);
        }
        entry.script?.remove();
        kinds.forEach((kind) => this.changed(kind));
    }

    /** @param {string} pluginId @param {string} kind @param {object} fields */
    add(pluginId, kind, fields) {
        const entry = this.loaded.get(pluginId);
        if (!entry) {
            throw new Error(`plugin ${pluginId} is not loaded`);
        }
        const id = `${pluginId}:${kind}:${this.nextId++}`;
        this.items.set(id, { id, pluginId, kind, ...fields });
        entry.items.add(id);
        this.changed(kind);
        return id;
    }

    /** @param {string} pluginId */
    registryFor(pluginId) {
        const add = (/** @type {string} */ kind, /** @type {object} */ fields) => this.add(pluginId, kind, fields);
        /** @typedef {RegistryItem} I */
        return {
            /** @param {I['icon']} icon @param {I['action']} action @param {I['dropdownText']} dropdownText @param {I['tooltipText']} tooltipText */
            registerChannelHeaderButtonAction: (icon, action, dropdownText, tooltipText) =>
                add('channelHeaderButton', { icon, action, dropdownText, tooltipText }),
            /** @param {string} event @param {I['handler']} handler */
            registerWebSocketEventHandler: (event, handler) => add('webSocketHandler', { event, handler }),
            /** @param {I['component']} component */
            registerRootComponent: (component) => add('rootComponent', { component }),
            /** @param {string} type @param {I['component']} component */
            registerPostTypeComponent: (type, component) => add('postTypeComponent', { type, component }),
            /** @param {I['hook']} hook */
            registerSlashCommandWillBePostedHook: (hook) => add('slashCommandHook', { hook }),
            /** @param {string} regId */
            unregisterComponent: (regId) => {
                const item = this.items.get(regId);
                if (!item || item.pluginId !== pluginId) {
                    return false;
                }
                this.items.delete(regId);
                this.loaded.get(pluginId)?.items.delete(regId);
                this.changed(item.kind);
                return true;
            },
            /** @param {string} event */
            unregisterWebSocketEventHandler: (event) => {
                for (const item of this.list('webSocketHandler')) {
                    if (item.pluginId === pluginId && item.event === event) {
                        this.items.delete(item.id);
                        this.loaded.get(pluginId)?.items.delete(item.id);
                    }
                }
            },
        };
    }

    /** @param {string} pluginId */
    storeFor(pluginId) {
        const host = this;
        return {
            getState: () => host.getState(),
            /** @param {() => void} fn */
            subscribe(fn) {
                host.storeListeners.add(fn);
                const entry = host.loaded.get(pluginId);
                if (entry) {
                    entry.storeListeners = entry.storeListeners || new Set();
                    entry.storeListeners.add(fn);
                }
                return () => host.storeListeners.delete(fn);
            },
            fetch: (/** @type {string} */ url, /** @type {RequestInit} */ options) => host.fetch(url, options),
        };
    }

    /** Delivers a websocket event to the plugins' handlers. @param {import('./types.js').SocketEvent} msg */
    dispatchEvent(msg) {
        for (const item of this.list('webSocketHandler')) {
            if (item.event === msg.event) {
                try {
                    item.handler(msg);
                } catch (err) {
                    console.error(`plugin ${item.pluginId}: websocket handler failed`, err);
                }
            }
        }
    }

    /**
     * Runs the slash-command hooks in order. Resolves {message, args} to go on,
     * {error} to refuse with a message, or {swallowed: true}.
     * @param {string} message
     * @param {Record<string, any>} args
     * @returns {Promise<{message?: string, args?: Record<string, any>, error?: {message: string}, swallowed?: boolean}>}
     */
    async runSlashCommandHooks(message, args) {
        /** @type {{message: string, args: Record<string, any>}} */
        let current = { message, args };
        for (const item of this.list('slashCommandHook')) {
            let result;
            try {
                result = await item.hook(current.message, current.args);
            } catch (err) {
                return { error: { message: `${item.pluginId}: ${err.message}` } };
            }
            if (!result) {
                return { swallowed: true };
            }
            if (result.error) {
                return { error: { message: result.error.message || String(result.error) } };
            }
            if (result.message === undefined && result.args === undefined) {
                return { swallowed: true };
            }
            current = { message: result.message ?? current.message, args: result.args ?? current.args };
        }
        return current;
    }

    loadedIds() {
        return [...this.loaded.keys()];
    }
}

/**
 * Renders a registered icon (string, Node, or component function) into `el`.
 * @param {HTMLElement} el
 * @param {any} icon
 */
export function renderIcon(el, icon) {
    if (icon instanceof Node) {
        el.append(icon.cloneNode(true));
    } else if (typeof icon === 'function') {
        try {
            icon(el, {});
        } catch (err) {
            console.error(err);
        }
    } else if (icon && typeof icon === 'object' && icon.props) {
        // A React element from a Mattermost-style bundle: show its text children.
        const text = [icon.props.children].flat().filter((c) => typeof c === 'string').join('');
        el.append(text || '•');
    } else if (icon !== undefined && icon !== null) {
        el.append(String(icon));
    }
}

export { KINDS };
