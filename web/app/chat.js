// The chat screen: sidebar (teams, channels, direct messages), channel view with its
// message list and composer, and the thread panel. Views update in place from the
// model's events; nothing re-renders the whole screen.

import * as api from './api.js';
import { h, clear, field, openDialog, confirmDialog, formatTime, renderMarkdown, preserveFocus, uid } from './dom.js';
import { isEphemeral } from './model.js';
import { renderIcon } from './plugins.js';

const NEAR_BOTTOM_PX = 60;
const NEAR_TOP_PX = 120;

export function slugify(text) {
    return text.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
}

export function channelPath(model, channel) {
    const team = model.team;
    if (!team) {
        return '/';
    }
    if (channel.type === 'D') {
        return `/${team.name}/messages/@${model.userName(model.directPartnerId(channel))}`;
    }
    return `/${team.name}/channels/${channel.name}`;
}

/** The chat screen. Returns {show(route), destroy()}. */
export function mountChat(root, { model, host, navigate, topbar }) {
    const cleanups = [];
    const listen = (target, type, fn) => {
        target.addEventListener(type, fn);
        cleanups.push(() => target.removeEventListener(type, fn));
    };

    const sidebar = h('nav', { id: 'sidebar', class: 'sidebar', 'aria-label': 'Teams and channels' });
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
        label: 'Message',
        rootId: () => '',
        channelId: () => model.currentChannelId,
    });
    const channelMain = h('main', { id: 'main', class: 'channel-view', tabindex: '-1' },
        h('header', { class: 'channel-header' }, h('div', { class: 'channel-heading' }, channelTitle, channelPurpose), headerButtons),
        notice,
        messages,
        typing,
        composer.element,
    );
    const threadPanel = createThreadPanel({ model, host, onClose: () => closeThread() });
    const layout = h('div', { class: 'layout' }, topbar.element, sidebar, channelMain, threadPanel.element);
    const backdrop = h('div', { class: 'backdrop', onclick: () => setSidebarOpen(false) });
    layout.append(backdrop);
    clear(root).append(layout);

    topbar.onMenu = () => setSidebarOpen(!layout.classList.contains('sidebar-open'));
    function setSidebarOpen(open) {
        layout.classList.toggle('sidebar-open', open);
        topbar.setMenuExpanded(open);
        if (open) {
            const current = sidebar.querySelector('[aria-current="page"]') || sidebar.querySelector('a, button');
            current?.focus();
        }
    }
    listen(layout, 'keydown', (event) => {
        if (event.key !== 'Escape' || event.defaultPrevented) {
            return;
        }
        if (layout.classList.contains('sidebar-open')) {
            setSidebarOpen(false);
            topbar.focusMenu();
        } else if (layout.classList.contains('thread-open') && window.matchMedia('(max-width: 700px)').matches
            && !threadPanel.element.querySelector('.edit-form')) {
            // In a narrow window the thread covers the channel: Escape closes it from anywhere.
            event.preventDefault();
            closeThread();
        }
    });

    // ---- post rendering ------------------------------------------------------
    const postElements = new Map();
    let editing = null; // post id being edited in the channel view

    function renderPost(post, { inThread = false } = {}) {
        const mine = post.user_id === model.me.id;
        const ephemeral = isEphemeral(post);
        const el = h('article', {
            class: `post${ephemeral ? ' ephemeral' : ''}${post.error ? ' error' : ''}${post.root_id && !inThread ? ' reply' : ''}${mine ? ' mine' : ''}`,
            dataset: { postId: post.id },
            'aria-label': `${ephemeral && !post.user_id ? 'System' : model.userName(post.user_id)} at ${formatTime(post.create_at)}`,
        });
        const head = h('div', { class: 'post-head' },
            h('span', { class: 'author' }, ephemeral && !post.user_id ? 'System' : model.userName(post.user_id)),
            ' ',
            h('time', { datetime: new Date(post.create_at).toISOString(), title: new Date(post.create_at).toLocaleString() }, formatTime(post.create_at)),
            post.edit_at ? h('span', { class: 'edited' }, ' (edited)') : null,
            ephemeral ? h('span', { class: 'only-you' }, ' (only visible to you)') : null,
        );
        el.append(head);
        if (post.root_id && !inThread) {
            const root = model.postsOf(post.channel_id).byId.get(post.root_id);
            const label = root ? `Reply to ${model.userName(root.user_id)}: ${excerpt(root.message)}` : 'Reply in a thread';
            el.append(h('button', { type: 'button', class: 'link-button reply-to', onclick: () => openThread(post.root_id) }, `↪ ${label}`));
        }
        const custom = host.list('postTypeComponent').find((item) => item.type === post.type && post.type);
        const body = h('div', { class: 'post-body' });
        if (custom) {
            try {
                const cleanup = custom.component(body, { post, state: storeState(model) });
                if (typeof cleanup === 'function') {
                    el._cleanup = cleanup;
                }
            } catch (err) {
                console.error(`plugin ${custom.pluginId}: post component failed`, err);
                body.append(renderMarkdown(post.message));
            }
        } else {
            body.append(renderMarkdown(post.message));
        }
        el.append(body);
        if (!inThread && !post.root_id && post.reply_count > 0) {
            el.append(h('button', { type: 'button', class: 'link-button replies', onclick: () => openThread(post.id) },
                post.reply_count === 1 ? '1 reply' : `${post.reply_count} replies`));
        }
        if (!ephemeral) {
            const actions = h('div', { class: 'post-actions', role: 'group', 'aria-label': 'Message actions' });
            if (!inThread || post.root_id === '') {
                if (!inThread) {
                    actions.append(h('button', { type: 'button', class: 'small-button', onclick: () => openThread(post.root_id || post.id) }, 'Reply'));
                }
            }
            if (mine) {
                actions.append(
                    h('button', { type: 'button', class: 'small-button', onclick: () => startEdit(el, post) }, 'Edit'),
                    h('button', { type: 'button', class: 'small-button danger-text', onclick: () => deletePost(post) }, 'Delete'),
                );
            }
            if (actions.childElementCount > 0) {
                el.append(actions);
            }
        }
        return el;
    }

    function startEdit(el, post) {
        const body = el.querySelector('.post-body');
        if (!body || el.querySelector('.edit-form')) {
            return;
        }
        editing = post.id;
        const textarea = h('textarea', { class: 'edit-input', rows: '2', 'aria-label': 'Edit message' });
        textarea.value = post.message;
        const error = h('p', { class: 'form-error', role: 'alert' });
        const cancel = () => {
            editing = null;
            form.replaceWith(body);
            el.querySelector('.post-actions button')?.focus();
        };
        const save = async () => {
            const message = textarea.value.trim();
            if (!message) {
                error.textContent = 'A message cannot be empty; use Delete to remove it.';
                return;
            }
            try {
                const updated = await api.put(`/posts/${post.id}/patch`, { message });
                editing = null;
                model.upsertPost(updated);
            } catch (err) {
                error.textContent = err.message;
            }
        };
        const form = h('form', { class: 'edit-form', onsubmit: (event) => { event.preventDefault(); save(); } },
            textarea,
            h('div', { class: 'actions' },
                h('button', { type: 'button', class: 'button', onclick: cancel }, 'Cancel'),
                h('button', { type: 'submit', class: 'button primary' }, 'Save')),
            error,
        );
        textarea.addEventListener('keydown', (event) => {
            if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                save();
            } else if (event.key === 'Escape') {
                event.preventDefault();
                event.stopPropagation();
                cancel();
            }
        });
        body.replaceWith(form);
        textarea.focus();
        textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    }

    async function deletePost(post) {
        const ok = await confirmDialog('Delete message', 'Delete this message? This cannot be undone.', 'Delete', { danger: true });
        if (!ok) {
            return;
        }
        try {
            await api.del(`/posts/${post.id}`);
            model.removePost(post);
        } catch (err) {
            showNotice(err.message);
        }
    }

    function disposePost(el) {
        if (el && el._cleanup) {
            try {
                el._cleanup();
            } catch (err) {
                console.error(err);
            }
        }
    }

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
            disposePost(el);
        }
        postElements.clear();
        clear(postList);
        if (!posts) {
            return;
        }
        for (const post of posts.sorted()) {
            const el = renderPost(post);
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
        if (old && editing === post.id && old.querySelector('.edit-form')) {
            return; // don't throw away an edit in progress
        }
        const el = renderPost(post);
        if (old) {
            disposePost(old);
            old.replaceWith(el);
        } else {
            let before = null;
            for (const other of postList.children) {
                const otherPost = posts.byId.get(other.dataset.postId);
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
                    const fresh = renderPost(root);
                    disposePost(rootEl);
                    rootEl.replaceWith(fresh);
                    postElements.set(root.id, fresh);
                }
            }
        }
        if (stick || (!old && post.user_id === model.me.id)) {
            scrollToBottom();
        }
    }

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
            disposePost(el);
            el.remove();
            postElements.delete(event.detail.post.id);
        }
    });
    listen(model, 'posts', (event) => {
        if (event.detail.channelId === model.currentChannelId) {
            renderAllPosts({ keepAnchor: Boolean(event.detail.older) });
        }
    });

    // ---- notices, typing ----------------------------------------------------------
    let noticeTimer = null;
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

    // ---- sidebar ------------------------------------------------------------------
    function renderSidebar() {
        preserveFocus(sidebar, () => {
            clear(sidebar);
            if (model.teams.length > 1) {
                sidebar.append(h('section', { class: 'sidebar-section teams' },
                    h('h2', null, 'Teams'),
                    h('ul', null, model.teams.map((team) => h('li', null, h('a', {
                        href: `/${team.name}`,
                        class: `team-link${team.id === model.teamId ? ' active' : ''}`,
                        'aria-current': team.id === model.teamId ? 'page' : false,
                        dataset: { link: '', focusKey: `t:${team.id}` },
                    }, team.display_name)))),
                ));
            }
            const groups = [
                { title: 'Channels', type: 'O', add: { label: 'Browse or create channels', onclick: () => channelDialog() } },
                { title: 'Private channels', type: 'P', add: { label: 'Create a private channel', onclick: () => channelDialog({ tab: 'create', private: true }) } },
                { title: 'Direct messages', type: 'D', add: { label: 'Start a direct message', onclick: () => directDialog() } },
            ];
            for (const group of groups) {
                const channels = [...model.channels.values()]
                    .filter((c) => c.type === group.type)
                    .sort((a, b) => model.channelName(a).localeCompare(model.channelName(b)));
                if (group.type === 'P' && channels.length === 0) {
                    continue;
                }
                const headingId = uid('sb');
                sidebar.append(h('section', { class: 'sidebar-section', 'aria-labelledby': headingId },
                    h('div', { class: 'section-head' },
                        h('h2', { id: headingId }, group.title),
                        h('button', { type: 'button', class: 'icon-button add', 'aria-label': group.add.label, title: group.add.label, onclick: group.add.onclick, dataset: { focusKey: `add:${group.type}` } }, '+')),
                    h('ul', null, channels.map((channel) => channelItem(channel))),
                ));
            }
            sidebar.append(h('p', { class: 'sidebar-foot' }, h('a', { href: '/select_team', dataset: { link: '' } }, 'Join or create a team')));
        });
    }

    function channelItem(channel) {
        const active = channel.id === model.currentChannelId;
        const unread = !active && model.isUnread(channel);
        const prefix = channel.type === 'O' ? '#' : channel.type === 'P' ? '🔒' : '@';
        return h('li', null, h('a', {
            href: channelPath(model, channel),
            class: `channel-link${active ? ' active' : ''}${unread ? ' unread' : ''}`,
            'aria-current': active ? 'page' : false,
            dataset: { link: '', focusKey: `c:${channel.id}`, channelId: channel.id, unread: unread ? 'true' : 'false' },
        },
        h('span', { class: 'prefix', 'aria-hidden': 'true' }, prefix),
        h('span', { class: 'name' }, model.channelName(channel)),
        unread ? h('span', { class: 'unread-badge' }, h('span', { class: 'sr-only' }, ' (unread)')) : null,
        ));
    }

    let openedChannel = null; // the open channel, kept when it leaves the list
    listen(model, 'channels', () => {
        renderSidebar();
        renderHeader();
        if (openedChannel && openedChannel.id === model.currentChannelId && !model.channels.has(openedChannel.id)) {
            showNotice(`You are no longer a member of ${model.channelName(openedChannel)}.`, { sticky: true });
        }
    });
    listen(model, 'teams', () => renderSidebar());
    listen(sidebar, 'click', (event) => {
        if (event.target.closest('a[data-link]')) {
            setSidebarOpen(false);
        }
    });

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
    cleanups.push(host.onChange((kind) => {
        if (kind === 'channelHeaderButton') {
            renderHeaderButtons();
        } else if (kind === 'postTypeComponent') {
            renderAllPosts({ keepAnchor: true });
        }
    }));

    // ---- thread -------------------------------------------------------------------------
    function openThread(rootId) {
        threadPanel.open();
        layout.classList.add('thread-open');
        model.openThread(rootId).then(() => threadPanel.focus());
    }
    function closeThread() {
        layout.classList.remove('thread-open');
        model.closeThread();
        composer.focus();
    }

    // ---- dialogs: channels, direct messages ---------------------------------------------
    async function channelDialog({ tab = 'browse', private: isPrivate = false } = {}) {
        const teamId = model.teamId;
        await openDialog(tab === 'browse' ? 'Browse channels' : 'Create a channel', (close) => {
            const body = h('div');
            const browseList = h('ul', { class: 'pick-list' }, h('li', null, 'Loading…'));
            const browse = h('section', null, h('h3', null, 'Open channels'), browseList);
            api.get(`/teams/${teamId}/channels${api.qs({ per_page: 200 })}`).then((channels) => {
                clear(browseList);
                if (!channels || channels.length === 0) {
                    browseList.append(h('li', null, 'No open channels yet.'));
                }
                for (const channel of channels || []) {
                    const member = model.channels.has(channel.id);
                    browseList.append(h('li', null,
                        h('span', { class: 'pick-name' }, `#${channel.display_name}`),
                        channel.purpose ? h('span', { class: 'pick-meta' }, channel.purpose) : null,
                        h('button', {
                            type: 'button',
                            class: 'button small',
                            'aria-label': `${member ? 'Open' : 'Join'} ${channel.display_name}`,
                            onclick: async (event) => {
                                try {
                                    if (!member) {
                                        event.target.disabled = true;
                                        await api.post(`/channels/${channel.id}/members`, { user_id: model.me.id });
                                        await model.loadChannels(teamId);
                                    }
                                    close();
                                    navigate(channelPath(model, channel));
                                } catch (err) {
                                    event.target.disabled = false;
                                    browseError.textContent = err.message;
                                }
                            },
                        }, member ? 'Open' : 'Join')));
                }
            }).catch((err) => {
                clear(browseList).append(h('li', { class: 'form-error' }, err.message));
            });
            const browseError = h('p', { class: 'form-error', role: 'alert' });

            const displayName = field('Name', h('input', { type: 'text', required: true, maxlength: '64', autocomplete: 'off' }));
            const urlName = field('URL name', h('input', { type: 'text', required: true, maxlength: '64', pattern: '[a-z0-9][a-z0-9_\\-]*', autocomplete: 'off' }), 'Lower-case letters, digits, - and _.');
            let urlEdited = false;
            displayName.input.addEventListener('input', () => {
                if (!urlEdited) {
                    urlName.input.value = slugify(displayName.input.value);
                }
            });
            urlName.input.addEventListener('input', () => { urlEdited = true; });
            const privateBox = h('input', { type: 'checkbox', checked: isPrivate });
            const privateId = uid('private');
            privateBox.id = privateId;
            const createError = h('p', { class: 'form-error', role: 'alert' });
            const form = h('form', {
                class: 'form',
                onsubmit: async (event) => {
                    event.preventDefault();
                    createError.textContent = '';
                    if (!displayName.input.value.trim()) {
                        createError.textContent = 'Enter a name for the channel.';
                        displayName.input.focus();
                        return;
                    }
                    try {
                        const channel = await api.post('/channels', {
                            team_id: teamId,
                            display_name: displayName.input.value.trim(),
                            name: urlName.input.value.trim() || slugify(displayName.input.value),
                            type: privateBox.checked ? 'P' : 'O',
                        });
                        await model.loadChannels(teamId);
                        close();
                        navigate(channelPath(model, channel));
                    } catch (err) {
                        createError.textContent = err.message;
                    }
                },
            },
            displayName.wrap,
            urlName.wrap,
            h('div', { class: 'field checkbox' }, privateBox, h('label', { for: privateId }, 'Private (only invited members can see it)')),
            h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create channel')),
            createError,
            );
            const create = h('section', null, h('h3', null, 'Create a new channel'), form);
            if (tab === 'browse') {
                body.append(browse, browseError, create);
            } else {
                body.append(create);
            }
            return body;
        });
    }

    async function directDialog() {
        const teamId = model.teamId;
        await openDialog('Direct message', (close) => {
            const list = h('ul', { class: 'pick-list' }, h('li', null, 'Loading…'));
            const error = h('p', { class: 'form-error', role: 'alert' });
            const filter = field('Find a person', h('input', { type: 'search', autocomplete: 'off' }));
            let users = [];
            const render = () => {
                const q = filter.input.value.trim().toLowerCase();
                clear(list);
                const shown = users.filter((u) => !q || u.username.toLowerCase().includes(q));
                if (shown.length === 0) {
                    list.append(h('li', null, 'Nobody found.'));
                }
                for (const user of shown.slice(0, 100)) {
                    list.append(h('li', null,
                        h('span', { class: 'pick-name' }, `@${user.username}${user.id === model.me.id ? ' (you)' : ''}`),
                        h('button', {
                            type: 'button',
                            class: 'button small',
                            'aria-label': `Message ${user.username}`,
                            onclick: async () => {
                                try {
                                    await api.post('/channels/direct', [model.me.id, user.id]);
                                    model.users.set(user.id, user);
                                    await model.loadChannels(teamId);
                                    close();
                                    navigate(`/${model.team.name}/messages/@${user.username}`);
                                } catch (err) {
                                    error.textContent = err.message;
                                }
                            },
                        }, 'Message')));
                }
            };
            filter.input.addEventListener('input', render);
            api.get(`/users${api.qs({ in_team: teamId, per_page: 200 })}`).then((found) => {
                users = (found || []).sort((a, b) => a.username.localeCompare(b.username));
                users.forEach((u) => model.users.has(u.id) || model.users.set(u.id, u));
                render();
            }).catch((err) => {
                clear(list).append(h('li', { class: 'form-error' }, err.message));
            });
            return h('div', null, filter.wrap, list, error);
        });
    }

    // ---- routing within the chat screen ------------------------------------------------
    let showToken = 0;
    async function show(route) {
        const token = ++showToken;
        const stale = () => token !== showToken;
        notice.hidden = true;
        let team = model.teams.find((t) => t.name === route.team);
        if (!team) {
            await model.loadTeams();
            team = model.teams.find((t) => t.name === route.team);
        }
        if (stale()) {
            return;
        }
        if (!team) {
            navigate('/select_team', { replace: true, message: `You are not a member of the team "${route.team}".` });
            return;
        }
        if (model.teamId !== team.id) {
            model.currentChannelId = '';
            model.commands = null;
            try {
                await model.loadChannels(team.id);
            } catch (err) {
                showNotice(err.message, { sticky: true });
                return;
            }
            localStorage.setItem('chorus.lastTeam', team.name);
        }
        if (stale()) {
            return;
        }
        if (!route.channel) {
            navigate(`/${team.name}/channels/town-square`, { replace: true });
            return;
        }
        let channel = null;
        try {
            channel = await resolveChannel(team, route);
        } catch (err) {
            if (stale()) {
                return;
            }
            openChannel(null);
            channelTitle.textContent = route.kind === 'dm' ? `@${route.channel}` : route.channel;
            showNotice(err.message, { sticky: true });
            return;
        }
        if (stale()) {
            return;
        }
        openChannel(channel);
    }

    async function resolveChannel(team, route) {
        if (route.kind === 'dm') {
            const username = route.channel.replace(/^@/, '');
            let user = [...model.users.values()].find((u) => u.username === username);
            if (!user) {
                user = await api.get(`/users/username/${encodeURIComponent(username)}`);
                model.users.set(user.id, user);
            }
            const existing = [...model.channels.values()].find((c) => c.type === 'D' && model.directPartnerId(c) === user.id);
            if (existing) {
                return existing;
            }
            const channel = await api.post('/channels/direct', [model.me.id, user.id]);
            await model.loadChannels(team.id);
            return model.channels.get(channel.id) || channel;
        }
        const existing = [...model.channels.values()].find((c) => c.name === route.channel && c.team_id === team.id);
        if (existing) {
            return existing;
        }
        const channel = await api.get(`/teams/${team.id}/channels/name/${encodeURIComponent(route.channel)}`);
        if (channel.type === 'O') {
            // As in Mattermost, opening an open channel by its address joins it.
            await api.post(`/channels/${channel.id}/members`, { user_id: model.me.id });
            await model.loadChannels(team.id);
            return model.channels.get(channel.id) || channel;
        }
        return channel;
    }

    function openChannel(channel) {
        const changed = (channel?.id || '') !== model.currentChannelId;
        model.currentChannelId = channel ? channel.id : '';
        openedChannel = channel;
        if (changed) {
            typers.forEach((t) => clearTimeout(t));
            typers.clear();
            renderTyping();
            editing = null;
            if (model.thread) {
                layout.classList.remove('thread-open');
                model.closeThread();
            }
            composer.setChannel(channel);
        }
        renderSidebar();
        renderHeader();
        composer.setEnabled(Boolean(channel));
        if (!channel) {
            clear(postList);
            postElements.clear();
            olderStatus.textContent = '';
            return;
        }
        document.title = `${model.channelName(channel)} - ${model.team ? model.team.display_name : ''} - Chorus`;
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
        model.viewChannel(channel.id);
        host.notifyStore();
        if (changed && window.matchMedia('(min-width: 701px)').matches) {
            composer.focus();
        }
    }

    listen(document, 'visibilitychange', () => {
        if (document.visibilityState === 'visible' && model.currentChannelId) {
            model.viewChannel(model.currentChannelId);
        }
    });

    renderSidebar();
    renderHeader();

    return {
        show,
        showNotice,
        destroy() {
            cleanups.forEach((fn) => fn());
            threadPanel.destroy();
            composer.destroy();
            for (const el of postElements.values()) {
                disposePost(el);
            }
        },
    };

    // ---- thread panel (closure over renderPost) ------------------------------------------
    function createThreadPanel({ onClose }) {
        const titleId = uid('thread-title');
        const list = h('div', { class: 'thread-list', role: 'log', 'aria-label': 'Thread messages', tabindex: '0' });
        const status = h('p', { class: 'thread-status' });
        const threadComposer = createComposer({
            model,
            host,
            label: 'Reply to thread',
            rootId: () => model.thread?.rootId || '',
            channelId: () => model.currentChannelId,
        });
        const element = h('aside', { class: 'thread-panel', 'aria-labelledby': titleId },
            h('header', { class: 'thread-head' },
                h('h2', { id: titleId }, 'Thread'),
                h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close thread', onclick: () => onClose() }, '×')),
            status,
            list,
            threadComposer.element,
        );
        element.addEventListener('keydown', (event) => {
            if (event.key === 'Escape' && !event.defaultPrevented && !element.querySelector('.edit-form')) {
                event.preventDefault();
                onClose();
            }
        });
        const render = () => {
            const thread = model.thread;
            if (!thread) {
                clear(list);
                return;
            }
            const stick = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
            if (thread.error) {
                status.textContent = thread.error;
            } else if (thread.deleted) {
                status.textContent = 'This message was deleted.';
            } else {
                status.textContent = thread.loaded ? '' : 'Loading…';
            }
            if (list.querySelector('.edit-form')) {
                return;
            }
            for (const child of list.children) {
                disposePost(child);
            }
            clear(list);
            const posts = [...thread.byId.values()].sort((a, b) => a.create_at - b.create_at);
            for (const post of posts) {
                const el = renderPost(post, { inThread: true });
                if (post.id === thread.rootId) {
                    el.classList.add('root');
                }
                list.append(el);
            }
            threadComposer.setChannel(model.channel);
            threadComposer.setEnabled(!thread.deleted);
            if (stick || !thread.rendered) {
                list.scrollTop = list.scrollHeight;
            }
            thread.rendered = thread.loaded;
        };
        const onThread = () => render();
        model.addEventListener('thread', onThread);
        return {
            element,
            open() {
                element.hidden = false;
            },
            focus() {
                threadComposer.focus();
            },
            destroy() {
                model.removeEventListener('thread', onThread);
                threadComposer.destroy();
            },
        };
    }
}

