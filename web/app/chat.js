// @ts-check
// Owns the chat screen as a whole: it lays out the sidebar (chat/sidebar.js), the
// channel view (chat/channel-view.js), the thread panel (chat/thread-panel.js) and the
// pinned and saved lists (chat/post-list-panel.js), routes /<team>/channels/<name>,
// /<team>/messages/@<user> and permalinks (/<team>/pl/<post>) to a channel, and opens
// threads, search results and dialogs (chat/dialogs.js, Ctrl+K's channel switcher
// among them, and integrations' dialogs in
// chat/interactive-dialog.js). Views update in place from the model's events;
// nothing re-renders the whole screen.

import { clear, h } from './dom.js';
import { createChannelView } from './chat/channel-view.js';
import { channelDialog, directDialog, switchChannelDialog } from './chat/dialogs.js';
import { openInteractiveDialog } from './chat/interactive-dialog.js';
import { fillEmoji, updateStatusDots } from './chat/post-extras.js';
import { createPostRenderer } from './chat/posts.js';
import { createSidebar } from './chat/sidebar.js';
import { createThreadPanel } from './chat/thread-panel.js';
import { createPostListPanel } from './chat/post-list-panel.js';
import { channelPath, excerpt, listener, permalinkPath } from './chat/shared.js';

export { channelPath, slugify, storeState } from './chat/shared.js';

/** @typedef {import('./types.js').Channel} Channel */
/** @typedef {import('./types.js').ChatRoute} ChatRoute */
/** @typedef {import('./types.js').Navigate} Navigate */
/** @typedef {import('./types.js').SocketSender} SocketSender */
/** @typedef {import('./types.js').Topbar} Topbar */
/** @typedef {import('./model.js').Model} Model */
/** @typedef {import('./plugins.js').PluginHost} PluginHost */

/**
 * The chat screen. Returns {show(route), showNotice(message), destroy()}.
 * @param {HTMLElement} root
 * @param {object} options
 * @param {Model} options.model
 * @param {PluginHost} options.host
 * @param {SocketSender} options.socket
 * @param {Navigate} options.navigate
 * @param {Topbar} options.topbar
 */
