// @ts-check
// Owns the open channel's pane (#main): its header with the search box, the Pinned and
// Saved buttons and the plugins' header buttons,
// the notice line, the message list (kept in step with the model's post events, older
// pages loaded on scrolling up), who is typing, and the channel's composer.

import { h, clear, preserveFocus } from '../dom.js';
import { isEphemeral } from '../model.js';
import { renderIcon } from '../plugins.js';
import { createComposer } from './composer.js';
import { NEAR_BOTTOM_PX, listener } from './shared.js';

/** @typedef {import('../types.js').Channel} Channel */
/** @typedef {import('../types.js').Post} Post */
/** @typedef {import('../types.js').SocketSender} SocketSender */
/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../model.js').ChannelPosts} ChannelPosts */
/** @typedef {import('../plugins.js').PluginHost} PluginHost */
/** @typedef {import('./posts.js').PostRenderer} PostRenderer */
/** @typedef {import('./posts.js').PostElement} PostElement */

const NEAR_TOP_PX = 120;

/**
 * @param {object} options
 * @param {Model} options.model
 * @param {PluginHost} options.host
 * @param {SocketSender} options.socket
 * @param {PostRenderer} options.posts
 * @param {(kind: 'pinned' | 'saved' | 'search', terms?: string) => void} options.onShowList the
 *   Pinned and Saved buttons and the search box
 */
