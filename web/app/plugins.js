// Plugin web bundles: loading, the registry handed to plugin.initialize(registry,
// store), and unloading. See docs/plugin-webapp.md for the contract.
//
// A bundle is a classic script served under /static/plugins/<id>/… that calls
// window.registerPlugin(id, plugin). The app calls plugin.initialize(registry, store).
// Everything a plugin registers is recorded under its id, so that when the plugin
// stops (a `plugin_disabled` event, or it disappears from /plugins/webapp) the app
// calls plugin.uninitialize() and removes all of it without a page reload.

import { get, xfetch } from './api.js';

const KINDS = ['channelHeaderButton', 'webSocketHandler', 'rootComponent', 'postTypeComponent', 'slashCommandHook'];

export class PluginHost {
    /** getState(): the store snapshot plugins see. */
    constructor(getState) {
        this.getState = getState;
        this.loaded = new Map(); // id -> {version, script, plugin, items:Set<regId>}
        this.items = new Map(); // regId -> {pluginId, kind, ...}
        this.listeners = new Set(); // (kind) => void, on any registry change
        this.storeListeners = new Set();
        this.nextId = 1;
        this.pending = new Map(); // id -> resolve, while its script loads
        this.syncing = null;
        this.resyncRequested = false;
        window.registerPlugin = (id, plugin) => this.register(id, plugin);
    }

    /** Subscribe to registry changes: fn(kind). */
    onChange(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }

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

    list(kind) {
        return [...this.items.values()].filter((item) => item.kind === kind);
    }

    /** Fetches /plugins/webapp and loads new bundles, unloads gone ones. Coalesces calls. */
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
                    wanted = await get('/plugins/webapp');
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

    load({ id, version, webapp }) {
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

    registryFor(pluginId) {
        const add = (kind, fields) => this.add(pluginId, kind, fields);
        return {
            registerChannelHeaderButtonAction: (icon, action, dropdownText, tooltipText) =>
                add('channelHeaderButton', { icon, action, dropdownText, tooltipText }),
            registerWebSocketEventHandler: (event, handler) => add('webSocketHandler', { event, handler }),
            registerRootComponent: (component) => add('rootComponent', { component }),
            registerPostTypeComponent: (type, component) => add('postTypeComponent', { type, component }),
            registerSlashCommandWillBePostedHook: (hook) => add('slashCommandHook', { hook }),
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

    storeFor(pluginId) {
        const host = this;
        return {
            getState: () => host.getState(),
            subscribe(fn) {
                host.storeListeners.add(fn);
                const entry = host.loaded.get(pluginId);
                if (entry) {
                    entry.storeListeners = entry.storeListeners || new Set();
                    entry.storeListeners.add(fn);
                }
                return () => host.storeListeners.delete(fn);
            },
            fetch: (url, options) => xfetch(url, options),
        };
    }

    /** Delivers a websocket event to the plugins' handlers. */
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
     */
    async runSlashCommandHooks(message, args) {
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

/** Renders a registered icon (string, Node, or component function) into `el`. */
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