function excerpt(text, max = 60) {
    const flat = String(text || '').replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function storeState(model) {
    return {
        currentUser: model.me,
        currentTeam: model.team,
        currentChannel: model.channel,
        currentChannelId: model.currentChannelId,
        currentTeamId: model.teamId,
    };
}

// ---- the composer -------------------------------------------------------------------

/**
 * A message box: Enter sends, Shift+Enter adds a line. A leading "/" offers the
 * team's slash commands (arrow keys move, Enter or Tab picks, Escape closes); a
 * command goes through the plugins' slash-command hooks, then to
 * POST /commands/execute; its error answer appears as a note in the channel.
 */
export function createComposer({ model, host, label, rootId, channelId }) {
    const inputId = uid('composer');
    const listId = uid('suggestions');
    const errorId = uid('composer-error');
    const textarea = h('textarea', {
        id: inputId,
        class: 'composer-input',
        rows: '1',
        role: 'combobox',
        'aria-autocomplete': 'list',
        'aria-expanded': 'false',
        'aria-controls': listId,
        'aria-describedby': errorId,
        enterkeyhint: 'send',
    });
    const labelEl = h('label', { for: inputId, class: 'sr-only' }, label);
    const suggestions = h('ul', { id: listId, class: 'suggestions', role: 'listbox', 'aria-label': 'Slash commands', hidden: true });
    const error = h('p', { id: errorId, class: 'form-error composer-error', role: 'alert' });
    const sendButton = h('button', { type: 'submit', class: 'button primary send' }, 'Send');
    const form = h('form', { class: 'composer' },
        labelEl,
        h('div', { class: 'composer-box' }, suggestions, textarea, sendButton),
        error,
    );
    let items = [];
    let active = -1;
    let sending = false;
    let lastTyping = 0;
    let channel = null;

    function setChannel(next) {
        channel = next;
        const name = next ? model.channelName(next) : '';
        const placeholder = rootId() ? 'Reply…' : next ? `Write to ${next.type === 'D' ? '@' : next.type === 'O' ? '#' : ''}${name}` : '';
        textarea.placeholder = placeholder;
        labelEl.textContent = rootId() ? label : next ? `${label} ${name}` : label;
        error.textContent = '';
    }

    function setEnabled(enabled) {
        textarea.disabled = !enabled;
        sendButton.disabled = !enabled;
    }

    function autosize() {
        textarea.style.height = 'auto';
        textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
    }

    async function updateSuggestions() {
        const value = textarea.value;
        const match = /^\/(\S*)$/.exec(value);
        if (!match || !model.teamId) {
            closeSuggestions();
            return;
        }
        const commands = await model.commandsFor(model.teamId);
        if (textarea.value !== value) {
            return;
        }
        const prefix = match[1].toLowerCase();
        items = commands.filter((c) => c.trigger.toLowerCase().startsWith(prefix))
            .sort((a, b) => a.trigger.localeCompare(b.trigger));
        if (items.length === 0) {
            closeSuggestions();
            return;
        }
        active = 0;
        renderSuggestions();
    }

    function renderSuggestions() {
        clear(suggestions);
        items.forEach((command, index) => {
            const optionId = `${listId}-${index}`;
            suggestions.append(h('li', {
                id: optionId,
                role: 'option',
                class: index === active ? 'active' : '',
                'aria-selected': index === active ? 'true' : 'false',
                onmousedown: (event) => {
                    event.preventDefault();
                    pick(index);
                },
            },
            h('span', { class: 'trigger' }, `/${command.trigger}`),
            command.auto_complete_hint ? h('span', { class: 'hint' }, ` ${command.auto_complete_hint}`) : null,
            command.auto_complete_desc || command.description ? h('span', { class: 'desc' }, command.auto_complete_desc || command.description) : null,
            ));
        });
        suggestions.hidden = false;
        textarea.setAttribute('aria-expanded', 'true');
        if (active >= 0) {
            textarea.setAttribute('aria-activedescendant', `${listId}-${active}`);
            suggestions.children[active]?.scrollIntoView({ block: 'nearest' });
        }
    }

    function closeSuggestions() {
        items = [];
        active = -1;
        suggestions.hidden = true;
        clear(suggestions);
        textarea.setAttribute('aria-expanded', 'false');
        textarea.removeAttribute('aria-activedescendant');
    }

    function pick(index) {
        const command = items[index];
        if (!command) {
            return;
        }
        textarea.value = `/${command.trigger} `;
        closeSuggestions();
        textarea.focus();
        autosize();
    }

    async function send() {
        const text = textarea.value;
        if (!text.trim() || sending || !channel) {
            return;
        }
        error.textContent = '';
        sending = true;
        sendButton.disabled = true;
        const targetChannel = channel.id;
        const root = rootId();
        try {
            if (text.trim().startsWith('/')) {
                await runCommand(text.trim(), targetChannel, root);
            } else {
                await model.createPost(targetChannel, text, root);
                textarea.value = '';
            }
        } catch (err) {
            error.textContent = err.message;
        } finally {
            sending = false;
            sendButton.disabled = false;
            autosize();
        }
    }

    async function runCommand(command, targetChannel, root) {
        const args = { channel_id: targetChannel, team_id: model.teamId, root_id: root };
        const hooked = await host.runSlashCommandHooks(command, args);
        if (hooked.swallowed) {
            textarea.value = '';
            return;
        }
        if (hooked.error) {
            model.addLocalNote(targetChannel, hooked.error.message, { rootId: root, error: true });
            return;
        }
        try {
            await api.post('/commands/execute', {
                channel_id: hooked.args.channel_id || targetChannel,
                team_id: hooked.args.team_id || model.teamId,
                root_id: hooked.args.root_id ?? root,
                command: hooked.message,
            });
            textarea.value = '';
        } catch (err) {
            // Shown in the channel, like Mattermost's ephemeral error; the text stays to fix it.
            model.addLocalNote(targetChannel, `${command.split(/\s/)[0]}: ${err.message}`, { rootId: root, error: true });
        }
    }

    textarea.addEventListener('keydown', (event) => {
        if (!suggestions.hidden && items.length > 0) {
            if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
                event.preventDefault();
                active = (active + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
                renderSuggestions();
                return;
            }
            if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
                const partial = textarea.value.slice(1);
                const exact = items[active] && items[active].trigger === partial;
                if (!(event.key === 'Enter' && exact)) {
                    event.preventDefault();
                    pick(active);
                    return;
                }
                closeSuggestions();
            }
            if (event.key === 'Escape') {
                event.preventDefault();
                event.stopPropagation();
                closeSuggestions();
                return;
            }
        }
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
        }
    });
    textarea.addEventListener('input', () => {
        autosize();
        updateSuggestions();
        const now = Date.now();
        if (channel && now - lastTyping > 3000 && textarea.value && !textarea.value.startsWith('/')) {
            lastTyping = now;
            window.chorusSocket?.send('user_typing', { channel_id: channel.id, parent_id: rootId() });
        }
    });
    textarea.addEventListener('blur', () => setTimeout(closeSuggestions, 150));
    form.addEventListener('submit', (event) => {
        event.preventDefault();
        send();
    });

    return {
        element: form,
        setChannel,
        setEnabled,
        focus: () => textarea.focus(),
        destroy() {},
    };
}