export function createChannelView({ model, host, socket, posts: renderer, onShowList }) {
    /** @type {Array<() => void>} */
    const cleanups = [];
    const listen = listener(cleanups);

    const channelTitle = h('h1', { class: 'channel-title' });
    const channelPurpose = h('p', { class: 'channel-purpose' });
    const headerButtons = h('div', { class: 'header-buttons', role: 'toolbar', 'aria-label': 'Channel actions' });
    const notice = h('div', { class: 'notice', role: 'alert', hidden: true });
    const olderStatus = h('p', { class: 'older-status' });
    const postList = h('div', { class: 'post-list' });
    const messages = h('div', { class: 'messages', role: 'log', 'aria-label': 'Messages', tabindex: '0' }, olderStatus, postList);
    const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
    const composer = createComposer({
        model,
        host,
        socket,
        label: 'Message',
        rootId: () => '',
    });
    /** @type {HTMLInputElement} */
    const searchInput = h('input', {
        type: 'search', class: 'search-input', 'aria-label': 'Search messages', placeholder: 'Search',
        title: 'Words, "phrases", from:name, in:channel, before:/after:/on:YYYY-MM-DD, #tags, -exclusions',
    });
    const searchForm = h('form', {
        class: 'search-form',
        role: 'search',
        onsubmit: (/** @type {Event} */ event) => {
            event.preventDefault();
            if (searchInput.value.trim()) {
                onShowList('search', searchInput.value.trim());
            }
        },
    }, searchInput);
    const element = h('main', { id: 'main', class: 'channel-view', tabindex: '-1' },
        h('header', { class: 'channel-header' }, h('div', { class: 'channel-heading' }, channelTitle, channelPurpose), searchForm, headerButtons),
        notice,
        messages,
        typing,
        composer.element,
    );

    /** @type {Map<string, PostElement>} */
    const postElements = new Map();
    /** @type {Channel | null} the open channel, kept when it leaves the list */
    let openedChannel = null;

    // ---- message list -----------------------------------------------------------
    function isNearBottom() {
        return messages.scrollHeight - messages.scrollTop - messages.clientHeight < NEAR_BOTTOM_PX;
    }

    function scrollToBottom() {
        messages.scrollTop = messages.scrollHeight;
    }

    function renderAllPosts({ keepAnchor = false } = {}) {
        const channelId = model.currentChannelId;
        const posts = model.posts.get(channelId);
        const previousHeight = messages.scrollHeight;
        const previousTop = messages.scrollTop;
        for (const el of postElements.values()) {
            renderer.dispose(el);
        }
        postElements.clear();
        clear(postList);
        if (!posts) {
            return;
        }
        for (const post of posts.sorted()) {
            const el = renderer.render(post);
            postElements.set(post.id, el);
            postList.append(el);
        }
        updateOlderStatus();
        if (keepAnchor) {
            messages.scrollTop = previousTop + (messages.scrollHeight - previousHeight);
        } else {
            scrollToBottom();
        }
    }

    function updateOlderStatus() {
        const posts = model.posts.get(model.currentChannelId);
        const channel = model.channel;
        if (!posts || !posts.loaded) {
            olderStatus.textContent = 'Loading messages…';
        } else if (posts.loadingOlder) {
            olderStatus.textContent = 'Loading older messages…';
        } else if (posts.hasOlder) {
            olderStatus.textContent = '';
            olderStatus.append(h('button', { type: 'button', class: 'link-button', onclick: () => loadOlder() }, 'Load older messages'));
        } else {
            olderStatus.textContent = channel ? `This is the start of ${model.channelName(channel)}.` : '';
        }
    }

    async function loadOlder() {
        const channelId = model.currentChannelId;
        const posts = model.posts.get(channelId);
        if (!posts || !posts.loaded || posts.loadingOlder || !posts.hasOlder) {
            return;
        }
        const loading = model.loadOlder(channelId);
        updateOlderStatus();
        try {
            await loading;
        } catch (err) {
            showNotice(`Cannot load older messages: ${err.message}`);
        }
        updateOlderStatus();
        fillViewport();
    }

    /** Loads older pages until the list overflows its box (or history ends). */
    function fillViewport() {
        const posts = model.posts.get(model.currentChannelId);
        if (posts && posts.loaded && posts.hasOlder && !posts.loadingOlder && messages.scrollHeight <= messages.clientHeight + NEAR_TOP_PX) {
            loadOlder();
        }
    }

    listen(messages, 'scroll', () => {
        if (messages.scrollTop < NEAR_TOP_PX) {
            loadOlder();
        }
    });

    /** @param {Post} post */
    function upsertPostElement(post) {
        if (post.channel_id !== model.currentChannelId) {
            return;
        }
        const posts = model.posts.get(post.channel_id);
        if (!posts || !posts.loaded || !posts.byId.has(post.id)) {
            return;
        }
        const stick = isNearBottom();
        const old = postElements.get(post.id);
        if (old && renderer.isEditing(post.id) && old.querySelector('.edit-form')) {
            return; // don't throw away an edit in progress
        }
        const el = renderer.render(post);
        if (old) {
            renderer.dispose(old);
            old.replaceWith(el);
        } else {
            /** @type {Element | null} */
            let before = null;
            for (const other of Array.from(postList.children)) {
                const otherPost = posts.byId.get(/** @type {HTMLElement} */ (other).dataset.postId);
                if (otherPost && otherPost.create_at > post.create_at) {
                    before = other;
                    break;
                }
            }
            postList.insertBefore(el, before);
        }
        postElements.set(post.id, el);
        if (post.root_id) {
            // The root's reply count changed.
            const root = posts.byId.get(post.root_id);
            if (root && !old && !isEphemeral(post)) {
                root.reply_count = Math.max(root.reply_count || 0, countReplies(posts, root.id));
                const rootEl = postElements.get(root.id);
                if (rootEl) {
                    const fresh = renderer.render(root);
                    renderer.dispose(rootEl);
                    rootEl.replaceWith(fresh);
                    postElements.set(root.id, fresh);
                }
            }
        }
        if (stick || (!old && post.user_id === model.me.id)) {
            scrollToBottom();
        }
    }

    /** @param {ChannelPosts} posts @param {string} rootId */
    function countReplies(posts, rootId) {
        let n = 0;
        for (const post of posts.byId.values()) {
            if (post.root_id === rootId && !isEphemeral(post)) {
                n += 1;
            }
        }
        return n;
    }

    listen(model, 'post', (event) => upsertPostElement(event.detail.post));
    listen(model, 'post-removed', (event) => {
        const el = postElements.get(event.detail.post.id);
        if (el) {
            renderer.dispose(el);
            el.remove();
            postElements.delete(event.detail.post.id);
        }
    });
    listen(model, 'posts', (event) => {
        if (event.detail.channelId === model.currentChannelId) {
            renderAllPosts({ keepAnchor: Boolean(event.detail.older) });
        }
    });
    // Saved marks are drawn on posts.
    listen(model, 'saved', () => renderAllPosts({ keepAnchor: true }));

    // ---- notices, typing ----------------------------------------------------------
    /** @type {ReturnType<typeof setTimeout> | null} */
    let noticeTimer = null;
    /**
     * @param {string} message
     * @param {{sticky?: boolean}} [options] sticky: stays until dismissed
     */
    function showNotice(message, { sticky = false } = {}) {
        notice.hidden = false;
        clear(notice).append(h('span', null, message), h('button', {
            type: 'button', class: 'icon-button', 'aria-label': 'Dismiss', onclick: () => { notice.hidden = true; },
        }, '×'));
        clearTimeout(noticeTimer);
        if (!sticky) {
            noticeTimer = setTimeout(() => { notice.hidden = true; }, 15000);
        }
    }

    /** @type {Map<string, ReturnType<typeof setTimeout>>} user id -> when their notice ends */
    const typers = new Map();
    listen(model, 'typing', (event) => {
        const { channelId, rootId, userId } = event.detail;
        if (channelId !== model.currentChannelId || rootId) {
            return;
        }
        clearTimeout(typers.get(userId));
        typers.set(userId, setTimeout(() => {
            typers.delete(userId);
            renderTyping();
        }, 5000));
        renderTyping();
    });
    listen(model, 'post', (event) => {
        const { post } = event.detail;
        if (typers.has(post.user_id)) {
            clearTimeout(typers.get(post.user_id));
            typers.delete(post.user_id);
            renderTyping();
        }
    });
    function renderTyping() {
        const names = [...typers.keys()].map((id) => model.userName(id));
        typing.textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
    }

    // ---- channel header and plugin buttons -------------------------------------------
    function renderHeader() {
        const channel = model.channel || (openedChannel && openedChannel.id === model.currentChannelId ? openedChannel : null);
        channelTitle.textContent = channel ? `${channel.type === 'O' ? '#' : channel.type === 'P' ? '🔒 ' : '@'}${model.channelName(channel)}` : '';
        channelPurpose.textContent = channel ? (channel.purpose || channel.header || '') : '';
        renderHeaderButtons();
    }

    function renderHeaderButtons() {
        preserveFocus(headerButtons, () => {
            clear(headerButtons);
            const channel = model.channel;
            if (!channel) {
                return;
            }
            const muted = model.isMuted(channel);
            headerButtons.append(
                h('button', {
                    type: 'button', class: 'header-button', dataset: { focusKey: 'pinned' },
                    title: 'Messages pinned to this channel', onclick: () => onShowList('pinned'),
                }, 'Pinned'),
                h('button', {
                    type: 'button', class: 'header-button', dataset: { focusKey: 'saved' },
                    title: 'Messages you saved', onclick: () => onShowList('saved'),
                }, 'Saved'),
            );
            headerButtons.append(h('button', {
                type: 'button',
                class: `header-button mute${muted ? ' active' : ''}`,
                'aria-pressed': muted ? 'true' : 'false',
                title: muted ? 'Unmute: show new messages as unread again' : 'Mute: only mentions mark this channel unread',
                dataset: { focusKey: 'mute' },
                onclick: () => model.setMuted(channel.id, !muted).catch((err) => showNotice(err.message)),
            }, muted ? 'Unmute' : 'Mute'));
            for (const item of host.list('channelHeaderButton')) {
                const name = item.dropdownText || item.tooltipText || item.pluginId;
                const button = h('button', {
                    type: 'button',
                    class: 'header-button',
                    'aria-label': typeof name === 'string' ? name : item.pluginId,
                    title: typeof item.tooltipText === 'string' ? item.tooltipText : false,
                    dataset: { focusKey: item.id, pluginId: item.pluginId },
                    onclick: () => {
                        try {
                            item.action(model.channel, model.members.get(model.currentChannelId));
                        } catch (err) {
                            console.error(`plugin ${item.pluginId}: header button failed`, err);
                        }
                    },
                });
                renderIcon(button, item.icon);
                headerButtons.append(button);
            }
        });
    }

    listen(model, 'channels', () => {
        renderHeader();
        if (openedChannel && openedChannel.id === model.currentChannelId && !model.channels.has(openedChannel.id)) {
            showNotice(`You are no longer a member of ${model.channelName(openedChannel)}.`, { sticky: true });
        }
    });
    cleanups.push(host.onChange((kind) => {
        if (kind === 'channelHeaderButton') {
            renderHeaderButtons();
        } else if (kind === 'postTypeComponent') {
            renderAllPosts({ keepAnchor: true });
        }
    }));

    return {
        element,
        composer,
        showNotice,
        hideNotice() {
            notice.hidden = true;
        },
        renderHeader,
        /** The title shown while no channel is open (an address that did not resolve). @param {string} text */
        setTitle(text) {
            channelTitle.textContent = text;
        },
        /** Records the channel being opened (null for none). @param {Channel | null} channel */
        setOpened(channel) {
            openedChannel = channel;
        },
        /** Forgets who is typing (another channel opens). */
        resetTyping() {
            typers.forEach((t) => clearTimeout(t));
            typers.clear();
            renderTyping();
        },
        /** Empties the list (no channel is open). */
        clearPosts() {
            clear(postList);
            postElements.clear();
            olderStatus.textContent = '';
        },
        /**
         * Shows the posts of the channel just made current, loading them if need be.
         * @param {Channel} channel
         * @param {boolean} changed whether another channel was open before
         */
        showPosts(channel, changed) {
            messages.setAttribute('aria-label', `Messages in ${model.channelName(channel)}`);
            const posts = model.postsOf(channel.id);
            if (posts.loaded) {
                if (changed) {
                    renderAllPosts();
                }
            } else {
                renderAllPosts();
                model.loadPosts(channel.id).then(() => fillViewport()).catch((err) => {
                    if (channel.id === model.currentChannelId) {
                        olderStatus.textContent = '';
                        showNotice(err.message, { sticky: true });
                    }
                });
            }
        },
        /** Scrolls a loaded post into view and marks it for a moment (a permalink). @param {string} postId */
        highlight(postId) {
            const el = postElements.get(postId);
            if (!el) {
                return;
            }
            el.scrollIntoView({ block: 'center' });
            el.classList.add('highlighted');
            setTimeout(() => el.classList.remove('highlighted'), 6000);
        },
        /** An edit was saved: show the post again if its edit form kept it as it was. @param {Post} post */
        showEdited(post) {
            const stored = model.posts.get(post.channel_id)?.byId.get(post.id);
            if (stored && postElements.get(post.id)?.querySelector('.edit-form')) {
                upsertPostElement(stored);
            }
        },
        destroy() {
            cleanups.forEach((fn) => fn());
            composer.destroy();
            for (const el of postElements.values()) {
                renderer.dispose(el);
            }
        },
    };
}