export function mountChat(root, { model, host, socket, navigate, topbar }) {
    /** @type {Array<() => void>} */
    const cleanups = [];
    const listen = listener(cleanups);

    const posts = createPostRenderer({
        model,
        host,
        openThread: (rootId) => openThread(rootId),
        showNotice: (message) => channelView.showNotice(message),
        onEdited: (post) => channelView.showEdited(post),
    });
    const sidebar = createSidebar({
        model,
        onBrowseChannels: () => channelDialog({ model, navigate }),
        onCreatePrivate: () => channelDialog({ model, navigate, tab: 'create', private: true }),
        onDirectMessage: () => directDialog({ model, navigate }),
        onNavigate: () => setSidebarOpen(false),
    });
    const channelView = createChannelView({ model, host, socket, posts, onShowList: (kind, terms) => showList(kind, terms) });
    const composer = channelView.composer;
    const threadPanel = createThreadPanel({ model, host, socket, posts, onClose: () => closeThread() });
    const listPanel = createPostListPanel({ model, onClose: () => closeList() });
    const layout = h('div', { class: 'layout' }, topbar.element, sidebar.element, channelView.element, threadPanel.element, listPanel.element);
    const backdrop = h('div', { class: 'backdrop', onclick: () => setSidebarOpen(false) });
    layout.append(backdrop);
    clear(root).append(layout);

    topbar.onMenu = () => setSidebarOpen(!layout.classList.contains('sidebar-open'));
    /** @param {boolean} open */
    function setSidebarOpen(open) {
        layout.classList.toggle('sidebar-open', open);
        topbar.setMenuExpanded(open);
        if (open) {
            sidebar.focusCurrent();
        }
    }
    // Statuses are polled (as Mattermost's apps do): every minute, and when new posts
    // (new people) arrive; the emoji table is fetched once and fills in the glyphs.
    const refreshStatuses = () => model.refreshStatuses([...model.users.keys()]);
    refreshStatuses();
    const statusTimer = setInterval(refreshStatuses, 60_000);
    cleanups.push(() => clearInterval(statusTimer));
    listen(model, 'posts', () => refreshStatuses());
    listen(model, 'statuses', () => updateStatusDots(model, layout));
    model.emojis().then(() => fillEmoji(model, layout));
    model.loadSaved();
    listen(model, 'open-dialog', (event) => {
        openInteractiveDialog(model, event.detail.request);
    });
    // Desktop notifications (once the browser allows them) and a short sound.
    listen(model, 'notify', (event) => {
        const { post, channel } = event.detail;
        notifyDesktop(post, channel);
    });
    /** @param {import('./types.js').Post} post @param {Channel} channel */
    function notifyDesktop(post, channel) {
        if (typeof Notification === 'undefined' || Notification.permission !== 'granted') {
            return;
        }
        const where = channel.type === 'D' ? 'Direct message' : model.channelName(channel);
        const notice = new Notification(`${model.userName(post.user_id)} · ${where}`, {
            body: excerpt(post.message, 120) || 'sent a file',
            tag: post.id,
        });
        notice.onclick = () => {
            window.focus();
            navigate(permalinkPath(model, post.id));
            notice.close();
        };
        if (model.wantsSound()) {
            chime();
        }
    }

    // Ctrl+K (⌘K) switches channels, as in Mattermost.
    listen(document, 'keydown', (event) => {
        // (Autofill sends keydown events without a key.)
        if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key || '').toLowerCase() === 'k' && !document.querySelector('dialog[open]')) {
            event.preventDefault();
            switchChannelDialog({ model, navigate });
        }
    });
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

    // ---- thread -------------------------------------------------------------------------
    /** @param {string} rootId */
    function openThread(rootId) {
        closeList({ focusComposer: false });
        threadPanel.open();
        layout.classList.add('thread-open');
        model.openThread(rootId).then(() => threadPanel.focus());
    }
    function closeThread() {
        layout.classList.remove('thread-open');
        model.closeThread();
        composer.focus();
    }

    // ---- pinned and saved messages ----------------------------------------------------
    /** @type {'pinned' | 'saved' | 'search' | null} */
    let listShown = null;
    /** @param {'pinned' | 'saved' | 'search'} kind @param {string} [terms] what to search for */
    function showList(kind, terms = '') {
        if (model.thread) {
            layout.classList.remove('thread-open');
            model.closeThread();
        }
        const channel = model.channel;
        if (kind === 'pinned' && !channel) {
            return;
        }
        listShown = kind;
        layout.classList.add('list-open');
        if (kind === 'search') {
            const teamId = model.teamId;
            listPanel.show(`Search results for “${terms}”`, () => model.searchPosts(teamId, terms),
                `Nothing matches “${terms}”. Try fewer or other words, a word's start with *, or narrow with from:name, in:channel or after:YYYY-MM-DD.`);
        } else if (kind === 'pinned' && channel) {
            listPanel.show(`Pinned in ${model.channelName(channel)}`, () => model.pinnedPosts(channel.id),
                'Nothing is pinned here yet. Pin a message with its Pin button to keep it here for everyone in the channel.');
        } else {
            listPanel.show('Saved messages', () => model.savedPosts(),
                'No saved messages yet. Save a message with its Save button to find it here later; only you see them.');
        }
        listPanel.focus();
    }
    function closeList({ focusComposer = true } = {}) {
        if (!listShown) {
            return;
        }
        listShown = null;
        layout.classList.remove('list-open');
        listPanel.close();
        if (focusComposer) {
            composer.focus();
        }
    }
    listen(model, 'saved', () => {
        if (listShown === 'saved') {
            listPanel.refresh();
        }
    });
    // An edit may pin or unpin; a new post is in the list only if it comes pinned.
    listen(model, 'post', (event) => {
        const { post, isNew } = event.detail;
        if (listShown === 'pinned' && post.channel_id === model.currentChannelId && (!isNew || post.is_pinned)) {
            listPanel.refresh();
        }
    });

    /**
     * Opens a permalink: the post's channel (switching team if it is another's), with
     * the post loaded, scrolled to and highlighted; a post too far back opens in the
     * thread panel instead.
     * @param {import('./types.js').Team} team
     * @param {string} postId
     * @param {() => boolean} stale
     */
    async function showPermalink(team, postId, stale) {
        let post;
        let channel;
        try {
            post = await model.fetchPost(postId);
            channel = await model.channelOfPost(post);
        } catch (err) {
            if (!stale()) {
                openChannel(null);
                channelView.setTitle('Message not found');
                channelView.showNotice(err.status === 404 || err.status === 403 || err.status === 400
                    ? 'This message was deleted, or you cannot read it.' : err.message, { sticky: true });
            }
            return;
        }
        if (stale()) {
            return;
        }
        if (channel.team_id && channel.team_id !== team.id) {
            const other = model.teams.find((t) => t.id === channel.team_id);
            if (other) {
                navigate(`/${other.name}/pl/${postId}`, { replace: true });
                return;
            }
        }
        openChannel(model.channels.get(channel.id) || channel);
        history.replaceState(null, '', channelPath(model, channel));
        const found = await model.loadUntil(channel.id, post.id).catch(() => false);
        if (stale()) {
            return;
        }
        if (found) {
            channelView.highlight(post.id);
        } else {
            openThread(post.root_id || post.id);
        }
    }

    // ---- routing within the chat screen ------------------------------------------------
    let showToken = 0;
    /** @param {ChatRoute} route */
    async function show(route) {
        const token = ++showToken;
        const stale = () => token !== showToken;
        channelView.hideNotice();
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
                channelView.showNotice(err.message, { sticky: true });
                return;
            }
            localStorage.setItem('chorus.lastTeam', team.name);
        }
        if (stale()) {
            return;
        }
        if (route.kind === 'permalink' && route.post) {
            await showPermalink(team, route.post, stale);
            return;
        }
        if (!route.channel) {
            navigate(`/${team.name}/channels/town-square`, { replace: true });
            return;
        }
        let channel = null;
        try {
            channel = await model.channelForRoute(team, route);
        } catch (err) {
            if (stale()) {
                return;
            }
            openChannel(null);
            channelView.setTitle(route.kind === 'dm' ? `@${route.channel}` : route.channel);
            channelView.showNotice(err.message, { sticky: true });
            return;
        }
        if (stale()) {
            return;
        }
        openChannel(channel);
    }

    /** @param {Channel | null} channel */
    function openChannel(channel) {
        const changed = (channel?.id || '') !== model.currentChannelId;
        model.currentChannelId = channel ? channel.id : '';
        channelView.setOpened(channel);
        if (changed) {
            channelView.resetTyping();
            posts.stopEditing();
            if (model.thread) {
                layout.classList.remove('thread-open');
                model.closeThread();
            }
            if (listShown === 'pinned') {
                closeList({ focusComposer: false });
            }
            composer.setChannel(channel);
        }
        sidebar.render();
        channelView.renderHeader();
        composer.setEnabled(Boolean(channel));
        if (!channel) {
            channelView.clearPosts();
            return;
        }
        updateTitle();
        channelView.showPosts(channel, changed);
        model.viewChannel(channel.id);
        host.notifyStore();
        if (changed && window.matchMedia('(min-width: 701px)').matches) {
            composer.focus();
        }
    }

    /** The tab's title: the open channel and team, after the unread mentions, `(3)`. */
    function updateTitle() {
        const channel = model.channel;
        if (!channel) {
            return;
        }
        const mentions = model.totalMentions();
        const prefix = mentions ? `(${mentions > 99 ? '99+' : mentions}) ` : '';
        document.title = `${prefix}${model.channelName(channel)} - ${model.team ? model.team.display_name : ''} - Chorus`;
    }
    listen(model, 'channels', updateTitle);
    listen(model, 'teams', updateTitle);

    listen(document, 'visibilitychange', () => {
        if (document.visibilityState === 'visible' && model.currentChannelId) {
            model.viewChannel(model.currentChannelId);
        }
    });

    sidebar.render();
    channelView.renderHeader();

    return {
        show,
        showNotice: channelView.showNotice,
        destroy() {
            cleanups.forEach((fn) => fn());
            sidebar.destroy();
            threadPanel.destroy();
            channelView.destroy();
        },
    };
}

/** @type {AudioContext | null} */
let audio = null;

/** A short two-note chime, made with Web Audio (no sound file ships). */
function chime() {
    try {
        audio = audio || new AudioContext();
        const now = audio.currentTime;
        for (const [i, frequency] of [[0, 880], [1, 1320]]) {
            const tone = audio.createOscillator();
            const gain = audio.createGain();
            tone.frequency.value = frequency;
            gain.gain.setValueAtTime(0.0001, now + i * 0.12);
            gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.12 + 0.02);
            gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.25);
            tone.connect(gain).connect(audio.destination);
            tone.start(now + i * 0.12);
            tone.stop(now + i * 0.12 + 0.3);
        }
    } catch (err) {
        console.warn('cannot play the notification sound:', err);
    }
}
